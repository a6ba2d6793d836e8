/* Host-side unit test of src/rdm6300_decode.c: the frame of a known card, garbage, a bad checksum, a non-hex
 * character, a frame cut short by a new STX, an overlong frame. */
#include <stdio.h>
#include <string.h>
#include "../src/rdm6300_decode.h"

static int failures = 0;
#define CHECK(cond, ...) do { if (!(cond)) { failures++; printf("FAIL %s:%d: ", __FILE__, __LINE__); \
    printf(__VA_ARGS__); printf("\n"); } } while (0)

static int feed(rdm6300_t *r, const char *s, size_t n, uint8_t *uid) {
    int got = 0;
    for (size_t i = 0; i < n; i++) got += rdm6300_feed(r, (uint8_t)s[i], uid);
    return got;
}

int main(void) {
    /* card 0F00A1B2C3: checksum 0F^00^A1^B2^C3 = 0xDF */
    const char good[] = "\x02" "0F00A1B2C3" "DF" "\x03";
    const uint8_t want[5] = {0x0F, 0x00, 0xA1, 0xB2, 0xC3};
    uint8_t uid[5];
    rdm6300_t r = {0};
    CHECK(feed(&r, "junk", 4, uid) == 0 && r.bad == 0, "garbage before a frame is skipped");
    CHECK(feed(&r, good, 14, uid) == 1 && !memcmp(uid, want, 5), "good frame");
    CHECK(feed(&r, "\x02" "0F00A1B2C3" "DE" "\x03", 14, uid) == 0 && r.bad == 1, "bad checksum");
    CHECK(feed(&r, "\x02" "0F00A1B2CX" "DF" "\x03", 14, uid) == 0 && r.bad == 2, "non-hex");
    CHECK(feed(&r, "\x02" "0F00A1", 7, uid) == 0, "cut short ...");
    CHECK(feed(&r, good, 14, uid) == 1 && r.bad == 3 && !memcmp(uid, want, 5), "... by the next STX");
    CHECK(feed(&r, "\x02" "0F00A1B2C3DF00000000", 21, uid) == 0 && r.bad == 4, "overlong");
    CHECK(feed(&r, good, 14, uid) == 1, "in sync again");
    if (failures) { printf("%d failure(s)\n", failures); return 1; }
    printf("rdm6300: all checks passed\n");
    return 0;
}
