#include "inputs.h"
#include "board.h"

static const uint8_t bits[3] = {_BV(DOOR_BIT), _BV(EXIT_BIT), _BV(TAMPER_BIT)};
static uint8_t stable[3], candidate[3];
static uint32_t since[3];

/* the asserted (1) state of each input: door high = open, exit low = pressed, tamper high = opened */
static uint8_t read(uint8_t i) {
    uint8_t high = (INPUT_PIN & bits[i]) ? 1 : 0;
    return i == 1 ? (uint8_t)!high : high;
}

void inputs_init(void) {
    INPUT_DDR &= (uint8_t)~INPUT_MASK;
    INPUT_PORT |= INPUT_MASK;
    for (uint8_t i = 0; i < 3; i++) stable[i] = candidate[i] = read(i);
}

uint8_t inputs_poll(uint32_t now_ms, uint8_t *state) {
    for (uint8_t i = 0; i < 3; i++) {
        uint8_t v = read(i);
        if (v != candidate[i]) {
            candidate[i] = v;
            since[i] = now_ms;
        } else if (v != stable[i] && now_ms - since[i] >= INPUT_DEBOUNCE_MS) {
            stable[i] = v;
            *state = v;
            return (uint8_t)(i + 1);
        }
    }
    return 0;
}

uint8_t input_state(uint8_t id) { return id >= 1 && id <= 3 ? stable[id - 1] : 0; }
