/* gate_sim: runs the gate controller's firmware image in simavr, in real time, for the host-side tests.
 *
 *   gate_sim build/gate.elf
 *
 * The MCU's USART0 is bridged to a pseudo-terminal (the host opens it with pyserial like a real port). The
 * harness is driven by lines on stdin and reports on stdout, one line each; times are simulated microseconds
 * since the image started (the simulation is paced to the wall clock):
 *
 *   stdin                                   stdout
 *   pin D4 1         drive an input pin      ok
 *   wiegand A 0110.. [interval_us]          ok, 50 ms after the last bit: wiegand-done A <last bit us> <us>
 *   serial 02303f.. [baud]  send bytes (hex) as 8N1 on PD7, the RDM6300 input       ok, then: serial-done <us>
 *   reset            reset the MCU (external reset: drive the reset pin)   ok
 *   hang             patch an endless loop at the current program counter: the firmware hangs there until
 *                    its watchdog resets it (the patch is undone at the reset)      ok, then: watchdog-reset <us>
 *   unplug / replug  close the pty / open a new one (the cable is pulled)  pty <path>
 *   time                                     time <us>
 *   stack            deepest stack so far   stack <bytes below RAMEND>
 *   quit                                     bye
 *   (at start)                               pty <path>, then ready
 *   (any output pin of port B changes)       pin B<n> <0|1> <us>
 *
 * Idle input levels (applied before the first instruction and after every reset): Wiegand lines high, door
 * closed (PD4 low), exit button released (PD5 high), tamper loop closed (PD6 low).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pty.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "avr_ioport.h"
#include "avr_uart.h"
#include "sim_avr.h"
#include "sim_elf.h"
#include "sim_irq.h"
#include "sim_time.h"

static avr_t *avr;
static int pty_master = -1, pty_slave = -1, xon = 1;
static uint8_t pending[4096];
static size_t pending_len;
static int driven[2][8]; /* ports C, D: level driven by the harness, -1 = not driven */
static uint64_t start_ns;

static uint64_t wall_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static unsigned long long sim_us(void) { return (unsigned long long)(avr->cycle / (avr->frequency / 1000000)); }

static void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
#include <stdarg.h>
static void say(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    putchar('\n');
    fflush(stdout);
}

/* ---- UART <-> pty ---- */
static void uart_out(struct avr_irq_t *irq, uint32_t value, void *param) {
    (void)irq, (void)param;
    uint8_t b = (uint8_t)value;
    if (pty_master >= 0 && write(pty_master, &b, 1) < 0 && errno != EAGAIN) { /* nobody reading: dropped */ }
}
static void uart_xon(struct avr_irq_t *irq, uint32_t value, void *param) { (void)irq, (void)value, (void)param; xon = 1; }
static void uart_xoff(struct avr_irq_t *irq, uint32_t value, void *param) { (void)irq, (void)value, (void)param; xon = 0; }

static void open_pty(void) {
    struct termios t;
    if (openpty(&pty_master, &pty_slave, NULL, NULL, NULL) < 0) {
        perror("openpty");
        exit(1);
    }
    tcgetattr(pty_slave, &t);
    cfmakeraw(&t);
    tcsetattr(pty_slave, TCSANOW, &t);
    fcntl(pty_master, F_SETFL, O_NONBLOCK);
    say("pty %s", ptsname(pty_master));
}

static void close_pty(void) {
    if (pty_master >= 0) close(pty_master);
    if (pty_slave >= 0) close(pty_slave);
    pty_master = pty_slave = -1;
    pending_len = 0;
}

/* ---- pins ---- */
static avr_irq_t *pin_irq(char port, int bit) { return avr_io_getirq(avr, AVR_IOCTL_IOPORT_GETIRQ(port), bit); }

/* A level driven from outside the chip. It is also registered as the port's "external" level, or simavr would
 * let the firmware's internal pull-up override it on the next PORT/DDR write. */
static void drive(char port, int bit, int level) {
    if (port == 'C' || port == 'D') {
        int *d = driven[port - 'C'];
        d[bit] = level;
        avr_ioport_external_t ext = {.name = (unsigned long)port & 0x7F, .mask = 0, .value = 0};
        for (int b = 0; b < 8; b++) {
            if (d[b] < 0) continue;
            ext.mask |= 1u << b;
            if (d[b]) ext.value |= 1u << b;
        }
        avr_ioctl(avr, AVR_IOCTL_IOPORT_SET_EXTERNAL(port), &ext);
    }
    avr_raise_irq(pin_irq(port, bit), (uint32_t)level);
}

static void drive_idle(void) {
    for (int p = 0; p < 2; p++)
        for (int b = 0; b < 8; b++)
            if (driven[p][b] >= 0) avr_raise_irq(pin_irq((char)('C' + p), b), (uint32_t)driven[p][b]);
}

static int out_level[8];
static void pin_changed(struct avr_irq_t *irq, uint32_t value, void *param) {
    (void)irq;
    int bit = (int)(intptr_t)param;
    int v = value ? 1 : 0;
    if (v == out_level[bit]) return;
    out_level[bit] = v;
    say("pin B%d %d %llu", bit, v, sim_us());
}

/* ---- Wiegand ---- */
#define WIEGAND_PULSE_US 50
#define WIEGAND_FRAME_GAP_US 50000 /* readers leave far more than this between frames */
typedef struct {
    char reader;
    char port;
    int d0, d1;
    char bits[64];
    int n, i, low, interval_us, busy, trailing;
    unsigned long long last_bit_us;
} wiegand_t;
static wiegand_t wg[2];

static avr_cycle_count_t wiegand_step(avr_t *a, avr_cycle_count_t when, void *param) {
    wiegand_t *w = param;
    (void)a;
    if (w->trailing) { /* the line has been idle for the inter-frame gap: the next frame may start */
        w->trailing = w->busy = 0;
        say("wiegand-done %c %llu %llu", w->reader, w->last_bit_us, sim_us());
        return 0;
    }
    if (w->low) { /* end of a pulse */
        drive(w->port, w->bits[w->i] == '1' ? w->d1 : w->d0, 1);
        w->low = 0;
        if (++w->i == w->n) {
            w->trailing = 1;
            w->last_bit_us = sim_us();
            return when + avr_usec_to_cycles(avr, WIEGAND_FRAME_GAP_US);
        }
        return when + avr_usec_to_cycles(avr, (uint32_t)(w->interval_us - WIEGAND_PULSE_US));
    }
    drive(w->port, w->bits[w->i] == '1' ? w->d1 : w->d0, 0);
    w->low = 1;
    return when + avr_usec_to_cycles(avr, WIEGAND_PULSE_US);
}

static int start_wiegand(char reader, const char *bits, int interval_us) {
    wiegand_t *w = &wg[reader == 'B'];
    size_t n = strlen(bits);
    if (w->busy || n == 0 || n >= sizeof w->bits || strspn(bits, "01") != n || interval_us < 2 * WIEGAND_PULSE_US)
        return -1;
    w->busy = 1;
    w->reader = reader;
    w->port = reader == 'B' ? 'C' : 'D';
    w->d0 = reader == 'B' ? 0 : 2;
    w->d1 = reader == 'B' ? 1 : 3;
    memcpy(w->bits, bits, n + 1);
    w->n = (int)n;
    w->i = 0;
    w->low = 0;
    w->trailing = 0;
    w->interval_us = interval_us;
    avr_cycle_timer_register_usec(avr, 1, wiegand_step, w);
    return 0;
}

/* ---- an RDM6300 on PD7: 8N1, LSB first, idle high ---- */
static struct {
    uint8_t bytes[64];
    int n, i, bit, busy;
    uint32_t bit_us_x100; /* bit time in 1/100 us, for 9600 baud: 10417 */
    avr_cycle_count_t start;
    long long bits_sent;
} ser;

static avr_cycle_count_t serial_step(avr_t *a, avr_cycle_count_t when, void *param) {
    (void)a, (void)param;
    if (ser.i == ser.n) {
        ser.busy = 0;
        say("serial-done %llu", sim_us());
        return 0;
    }
    int level;
    if (ser.bit == 0) level = 0;                                  /* start */
    else if (ser.bit <= 8) level = (ser.bytes[ser.i] >> (ser.bit - 1)) & 1;
    else level = 1;                                               /* stop */
    drive('D', 7, level);
    if (++ser.bit == 10) {
        ser.bit = 0;
        ser.i++;
    }
    ser.bits_sent++;
    /* schedule from the start, not from the last edge: no drift over a frame */
    avr_cycle_count_t next = ser.start +
        (avr_cycle_count_t)((unsigned long long)ser.bits_sent * ser.bit_us_x100 * (avr->frequency / 1000000) / 100);
    return next > when ? next : when + 1;
}

static int start_serial(const char *hex, int baud) {
    size_t len = strlen(hex);
    if (ser.busy || len == 0 || len % 2 || len / 2 > sizeof ser.bytes || baud < 300) return -1;
    for (size_t k = 0; k < len / 2; k++) {
        unsigned v;
        if (sscanf(hex + 2 * k, "%2x", &v) != 1) return -1;
        ser.bytes[k] = (uint8_t)v;
    }
    ser.n = (int)(len / 2);
    ser.i = ser.bit = 0;
    ser.bits_sent = 0;
    ser.bit_us_x100 = (uint32_t)(100000000ull / (unsigned)baud);
    ser.busy = 1;
    ser.start = avr->cycle + 1;
    avr_cycle_timer_register(avr, 1, serial_step, NULL);
    return 0;
}

/* ---- a hung firmware, for the watchdog ---- */
static int hang_active;
static avr_flashaddr_t hang_pc;
static uint8_t hang_saved[2];

static void hang(void) {
    hang_pc = avr->pc;
    hang_saved[0] = avr->flash[hang_pc];
    hang_saved[1] = avr->flash[hang_pc + 1];
    avr->flash[hang_pc] = 0xFF; /* rjmp .-2 (0xCFFF): jump to itself */
    avr->flash[hang_pc + 1] = 0xCF;
    hang_active = 1;
}

static uint16_t min_sp = 0xFFFF;
static void track_stack(void) {
    uint16_t sp = (uint16_t)(avr->data[0x5D] | avr->data[0x5E] << 8); /* SPL, SPH */
    if (sp < min_sp && sp > 0x100) min_sp = sp;                      /* ignore the reset value 0 */
}

static void check_hang_reset(void) {
    if (hang_active && avr->pc == 0) {
        avr->flash[hang_pc] = hang_saved[0];
        avr->flash[hang_pc + 1] = hang_saved[1];
        hang_active = 0;
        say("watchdog-reset %llu", sim_us());
    }
}

/* ---- commands ---- */
static char line[256];
static size_t line_len;

static int command(char *cmd) {
    char port, reader;
    int bit, level, interval = 1000, baud = 9600;
    char bits[64], hexbuf[128];
    if (sscanf(cmd, "pin %c%d %d", &port, &bit, &level) == 3 && (port == 'C' || port == 'D') && bit >= 0 &&
        bit < 8) {
        drive(port, bit, level ? 1 : 0);
        say("ok");
    } else if (sscanf(cmd, "wiegand %c %63s %d", &reader, bits, &interval) >= 2 && (reader == 'A' || reader == 'B')) {
        say(start_wiegand(reader, bits, interval) == 0 ? "ok" : "error bad wiegand frame, or one still being sent");
    } else if (!strcmp(cmd, "reset")) {
        avr_reset(avr);
        drive_idle();
        say("ok");
    } else if (sscanf(cmd, "serial %127s %d", hexbuf, &baud) >= 1) {
        say(start_serial(hexbuf, baud) == 0 ? "ok" : "error bad serial data, or some still being sent");
    } else if (!strcmp(cmd, "hang")) {
        hang();
        say("ok");
    } else if (!strcmp(cmd, "unplug")) {
        close_pty();
        say("ok");
    } else if (!strcmp(cmd, "replug")) {
        close_pty();
        open_pty();
    } else if (!strcmp(cmd, "stack")) {
        say("stack %u", min_sp == 0xFFFF ? 0u : (unsigned)(avr->ramend - min_sp));
    } else if (!strcmp(cmd, "time")) {
        say("time %llu", sim_us());
    } else if (!strcmp(cmd, "quit")) {
        say("bye");
        return 1;
    } else {
        say("error unknown command: %s", cmd);
    }
    return 0;
}

static void no_sleep(avr_t *a, avr_cycle_count_t how_long) { (void)a, (void)how_long; }

int main(int argc, char **argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: %s gate.elf\n", argv[0]);
        return 2;
    }
    signal(SIGPIPE, SIG_IGN);
    elf_firmware_t fw;
    memset(&fw, 0, sizeof fw);
    if (elf_read_firmware(argv[1], &fw) != 0) {
        fprintf(stderr, "gate_sim: cannot read %s\n", argv[1]);
        return 1;
    }
    strcpy(fw.mmcu, "atmega328p");
    fw.frequency = 16000000;
    avr = avr_make_mcu_by_name(fw.mmcu);
    if (!avr) return 1;
    avr_init(avr);
    avr_load_firmware(avr, &fw);
    avr->sleep = no_sleep; /* pacing is done here, against the wall clock */
    avr->log = LOG_ERROR;

    uint32_t flags = 0;
    avr_ioctl(avr, AVR_IOCTL_UART_GET_FLAGS('0'), &flags);
    flags &= ~(uint32_t)AVR_UART_FLAG_STDIO;
    avr_ioctl(avr, AVR_IOCTL_UART_SET_FLAGS('0'), &flags);
    avr_irq_register_notify(avr_io_getirq(avr, AVR_IOCTL_UART_GETIRQ('0'), UART_IRQ_OUTPUT), uart_out, NULL);
    avr_irq_register_notify(avr_io_getirq(avr, AVR_IOCTL_UART_GETIRQ('0'), UART_IRQ_OUT_XON), uart_xon, NULL);
    avr_irq_register_notify(avr_io_getirq(avr, AVR_IOCTL_UART_GETIRQ('0'), UART_IRQ_OUT_XOFF), uart_xoff, NULL);
    for (int b = 0; b < 8; b++) avr_irq_register_notify(pin_irq('B', b), pin_changed, (void *)(intptr_t)b);

    memset(driven, -1, sizeof driven);
    drive('D', 2, 1), drive('D', 3, 1), drive('C', 0, 1), drive('C', 1, 1); /* Wiegand idle high */
    drive('D', 4, 0), drive('D', 5, 1), drive('D', 6, 0);                   /* door closed, exit up, tamper ok */
    drive('D', 7, 1);                                                       /* RDM6300 line idle */

    open_pty();
    fcntl(0, F_SETFL, O_NONBLOCK);
    say("ready");
    start_ns = wall_ns();
    for (;;) {
        for (int i = 0; i < 500; i++) {
            int state = avr_run(avr);
            check_hang_reset();
            track_stack();
            if (state == cpu_Done || state == cpu_Crashed) {
                say("crashed state %d at %llu", state, sim_us());
                return 1;
            }
        }
        /* pace: never run ahead of the wall clock; wait for input meanwhile */
        uint64_t sim_ns = (uint64_t)avr->cycle * 1000000000ull / avr->frequency, now = wall_ns() - start_ns;
        int timeout_ms = sim_ns > now + 1000000ull ? (int)((sim_ns - now) / 1000000ull) : 0;
        struct pollfd fds[2] = {{0, POLLIN, 0}, {pty_master, POLLIN, 0}};
        int nfds = pty_master >= 0 ? 2 : 1;
        if (poll(fds, (nfds_t)nfds, timeout_ms) < 0 && errno != EINTR) return 1;
        if (fds[0].revents & (POLLIN | POLLHUP)) {
            char buf[256];
            ssize_t n = read(0, buf, sizeof buf);
            if (n == 0) return 0; /* the test went away */
            for (ssize_t k = 0; k < n; k++) {
                if (buf[k] == '\n') {
                    line[line_len] = 0;
                    line_len = 0;
                    if (command(line)) return 0;
                } else if (line_len + 1 < sizeof line) {
                    line[line_len++] = buf[k];
                }
            }
        }
        if (nfds == 2 && (fds[1].revents & POLLIN) && pending_len < sizeof pending) {
            ssize_t n = read(pty_master, pending + pending_len, sizeof pending - pending_len);
            if (n > 0) pending_len += (size_t)n;
        }
        size_t fed = 0;
        /* Bytes wait in the pty until the firmware has enabled its receiver (UCSR0B.RXEN0, data address 0xC1):
         * simavr drops input while it is off, which made the first HELLO after start a race with the boot. */
        int rx_enabled = (avr->data[0xC1] & (1u << 4)) != 0;
        while (fed < pending_len && xon && rx_enabled) avr_raise_irq(avr_io_getirq(avr, AVR_IOCTL_UART_GETIRQ('0'), UART_IRQ_INPUT), pending[fed++]);
        if (fed) {
            memmove(pending, pending + fed, pending_len - fed);
            pending_len -= fed;
        }
    }
}
