/* Host-side unit test of src/link.c against the vectors shared with the Python side (vectors.h). */
#include <stdio.h>
#include <string.h>
#include "../src/link.h"
#include "vectors.h"

static int failures = 0;
#define CHECK(cond, ...) do { if (!(cond)) { failures++; printf("FAIL %s:%d: ", __FILE__, __LINE__); \
    printf(__VA_ARGS__); printf("\n"); } } while (0)

int main(void) {
    CHECK(link_crc16((const uint8_t *)"123456789", 9) == 0x29B1, "CRC-16/CCITT-FALSE check value");
    /* COBS examples from Cheshire & Baker (1999) / the usual reference table */
    const uint8_t z[] = {0x00}, zx[] = {0x01, 0x01};
    const uint8_t a[] = {0x11, 0x22, 0x00, 0x33}, ax[] = {0x03, 0x11, 0x22, 0x02, 0x33};
    uint8_t out[300], back[300];
    CHECK(link_cobs_encode(z, 1, out) == 2 && !memcmp(out, zx, 2), "cobs(00)");
    CHECK(link_cobs_encode(a, 4, out) == 5 && !memcmp(out, ax, 5), "cobs(11 22 00 33)");
    CHECK(link_cobs_decode(ax, 5, back) == 4 && !memcmp(back, a, 4), "uncobs(03 11 22 02 33)");
    const uint8_t broken[] = {0x05, 0x11, 0x22};
    CHECK(link_cobs_decode(broken, 3, back) == -1, "a block running past the end is refused");

    for (int i = 0; i < LINK_VECTOR_COUNT; i++) {
        const link_vector_t *v = &LINK_VECTORS[i];
        uint8_t wire[LINK_MAX_WIRE];
        uint8_t n = link_build(v->type, v->seq, v->payload, v->len, wire);
        CHECK(n == v->wire_len && !memcmp(wire, v->wire, n), "build %s", v->name);
        link_rx_t rx = {0};
        link_frame_t f;
        uint8_t got = 0;
        link_rx_byte(&rx, 0x00, &f);      /* idle */
        link_rx_byte(&rx, 0x42, &f);      /* garbage ... */
        link_rx_byte(&rx, 0x00, &f);      /* ... ended by a delimiter: dropped, counted */
        for (uint8_t k = 0; k < v->wire_len; k++) got += link_rx_byte(&rx, v->wire[k], &f);
        CHECK(got == 1 && f.type == v->type && f.seq == v->seq && f.len == v->len &&
              !memcmp(f.payload, v->payload, v->len), "parse %s", v->name);
        CHECK(rx.bad == 1, "garbage counted for %s", v->name);
        /* one flipped bit anywhere (not a delimiter) must never yield a frame */
        for (uint8_t k = 0; k + 1 < v->wire_len; k++) {
            link_rx_t rx2 = {0};
            uint8_t bad = 0;
            for (uint8_t j = 0; j < v->wire_len; j++) {
                uint8_t b = v->wire[j];
                if (j == k) b = (uint8_t)((b ^ 0x10) ? (b ^ 0x10) : (b ^ 0x01)); /* never a delimiter */
                bad += link_rx_byte(&rx2, b, &f);
            }
            CHECK(bad == 0, "corrupted byte %u of %s accepted", k, v->name);
        }
    }
    if (failures) { printf("%d failure(s)\n", failures); return 1; }
    printf("link: %d vectors ok\n", LINK_VECTOR_COUNT);
    return 0;
}
