#include "wiegand.h"
#include "board.h"
#include "clock.h"
#include <avr/interrupt.h>
#include <string.h>
#include <util/atomic.h>

typedef struct {
    uint8_t bits[WIEGAND_MAX_BITS / 8];
    uint8_t n;
    uint8_t overflow;
    uint32_t last_ms;
} capture_t;

static volatile capture_t cap[WIEGAND_READERS];
static uint8_t last_b;

static void add_bit(volatile capture_t *c, uint8_t bit) {
    if (c->n >= WIEGAND_MAX_BITS) {
        c->overflow = 1;
    } else {
        if (bit) c->bits[c->n >> 3] |= (uint8_t)(0x80u >> (c->n & 7u));
        c->n++;
    }
    c->last_ms = clock_ms();
}

ISR(INT0_vect) { add_bit(&cap[0], 0); }
ISR(INT1_vect) { add_bit(&cap[0], 1); }

ISR(PCINT1_vect) {
    uint8_t now = WIEGAND_B_PIN;
    uint8_t fell = (uint8_t)(last_b & (uint8_t)~now);
    last_b = now;
    if (fell & _BV(WIEGAND_B_D0)) add_bit(&cap[1], 0);
    if (fell & _BV(WIEGAND_B_D1)) add_bit(&cap[1], 1);
}

void wiegand_init(void) {
    /* inputs with pull-ups: an unconnected reader idles high like a connected one */
    DDRD &= (uint8_t)~(_BV(WIEGAND_A_D0) | _BV(WIEGAND_A_D1));
    PORTD |= _BV(WIEGAND_A_D0) | _BV(WIEGAND_A_D1);
    DDRC &= (uint8_t)~(_BV(WIEGAND_B_D0) | _BV(WIEGAND_B_D1));
    PORTC |= _BV(WIEGAND_B_D0) | _BV(WIEGAND_B_D1);
    EICRA = _BV(ISC01) | _BV(ISC11); /* falling edges */
    EIMSK = _BV(INT0) | _BV(INT1);
    last_b = WIEGAND_B_PIN;
    PCMSK1 = _BV(PCINT8) | _BV(PCINT9);
    PCICR |= _BV(PCIE1);
}

uint8_t wiegand_poll(uint32_t now_ms, wiegand_frame_t *out) {
    for (uint8_t r = 0; r < WIEGAND_READERS; r++) {
        uint8_t done = 0;
        ATOMIC_BLOCK(ATOMIC_RESTORESTATE) {
            volatile capture_t *c = &cap[r];
            if (c->n && now_ms - c->last_ms >= WIEGAND_GAP_MS) {
                out->reader = r;
                out->nbits = c->overflow ? 0xFF : c->n;
                for (uint8_t i = 0; i < sizeof out->bits; i++) {
                    out->bits[i] = c->bits[i];
                    c->bits[i] = 0;
                }
                c->n = 0;
                c->overflow = 0;
                done = 1;
            }
        }
        if (done) return 1;
    }
    return 0;
}
