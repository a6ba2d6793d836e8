/* A 1 kHz tick from Timer0 (CTC): milliseconds since reset. */
#ifndef CLOCK_H
#define CLOCK_H
#include <stdint.h>

void clock_init(void);
uint32_t clock_ms(void);

#endif
