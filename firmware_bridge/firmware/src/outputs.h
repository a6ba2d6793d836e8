/* Relays (pulse and latch), buzzer patterns, LED colours. Timed in the main loop from clock_ms(). */
#ifndef OUTPUTS_H
#define OUTPUTS_H
#include <stdint.h>

#define RELAYS 2u

enum relay_mode { RELAY_PULSE = 0, RELAY_LATCH_ON = 1, RELAY_LATCH_OFF = 2 };
enum buzzer_pattern { BUZZ_OFF = 0, BUZZ_SHORT = 1, BUZZ_LONG = 2, BUZZ_ALARM = 3 };
enum led_colour { LED_OFF = 0, LED_RED = 1, LED_GREEN = 2, LED_BLUE = 3, LED_AMBER = 4 };

void outputs_init(void);
/* relay 1-based; returns 0 on success, else a RESULT status (2 bad argument). */
uint8_t relay_set(uint8_t relay, uint8_t mode, uint16_t pulse_ms, uint32_t now_ms);
void relays_release_all(void);
uint8_t relay_is_on(uint8_t relay);
uint8_t buzzer_play(uint8_t pattern, uint32_t now_ms);
/* duration 0 = steady; otherwise back to the idle colour after it */
uint8_t led_show(uint8_t colour, uint16_t duration_ms, uint32_t now_ms);
void led_idle(uint8_t colour);
void outputs_tick(uint32_t now_ms);

#endif
