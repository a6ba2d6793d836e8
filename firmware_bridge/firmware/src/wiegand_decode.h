/* Wiegand frame check and decode. Pure C: built for the MCU and for the host unit test.
 *
 *   26 bits: P(even over bits 1..12) | 24 data bits (facility 8, card 16) | P(odd over bits 13..24)
 *   34 bits: P(even over bits 1..16) | 32 data bits                        | P(odd over bits 17..32)
 *
 * Bits are numbered in the order they arrive, first = bit 0, stored MSB first in bits[].
 */
#ifndef WIEGAND_DECODE_H
#define WIEGAND_DECODE_H
#include <stdint.h>

#define WIEGAND_MAX_BITS 40

enum wiegand_result { WIEGAND_OK = 0, WIEGAND_BAD_LENGTH = 1, WIEGAND_BAD_PARITY = 2 };

/* On success writes the data bits as big-endian bytes (3 for 26 bits, 4 for 34) to uid and their count to
 * *uid_len. */
uint8_t wiegand_decode(const uint8_t *bits, uint8_t nbits, uint8_t *uid, uint8_t *uid_len);
uint8_t wiegand_bit(const uint8_t *bits, uint8_t i);

#endif
