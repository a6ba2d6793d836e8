/* The framed serial link, firmware side. Specification: firmware_bridge/PROTOCOL.md.
 * Pure C99, no AVR headers: the same file builds for the ATmega328P and for the host-side unit test. */
#ifndef LINK_H
#define LINK_H
#include <stdint.h>

#define LINK_PROTOCOL_VERSION 1
#define LINK_MAX_PAYLOAD 58
#define LINK_MAX_PACKET (3 + LINK_MAX_PAYLOAD + 2)
#define LINK_MAX_WIRE (LINK_MAX_PACKET + LINK_MAX_PACKET / 254 + 2)

enum link_type {
    LINK_HELLO = 0x01, LINK_HELLO_REPLY = 0x02, LINK_HEARTBEAT = 0x03, LINK_ACK = 0x04, LINK_NAK = 0x05,
    LINK_EVENT_CARD = 0x10, LINK_EVENT_INPUT = 0x11, LINK_EVENT_ALARM = 0x12,
    LINK_CMD_RELAY = 0x20, LINK_CMD_BUZZER = 0x21, LINK_CMD_LED = 0x22, LINK_CMD_LOCKDOWN = 0x23,
    LINK_CMD_CONFIG = 0x24, LINK_RESULT = 0x30
};

typedef struct {
    uint8_t type;
    uint8_t seq;
    uint8_t len;
    uint8_t payload[LINK_MAX_PAYLOAD];
} link_frame_t;

typedef struct {
    uint8_t buf[LINK_MAX_WIRE];
    uint8_t n;
    uint8_t overflow;
    uint16_t bad; /* frames dropped: bad COBS, CRC, length or size */
} link_rx_t;

uint16_t link_crc16(const uint8_t *data, uint8_t n);
/* COBS-encode n bytes into out (no delimiter); returns the encoded length. */
uint8_t link_cobs_encode(const uint8_t *in, uint8_t n, uint8_t *out);
/* COBS-decode n bytes into out; returns the decoded length or -1 when the block is not valid COBS. */
int16_t link_cobs_decode(const uint8_t *in, uint8_t n, uint8_t *out);
/* A whole frame as it goes on the wire, 0x00 delimiter included; returns its length (0 if len too big). */
uint8_t link_build(uint8_t type, uint8_t seq, const uint8_t *payload, uint8_t len, uint8_t *wire);
/* Feed one received byte; returns 1 and fills *frame when it completed a valid frame, else 0. */
uint8_t link_rx_byte(link_rx_t *rx, uint8_t byte, link_frame_t *frame);

#endif
