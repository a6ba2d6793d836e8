/* Wiegand readers A (INT0/INT1) and B (pin change on PORTC): bits are collected in interrupts; a frame ends
 * when no bit has come for WIEGAND_GAP_MS (readers send a bit every 0.2-2 ms). */
#ifndef WIEGAND_H
#define WIEGAND_H
#include <stdint.h>
#include "wiegand_decode.h"

#define WIEGAND_GAP_MS 8u
#define WIEGAND_READERS 2u

typedef struct {
    uint8_t reader; /* 0 = A, 1 = B */
    uint8_t nbits;
    uint8_t bits[WIEGAND_MAX_BITS / 8];
} wiegand_frame_t;

void wiegand_init(void);
/* A finished frame (raw bits, not yet checked): 1 and *out filled, else 0. */
uint8_t wiegand_poll(uint32_t now_ms, wiegand_frame_t *out);

#endif
