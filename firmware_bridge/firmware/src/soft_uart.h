/* Receive-only software UART at 9600 8N1 on PD7, for an RDM6300 (the hardware UART is the gateway's link).
 * A falling edge (start bit) starts Timer2, which samples each bit in its middle; bytes go to a small ring. */
#ifndef SOFT_UART_H
#define SOFT_UART_H
#include <stdint.h>

void soft_uart_init(void);
uint8_t soft_uart_read(uint8_t *b);
uint8_t soft_uart_framing_errors(void);

#endif
