/* RDM6300 (EM4100) frames: 0x02 | 10 ASCII hex | 2 ASCII hex checksum (XOR of the 5 bytes) | 0x03.
 * Pure C: built for the MCU and for the host unit test. */
#ifndef RDM6300_DECODE_H
#define RDM6300_DECODE_H
#include <stdint.h>

typedef struct {
    uint8_t buf[13];
    uint8_t n;
    uint8_t in_frame;
    uint8_t bad;
} rdm6300_t;

/* Feed one byte; returns 1 and the card's 5 bytes in uid when it completed a valid frame. */
uint8_t rdm6300_feed(rdm6300_t *r, uint8_t byte, uint8_t *uid);

#endif
