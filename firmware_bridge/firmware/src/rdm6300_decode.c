#include "rdm6300_decode.h"

static int8_t hexval(uint8_t c) {
    if (c >= '0' && c <= '9') return (int8_t)(c - '0');
    if (c >= 'A' && c <= 'F') return (int8_t)(c - 'A' + 10);
    if (c >= 'a' && c <= 'f') return (int8_t)(c - 'a' + 10);
    return -1;
}

uint8_t rdm6300_feed(rdm6300_t *r, uint8_t byte, uint8_t *uid) {
    if (byte == 0x02) { /* STX: (re)start, also inside a broken frame */
        if (r->in_frame && r->n) r->bad++;
        r->in_frame = 1;
        r->n = 0;
        return 0;
    }
    if (!r->in_frame) return 0; /* garbage between frames */
    if (byte != 0x03) {
        if (r->n < sizeof r->buf) {
            r->buf[r->n++] = byte;
        } else {
            r->in_frame = 0;
            r->bad++;
        }
        return 0;
    }
    r->in_frame = 0;
    if (r->n != 12) {
        r->bad++;
        return 0;
    }
    uint8_t bytes[6], x = 0;
    for (uint8_t i = 0; i < 6; i++) {
        int8_t hi = hexval(r->buf[2 * i]), lo = hexval(r->buf[2 * i + 1]);
        if (hi < 0 || lo < 0) {
            r->bad++;
            return 0;
        }
        bytes[i] = (uint8_t)(hi << 4 | lo);
    }
    for (uint8_t i = 0; i < 5; i++) x ^= bytes[i];
    if (x != bytes[5]) {
        r->bad++;
        return 0;
    }
    for (uint8_t i = 0; i < 5; i++) uid[i] = bytes[i];
    return 1;
}
