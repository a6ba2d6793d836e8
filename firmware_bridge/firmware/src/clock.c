#include "clock.h"
#include <avr/interrupt.h>
#include <avr/io.h>
#include <util/atomic.h>

static volatile uint32_t ticks;

ISR(TIMER0_COMPA_vect) { ticks++; }

void clock_init(void) {
    TCCR0A = _BV(WGM01);              /* CTC */
    TCCR0B = _BV(CS01) | _BV(CS00);   /* clk/64: 250 kHz at 16 MHz */
    OCR0A = (uint8_t)(F_CPU / 64 / 1000 - 1);
    TIMSK0 = _BV(OCIE0A);
}

uint32_t clock_ms(void) {
    uint32_t t;
    ATOMIC_BLOCK(ATOMIC_RESTORESTATE) { t = ticks; }
    return t;
}
