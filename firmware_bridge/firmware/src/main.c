/* Gate controller firmware, ATmega328P at 16 MHz. The main loop runs every module once per pass and sleeps
 * until the next interrupt (the 1 kHz tick at the latest); the watchdog (250 ms) resets a hung loop.
 *
 * Behaviour (PROTOCOL.md, "Local mode"):
 * - card reads (Wiegand A/B, parity checked; RDM6300 on the software UART, checksum checked, a card held in
 *   the field reported once per RDM6300_REPEAT_MS) go to the host as EVENT_CARD; the host decides and
 *   commands the relay, buzzer and LED;
 * - the exit button always pulses relay 1 locally (lockdown and local mode included: people must get out);
 * - the door held open past the limit raises ALARM_DOOR_HELD and sounds the buzzer until it closes;
 * - tamper raises ALARM_TAMPER;
 * - host silent for host_timeout: local mode: relays released (gate locked), LED amber, card reads queued
 *   (up to the queue's 24 frames) and sent when the host says HELLO again, ALARM_LOCAL_MODE raised.
 */
#include <avr/interrupt.h>
#include <avr/io.h>
#include <avr/sleep.h>
#include <avr/wdt.h>

#include "board.h"
#include "clock.h"
#include "firmware.h"
#include "host.h"
#include "inputs.h"
#include "outputs.h"
#include "rdm6300_decode.h"
#include "soft_uart.h"
#include "uart.h"
#include "wiegand.h"

static uint8_t reset_cause __attribute__((section(".noinit")));

/* Runs before main() and before .data/.bss are set up: release every relay and stop a watchdog left running
 * by the reset that brought us here (otherwise it would keep resetting us). */
void early_init(void) __attribute__((naked, used, section(".init3")));
void early_init(void) {
    RELAY_PORT &= (uint8_t)~RELAY_MASK;
    RELAY_DDR |= RELAY_MASK;
    reset_cause = MCUSR;
    MCUSR = 0;
    wdt_disable();
}

static struct {
    uint8_t host_timeout_s;
    uint8_t door_held_s;
    uint16_t pulse_ms;
} config = {3, 30, 3000};

static uint8_t local_mode, lockdown, door_alarmed, bad_reads;
static void count_bad_read(void);
static uint32_t door_opened_ms;

static uint16_t be16(const uint8_t *p) { return (uint16_t)((uint16_t)p[0] << 8 | p[1]); }

static void alarm(uint8_t code, uint16_t detail) {
    uint8_t p[3] = {code, (uint8_t)(detail >> 8), (uint8_t)detail};
    host_queue(LINK_EVENT_ALARM, p, 3);
}

void app_hello_reply(uint8_t *p) {
    p[0] = LINK_PROTOCOL_VERSION;
    p[1] = FW_MAJOR;
    p[2] = FW_MINOR;
    p[3] = FW_PATCH;
    p[4] = (uint8_t)(FW_CAPABILITIES >> 8);
    p[5] = (uint8_t)FW_CAPABILITIES;
}

uint8_t app_heartbeat(uint8_t *p) {
    uint32_t up = clock_ms() / 1000u;
    p[0] = (uint8_t)(up >> 24);
    p[1] = (uint8_t)(up >> 16);
    p[2] = (uint8_t)(up >> 8);
    p[3] = (uint8_t)up;
    p[4] = reset_cause;
    p[5] = (uint8_t)((local_mode ? HB_LOCAL_MODE : 0) | (lockdown ? HB_LOCKDOWN : 0) |
                     (input_state(INPUT_DOOR) ? HB_DOOR_OPEN : 0) | (relay_is_on(1) ? HB_RELAY1 : 0) |
                     (relay_is_on(2) ? HB_RELAY2 : 0) | (host_hello_seen() ? 0 : HB_NO_HOST));
    p[6] = bad_reads;
    p[7] = host_dropped();
    p[8] = host_bad_frames();
    return 9;
}

uint8_t app_command(const link_frame_t *f, uint32_t now) {
    const uint8_t *a = f->payload;
    switch (f->type) {
    case LINK_CMD_RELAY:
        if (f->len != 4) return 2;
        if (lockdown && a[1] != RELAY_LATCH_OFF) return 1;
        return relay_set(a[0], a[1], be16(a + 2) ? be16(a + 2) : config.pulse_ms, now);
    case LINK_CMD_BUZZER:
        return f->len == 1 ? buzzer_play(a[0], now) : 2;
    case LINK_CMD_LED:
        return f->len == 3 ? led_show(a[0], be16(a + 1), now) : 2;
    case LINK_CMD_LOCKDOWN:
        if (f->len != 1 || a[0] > 1) return 2;
        lockdown = a[0];
        if (lockdown) relays_release_all();
        led_idle(lockdown ? LED_RED : LED_OFF);
        return 0;
    case LINK_CMD_CONFIG:
        if (f->len != 4 || a[0] == 0 || a[1] == 0 || be16(a + 2) < 50) return 2;
        config.host_timeout_s = a[0];
        config.door_held_s = a[1];
        config.pulse_ms = be16(a + 2);
        return 0;
    default:
        return 3;
    }
}

#define RDM6300_REPEAT_MS 1000u
static rdm6300_t rdm;
static uint8_t rdm_last[5], rdm_bad_seen;
static uint32_t rdm_last_ms;

static void count_bad_read(void) {
    if (bad_reads < 255) bad_reads++;
}

static void rdm6300(uint32_t now) {
    uint8_t b, uid[5];
    while (soft_uart_read(&b)) {
        if (!rdm6300_feed(&rdm, b, uid)) continue;
        uint8_t same = 1;
        for (uint8_t i = 0; i < 5; i++) same &= (uint8_t)(uid[i] == rdm_last[i]);
        uint8_t repeat = same && now - rdm_last_ms < RDM6300_REPEAT_MS;
        rdm_last_ms = now; /* a card held in the field keeps refreshing this */
        if (repeat) continue;
        for (uint8_t i = 0; i < 5; i++) rdm_last[i] = uid[i];
        uint8_t p[3 + 5] = {3, 0x40, 40};
        for (uint8_t i = 0; i < 5; i++) p[3 + i] = uid[i];
        host_queue(LINK_EVENT_CARD, p, sizeof p);
    }
    while (rdm_bad_seen != rdm.bad) {
        rdm_bad_seen++;
        count_bad_read();
    }
}

static void cards(uint32_t now) {
    wiegand_frame_t w;
    while (wiegand_poll(now, &w)) {
        uint8_t p[3 + 8], n = 0;
        if (w.nbits == 0xFF || wiegand_decode(w.bits, w.nbits, p + 3, &n) != WIEGAND_OK) {
            count_bad_read();
            continue;
        }
        p[0] = (uint8_t)(w.reader + 1);
        p[1] = w.nbits;
        p[2] = w.nbits;
        host_queue(LINK_EVENT_CARD, p, (uint8_t)(3 + n));
    }
    rdm6300(now);
}

static void inputs(uint32_t now) {
    uint8_t id, state;
    while ((id = inputs_poll(now, &state)) != 0) {
        uint8_t p[2] = {id, state};
        host_queue(LINK_EVENT_INPUT, p, 2);
        if (id == INPUT_EXIT && state) relay_set(1, RELAY_PULSE, config.pulse_ms, now);
        if (id == INPUT_TAMPER && state) alarm(ALARM_TAMPER, 0);
        if (id == INPUT_DOOR) {
            door_opened_ms = now;
            if (!state && door_alarmed) {
                door_alarmed = 0;
                buzzer_play(BUZZ_OFF, now);
            }
        }
    }
    if (input_state(INPUT_DOOR) && !door_alarmed && now - door_opened_ms >= 1000UL * config.door_held_s) {
        door_alarmed = 1;
        alarm(ALARM_DOOR_HELD, config.door_held_s);
        buzzer_play(BUZZ_ALARM, now);
    }
}

static void supervise_host(uint32_t now) {
    uint8_t silent = now - host_last_heard() >= 1000UL * config.host_timeout_s;
    if (silent && !local_mode) {
        local_mode = 1;
        relays_release_all();
        led_idle(LED_AMBER);
        alarm(ALARM_LOCAL_MODE, config.host_timeout_s);
    } else if (!silent && local_mode) {
        local_mode = 0;
        led_idle(lockdown ? LED_RED : LED_OFF);
    }
}

int main(void) {
    outputs_init();
    clock_init();
    uart_init();
    wiegand_init();
    soft_uart_init();
    inputs_init();
    host_init();
    wdt_enable(WDTO_250MS);
    if (reset_cause & _BV(WDRF)) alarm(ALARM_WATCHDOG_RESET, reset_cause);
    set_sleep_mode(SLEEP_MODE_IDLE);
    sei();
    for (;;) {
        wdt_reset();
        uint32_t now = clock_ms();
        host_poll(now);
        cards(now);
        inputs(now);
        supervise_host(now);
        outputs_tick(now);
        sleep_mode(); /* until the next interrupt: the 1 kHz tick, a received byte, a Wiegand bit */
    }
}
