#include "wiegand_decode.h"

uint8_t wiegand_bit(const uint8_t *bits, uint8_t i) { return (uint8_t)((bits[i >> 3] >> (7 - (i & 7))) & 1u); }

static uint8_t ones(const uint8_t *bits, uint8_t from, uint8_t to) {
    uint8_t n = 0;
    for (uint8_t i = from; i <= to; i++) n = (uint8_t)(n + wiegand_bit(bits, i));
    return n;
}

uint8_t wiegand_decode(const uint8_t *bits, uint8_t nbits, uint8_t *uid, uint8_t *uid_len) {
    if (nbits != 26 && nbits != 34) return WIEGAND_BAD_LENGTH;
    uint8_t data = (uint8_t)(nbits - 2), half = (uint8_t)(data / 2);
    /* even parity: bit 0 makes the first half even; odd parity: the last bit makes the second half odd */
    if ((ones(bits, 0, half) & 1u) != 0) return WIEGAND_BAD_PARITY;
    if ((ones(bits, (uint8_t)(half + 1), (uint8_t)(nbits - 1)) & 1u) != 1) return WIEGAND_BAD_PARITY;
    uint8_t n = (uint8_t)(data / 8);
    for (uint8_t k = 0; k < n; k++) {
        uint8_t v = 0;
        for (uint8_t b = 0; b < 8; b++) v = (uint8_t)(v << 1 | wiegand_bit(bits, (uint8_t)(1 + k * 8 + b)));
        uid[k] = v;
    }
    *uid_len = n;
    return WIEGAND_OK;
}
