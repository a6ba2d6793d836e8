/* Host-side unit test of src/wiegand_decode.c: good 26/34-bit frames, every single-bit error caught by parity,
 * wrong lengths refused. */
#include <stdio.h>
#include <string.h>
#include "../src/wiegand_decode.h"

static int failures = 0;
#define CHECK(cond, ...) do { if (!(cond)) { failures++; printf("FAIL %s:%d: ", __FILE__, __LINE__); \
    printf(__VA_ARGS__); printf("\n"); } } while (0)

static void set(uint8_t *bits, uint8_t i, uint8_t v) {
    if (v) bits[i >> 3] |= (uint8_t)(0x80u >> (i & 7));
    else bits[i >> 3] &= (uint8_t)~(0x80u >> (i & 7));
}

/* Build a frame with correct parity around `data` (nbits - 2 data bits, big-endian in data[]). */
static void frame(uint8_t *bits, uint8_t nbits, const uint8_t *data) {
    uint8_t d = (uint8_t)(nbits - 2), half = (uint8_t)(d / 2), even = 0, odd = 0;
    memset(bits, 0, WIEGAND_MAX_BITS / 8);
    for (uint8_t i = 0; i < d; i++) {
        uint8_t v = (uint8_t)((data[i / 8] >> (7 - i % 8)) & 1);
        set(bits, (uint8_t)(1 + i), v);
        if (i < half) even ^= v;
        else odd ^= v;
    }
    set(bits, 0, even);
    set(bits, (uint8_t)(nbits - 1), (uint8_t)!odd);
}

int main(void) {
    const uint8_t d26[] = {0x7B, 0x30, 0x39}; /* facility 123, card 12345 */
    const uint8_t d34[] = {0xDE, 0xAD, 0xBE, 0xEF};
    uint8_t bits[WIEGAND_MAX_BITS / 8], uid[8], n = 0;
    frame(bits, 26, d26);
    CHECK(wiegand_decode(bits, 26, uid, &n) == WIEGAND_OK && n == 3 && !memcmp(uid, d26, 3), "26-bit decodes");
    /* facility 123, card 12345 = 0 01111011 0011000000111001 1 (8 ones in the first half, 4 in the second) */
    CHECK(wiegand_bit(bits, 0) == 0 && wiegand_bit(bits, 25) == 1, "26-bit parity bits of 123/12345");
    for (uint8_t i = 0; i < 26; i++) {
        uint8_t b[WIEGAND_MAX_BITS / 8];
        memcpy(b, bits, sizeof b);
        set(b, i, (uint8_t)!wiegand_bit(b, i));
        CHECK(wiegand_decode(b, 26, uid, &n) == WIEGAND_BAD_PARITY, "26-bit flip of bit %u caught", i);
    }
    frame(bits, 34, d34);
    CHECK(wiegand_decode(bits, 34, uid, &n) == WIEGAND_OK && n == 4 && !memcmp(uid, d34, 4), "34-bit decodes");
    for (uint8_t i = 0; i < 34; i++) {
        uint8_t b[WIEGAND_MAX_BITS / 8];
        memcpy(b, bits, sizeof b);
        set(b, i, (uint8_t)!wiegand_bit(b, i));
        CHECK(wiegand_decode(b, 34, uid, &n) == WIEGAND_BAD_PARITY, "34-bit flip of bit %u caught", i);
    }
    CHECK(wiegand_decode(bits, 25, uid, &n) == WIEGAND_BAD_LENGTH, "25 bits refused");
    CHECK(wiegand_decode(bits, 37, uid, &n) == WIEGAND_BAD_LENGTH, "37 bits refused");
    if (failures) { printf("%d failure(s)\n", failures); return 1; }
    printf("wiegand: all checks passed\n");
    return 0;
}
