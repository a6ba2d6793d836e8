/* Door contact, exit button, tamper loop: sampled every millisecond, a change counts once it has been stable
 * for INPUT_DEBOUNCE_MS. */
#ifndef INPUTS_H
#define INPUTS_H
#include <stdint.h>

#define INPUT_DEBOUNCE_MS 20u

enum input_id { INPUT_DOOR = 1, INPUT_EXIT = 2, INPUT_TAMPER = 3 };

void inputs_init(void);
/* Sample once; returns the id of an input whose debounced state changed (its new state in *state: 1 = door
 * open / button pressed / enclosure opened), or 0. Call until it returns 0. */
uint8_t inputs_poll(uint32_t now_ms, uint8_t *state);
uint8_t input_state(uint8_t id);

#endif
