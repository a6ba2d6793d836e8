/* The framed serial link, firmware side: COBS framing, CRC-16/CCITT-FALSE, frame build and parse. */
#include "link.h"

uint16_t link_crc16(const uint8_t *data, uint8_t n) {
    uint16_t crc = 0xFFFF;
    for (uint8_t i = 0; i < n; i++) {
        crc ^= (uint16_t)data[i] << 8;
        for (uint8_t b = 0; b < 8; b++)
            crc = (crc & 0x8000) ? (uint16_t)((crc << 1) ^ 0x1021) : (uint16_t)(crc << 1);
    }
    return crc;
}

uint8_t link_cobs_encode(const uint8_t *in, uint8_t n, uint8_t *out) {
    uint8_t code_at = 0, o = 1, code = 1;
    for (uint8_t i = 0; i < n; i++) {
        if (in[i] == 0) {
            out[code_at] = code;
            code_at = o++;
            code = 1;
        } else {
            out[o++] = in[i];
            if (++code == 0xFF) {
                out[code_at] = code;
                code_at = o++;
                code = 1;
            }
        }
    }
    out[code_at] = code;
    return o;
}

int16_t link_cobs_decode(const uint8_t *in, uint8_t n, uint8_t *out) {
    uint8_t i = 0, o = 0;
    while (i < n) {
        uint8_t code = in[i];
        if (code == 0 || (uint16_t)i + code > n) return -1;
        for (uint8_t k = 1; k < code; k++) {
            if (in[i + k] == 0) return -1;
            out[o++] = in[i + k];
        }
        i = (uint8_t)(i + code);
        if (code != 0xFF && i < n) out[o++] = 0;
    }
    return o;
}

uint8_t link_build(uint8_t type, uint8_t seq, const uint8_t *payload, uint8_t len, uint8_t *wire) {
    uint8_t packet[LINK_MAX_PACKET];
    if (len > LINK_MAX_PAYLOAD) return 0;
    packet[0] = type;
    packet[1] = seq;
    packet[2] = len;
    for (uint8_t i = 0; i < len; i++) packet[3 + i] = payload[i];
    uint16_t crc = link_crc16(packet, (uint8_t)(3 + len));
    packet[3 + len] = (uint8_t)(crc >> 8);
    packet[4 + len] = (uint8_t)crc;
    uint8_t n = link_cobs_encode(packet, (uint8_t)(5 + len), wire);
    wire[n++] = 0;
    return n;
}

static uint8_t parse(const uint8_t *packet, int16_t n, link_frame_t *frame) {
    if (n < 5 || n > LINK_MAX_PACKET) return 0;
    uint16_t crc = (uint16_t)((uint16_t)packet[n - 2] << 8 | packet[n - 1]);
    if (link_crc16(packet, (uint8_t)(n - 2)) != crc) return 0;
    if (packet[2] != n - 5) return 0;
    frame->type = packet[0];
    frame->seq = packet[1];
    frame->len = packet[2];
    for (uint8_t i = 0; i < frame->len; i++) frame->payload[i] = packet[3 + i];
    return 1;
}

uint8_t link_rx_byte(link_rx_t *rx, uint8_t byte, link_frame_t *frame) {
    if (byte != 0) {
        if (rx->n < LINK_MAX_WIRE) rx->buf[rx->n++] = byte;
        else rx->overflow = 1;
        return 0;
    }
    uint8_t n = rx->n, overflow = rx->overflow;
    rx->n = 0;
    rx->overflow = 0;
    if (n == 0) return 0; /* idle delimiters */
    uint8_t packet[LINK_MAX_WIRE];
    int16_t m = overflow ? -1 : link_cobs_decode(rx->buf, n, packet);
    if (m < 0 || !parse(packet, m, frame)) {
        rx->bad++;
        return 0;
    }
    return 1;
}
