#include "soft_uart.h"
#include "board.h"
#include <avr/interrupt.h>

/* Timer2 at clk/32 = 500 kHz: one bit at 9600 baud = 52.08 ticks (52: -0.16 %) */
#define BIT_TICKS 52u
#define FIRST_TICKS 78u /* 1.5 bits: from the start edge to the middle of data bit 0 */
#define RING 32u

static volatile uint8_t ring[RING], head, tail, errors;
static volatile uint8_t bit_no, shift;

ISR(PCINT2_vect) {
    if (SOFT_RX_PIN & _BV(SOFT_RX_BIT)) return; /* only the falling edge of a start bit */
    PCMSK2 &= (uint8_t)~_BV(PCINT23);           /* no edges until the byte is in */
    bit_no = 0;
    shift = 0;
    TCNT2 = 0;
    OCR2A = FIRST_TICKS - 1;
    TIFR2 = _BV(OCF2A);
    TIMSK2 = _BV(OCIE2A);
    TCCR2B = _BV(CS21) | _BV(CS20); /* clk/32 */
}

ISR(TIMER2_COMPA_vect) {
    uint8_t level = (SOFT_RX_PIN & _BV(SOFT_RX_BIT)) ? 1 : 0;
    OCR2A = BIT_TICKS - 1;
    if (bit_no < 8) {
        shift = (uint8_t)(shift >> 1 | (level ? 0x80 : 0)); /* LSB first */
        bit_no++;
        return;
    }
    /* the stop bit */
    TCCR2B = 0;
    TIMSK2 = 0;
    if (level) {
        uint8_t next = (uint8_t)((head + 1u) % RING);
        if (next != tail) {
            ring[head] = shift;
            head = next;
        }
    } else if (errors < 255) {
        errors++;
    }
    PCIFR = _BV(PCIF2);
    PCMSK2 |= _BV(PCINT23);
}

void soft_uart_init(void) {
    DDRD &= (uint8_t)~_BV(SOFT_RX_BIT);
    PORTD |= _BV(SOFT_RX_BIT); /* idle high; an unconnected input stays quiet */
    TCCR2A = _BV(WGM21);       /* CTC */
    TCCR2B = 0;
    PCMSK2 = _BV(PCINT23);
    PCICR |= _BV(PCIE2);
}

uint8_t soft_uart_read(uint8_t *b) {
    if (head == tail) return 0;
    *b = ring[tail];
    tail = (uint8_t)((tail + 1u) % RING);
    return 1;
}

uint8_t soft_uart_framing_errors(void) { return errors; }
