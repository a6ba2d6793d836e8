#include "outputs.h"
#include "board.h"

static uint32_t relay_until[RELAYS]; /* 0 = latched or off */
static uint8_t relay_pulsing;        /* bit per relay */

static uint8_t buzz_pattern, buzz_step;
static uint32_t buzz_next;

static uint8_t led_colour_now, led_idle_colour;
static uint32_t led_until;

static const uint8_t relay_bits[RELAYS] = {_BV(RELAY1_BIT), _BV(RELAY2_BIT)};

/* on/off durations in 10 ms units, ended by 0; BUZZ_ALARM repeats until turned off */
static const uint8_t pattern_short[] = {8, 0};
static const uint8_t pattern_long[] = {80, 0};
static const uint8_t pattern_alarm[] = {25, 25, 0};
static const uint8_t *const patterns[] = {0, pattern_short, pattern_long, pattern_alarm};

void outputs_init(void) {
    PORTB &= (uint8_t)~OUTPUT_MASK;
    DDRB |= OUTPUT_MASK;
}

uint8_t relay_set(uint8_t relay, uint8_t mode, uint16_t pulse_ms, uint32_t now_ms) {
    if (relay < 1 || relay > RELAYS || mode > RELAY_LATCH_OFF) return 2;
    uint8_t i = (uint8_t)(relay - 1), bit = relay_bits[i];
    if (mode == RELAY_PULSE) {
        if (pulse_ms == 0) return 2;
        relay_until[i] = now_ms + pulse_ms;
        relay_pulsing |= (uint8_t)(1u << i);
        RELAY_PORT |= bit;
    } else if (mode == RELAY_LATCH_ON) {
        relay_pulsing &= (uint8_t)~(1u << i);
        RELAY_PORT |= bit;
    } else {
        relay_pulsing &= (uint8_t)~(1u << i);
        RELAY_PORT &= (uint8_t)~bit;
    }
    return 0;
}

void relays_release_all(void) {
    relay_pulsing = 0;
    RELAY_PORT &= (uint8_t)~RELAY_MASK;
}

uint8_t relay_is_on(uint8_t relay) {
    return relay >= 1 && relay <= RELAYS && (RELAY_PORT & relay_bits[relay - 1]) ? 1 : 0;
}

static void buzzer(uint8_t on) {
    if (on) PORTB |= _BV(BUZZER_BIT);
    else PORTB &= (uint8_t)~_BV(BUZZER_BIT);
}

uint8_t buzzer_play(uint8_t pattern, uint32_t now_ms) {
    if (pattern > BUZZ_ALARM) return 2;
    buzz_pattern = pattern;
    buzz_step = 0;
    buzz_next = now_ms;
    if (pattern == BUZZ_OFF) buzzer(0);
    outputs_tick(now_ms);
    return 0;
}

static void led(uint8_t colour) {
    static const uint8_t bits[] = {0, _BV(LED_R_BIT), _BV(LED_G_BIT), _BV(LED_B_BIT), _BV(LED_R_BIT) | _BV(LED_G_BIT)};
    PORTB = (uint8_t)((PORTB & (uint8_t)~LED_MASK) | bits[colour]);
    led_colour_now = colour;
}

uint8_t led_show(uint8_t colour, uint16_t duration_ms, uint32_t now_ms) {
    if (colour > LED_AMBER) return 2;
    led(colour);
    led_until = duration_ms ? now_ms + duration_ms : 0;
    if (!duration_ms) led_idle_colour = colour;
    return 0;
}

void led_idle(uint8_t colour) {
    led_idle_colour = colour;
    if (!led_until) led(colour);
}

void outputs_tick(uint32_t now_ms) {
    for (uint8_t i = 0; i < RELAYS; i++) {
        if ((relay_pulsing & (1u << i)) && (int32_t)(now_ms - relay_until[i]) >= 0) {
            relay_pulsing &= (uint8_t)~(1u << i);
            RELAY_PORT &= (uint8_t)~relay_bits[i];
        }
    }
    if (led_until && (int32_t)(now_ms - led_until) >= 0) {
        led_until = 0;
        led(led_idle_colour);
    }
    if (buzz_pattern && (int32_t)(now_ms - buzz_next) >= 0) {
        const uint8_t *p = patterns[buzz_pattern];
        if (p[buzz_step] == 0) {
            if (buzz_pattern == BUZZ_ALARM) {
                buzz_step = 0;
            } else {
                buzz_pattern = 0;
                buzzer(0);
                return;
            }
        }
        buzzer((buzz_step & 1u) == 0);
        buzz_next = now_ms + 10u * p[buzz_step];
        buzz_step++;
    }
}
