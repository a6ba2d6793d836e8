/* USART0, interrupt driven, with receive and transmit rings. */
#ifndef UART_H
#define UART_H
#include <stdint.h>

void uart_init(void);
/* Next received byte in *b: 1, or 0 when none is waiting. */
uint8_t uart_read(uint8_t *b);
/* Queue n bytes for sending; waits for room (the ring drains at 11.5 kB/s). */
void uart_write(const uint8_t *buf, uint8_t n);

#endif
