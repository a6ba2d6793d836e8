#include "host.h"
#include "uart.h"

typedef struct {
    uint8_t type, len;
    uint8_t payload[HOST_MAX_EVENT];
} entry_t;

static entry_t queue[HOST_QUEUE];
static uint8_t q_head, q_count, dropped;

static link_rx_t rx;
static uint16_t bad_seen;
static uint8_t tx_seq;
static uint8_t host_seq, host_seq_valid, hello_seen, hello_reply_due, stalled;
static uint8_t out_active, out_hello, out_seq, out_attempts;
static uint32_t out_sent_ms, last_heard_ms, last_heartbeat_ms;
static uint8_t wire[LINK_MAX_WIRE];

static void send(uint8_t type, uint8_t seq, const uint8_t *payload, uint8_t len) {
    uint8_t n = link_build(type, seq, payload, len, wire);
    uart_write(wire, n);
}

void host_init(void) {
    q_head = q_count = 0;
    hello_seen = stalled = out_active = 0;
}

uint8_t host_queue(uint8_t type, const uint8_t *payload, uint8_t len) {
    if (len > HOST_MAX_EVENT) return 0;
    if (q_count == HOST_QUEUE) {
        if (dropped < 255) dropped++;
        return 0;
    }
    entry_t *e = &queue[(uint8_t)((q_head + q_count) % HOST_QUEUE)];
    e->type = type;
    e->len = len;
    for (uint8_t i = 0; i < len; i++) e->payload[i] = payload[i];
    q_count++;
    return 1;
}

uint32_t host_last_heard(void) { return last_heard_ms; }
uint8_t host_dropped(void) { return dropped; }
uint8_t host_hello_seen(void) { return hello_seen; }
uint8_t host_bad_frames(void) { return bad_seen > 255 ? 255 : (uint8_t)bad_seen; }

static void transmit_current(uint32_t now_ms) {
    if (out_hello) {
        uint8_t p[6];
        app_hello_reply(p);
        send(LINK_HELLO_REPLY, out_seq, p, 6);
    } else {
        entry_t *e = &queue[q_head];
        send(e->type, out_seq, e->payload, e->len);
    }
    out_attempts++;
    out_sent_ms = now_ms;
}

static void start_next(uint32_t now_ms) {
    if (hello_reply_due) {
        hello_reply_due = 0;
        out_hello = 1;
    } else if (hello_seen && !stalled && q_count) {
        out_hello = 0;
    } else {
        return;
    }
    out_active = 1;
    out_seq = ++tx_seq;
    out_attempts = 0;
    transmit_current(now_ms);
}

static void acked(uint8_t seq) {
    if (!out_active || seq != out_seq) return;
    out_active = 0;
    if (!out_hello) {
        q_head = (uint8_t)((q_head + 1u) % HOST_QUEUE);
        q_count--;
    }
}

static void handle(const link_frame_t *f, uint32_t now_ms) {
    last_heard_ms = now_ms;
    stalled = 0;
    switch (f->type) {
    case LINK_ACK:
        if (f->len >= 1) acked(f->payload[0]);
        return;
    case LINK_NAK:
        if (out_active) out_sent_ms = now_ms - HOST_RETRANSMIT_MS; /* retransmit at once */
        return;
    case LINK_HEARTBEAT:
        return;
    case LINK_HELLO: {
        uint8_t ack = f->seq;
        send(LINK_ACK, 0, &ack, 1);
        host_seq = f->seq;
        host_seq_valid = 1;
        hello_seen = 1;
        hello_reply_due = 1;
        if (out_active && !out_hello) out_active = 0; /* resent after HELLO_REPLY, with a new seq */
        return;
    }
    default:
        break;
    }
    if (f->type < LINK_CMD_RELAY || f->type > LINK_CMD_CONFIG) {
        uint8_t nak[2] = {f->seq, 3}; /* unknown type */
        send(LINK_NAK, 0, nak, 2);
        return;
    }
    uint8_t ack = f->seq;
    if (host_seq_valid && f->seq == host_seq) { /* our ACK was lost: ACK again, do not act twice */
        send(LINK_ACK, 0, &ack, 1);
        return;
    }
    host_seq = f->seq;
    host_seq_valid = 1;
    uint8_t result[2] = {f->seq, app_command(f, now_ms)};
    send(LINK_ACK, 0, &ack, 1);
    host_queue(LINK_RESULT, result, 2);
}

void host_poll(uint32_t now_ms) {
    uint8_t b;
    static link_frame_t f; /* static: 62 bytes off the stack */
    while (uart_read(&b)) {
        if (link_rx_byte(&rx, b, &f)) handle(&f, now_ms);
        if (rx.bad != bad_seen) {
            bad_seen = rx.bad;
            uint8_t nak[2] = {0xFF, 1};
            send(LINK_NAK, 0, nak, 2);
        }
    }
    if (out_active && now_ms - out_sent_ms >= HOST_RETRANSMIT_MS) {
        if (out_attempts > HOST_MAX_RETRIES) {
            out_active = 0; /* the frame stays queued; sent again once the host is heard */
            stalled = 1;
        } else {
            transmit_current(now_ms);
        }
    }
    if (!out_active) start_next(now_ms);
    if (now_ms - last_heartbeat_ms >= HOST_HEARTBEAT_MS) {
        uint8_t p[HOST_MAX_EVENT];
        uint8_t n = app_heartbeat(p);
        send(LINK_HEARTBEAT, 0, p, n);
        last_heartbeat_ms = now_ms;
    }
}
