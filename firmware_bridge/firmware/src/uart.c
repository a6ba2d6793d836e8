#include "uart.h"
#include <avr/interrupt.h>
#include <avr/io.h>
#include <avr/wdt.h>

#define BAUD 115200UL
#define RX_SIZE 128u /* powers of two */
#define TX_SIZE 128u

static volatile uint8_t rx_buf[RX_SIZE], tx_buf[TX_SIZE];
static volatile uint8_t rx_head, rx_tail, tx_head, tx_tail;

ISR(USART_RX_vect) {
    uint8_t b = UDR0;
    uint8_t next = (uint8_t)((rx_head + 1u) & (RX_SIZE - 1u));
    if (next == rx_tail) return; /* ring full: the byte is lost, the link's CRC/retransmit recovers */
    rx_buf[rx_head] = b;
    rx_head = next;
}

ISR(USART_UDRE_vect) {
    if (tx_head == tx_tail) {
        UCSR0B &= (uint8_t)~_BV(UDRIE0);
        return;
    }
    UDR0 = tx_buf[tx_tail];
    tx_tail = (uint8_t)((tx_tail + 1u) & (TX_SIZE - 1u));
}

void uart_init(void) {
    UCSR0A = _BV(U2X0);
    UBRR0 = (uint16_t)((F_CPU + 4UL * BAUD) / (8UL * BAUD) - 1UL); /* 16 at 16 MHz: 117.6 kbaud, +2.1 % */
    UCSR0C = _BV(UCSZ01) | _BV(UCSZ00);                               /* 8N1 */
    UCSR0B = _BV(RXEN0) | _BV(TXEN0) | _BV(RXCIE0);
}

uint8_t uart_read(uint8_t *b) {
    if (rx_head == rx_tail) return 0;
    *b = rx_buf[rx_tail];
    rx_tail = (uint8_t)((rx_tail + 1u) & (RX_SIZE - 1u));
    return 1;
}

void uart_write(const uint8_t *buf, uint8_t n) {
    for (uint8_t i = 0; i < n; i++) {
        uint8_t next = (uint8_t)((tx_head + 1u) & (TX_SIZE - 1u));
        while (next == tx_tail) wdt_reset(); /* the UDRE interrupt is draining the ring */
        tx_buf[tx_head] = buf[i];
        tx_head = next;
        UCSR0B |= _BV(UDRIE0);
    }
}
