/* The firmware's side of the link's reliability layer (PROTOCOL.md, "Reliability"): stop-and-wait for the
 * reliable frames we send (retransmit after 100 ms, 5 times, then wait until the host is heard again; nothing
 * is dropped while the queue has room), ACK and duplicate suppression for the host's frames, HELLO handling,
 * heartbeats, NAK on a damaged frame. */
#ifndef HOST_H
#define HOST_H
#include <stdint.h>
#include "link.h"

#define HOST_QUEUE 24u
#define HOST_MAX_EVENT 12u
#define HOST_RETRANSMIT_MS 100u
#define HOST_MAX_RETRIES 5u
#define HOST_HEARTBEAT_MS 1000u

/* Supplied by the application (main.c). */
uint8_t app_command(const link_frame_t *f, uint32_t now_ms); /* returns the RESULT status */
uint8_t app_heartbeat(uint8_t *payload);                     /* returns the payload length */
void app_hello_reply(uint8_t *payload);                      /* 6 bytes */

void host_init(void);
void host_poll(uint32_t now_ms);
/* Queue a reliable event for the host. Returns 0 when the queue is full (the event is counted as dropped). */
uint8_t host_queue(uint8_t type, const uint8_t *payload, uint8_t len);
uint32_t host_last_heard(void);
uint8_t host_dropped(void);
uint8_t host_bad_frames(void);
uint8_t host_hello_seen(void);

#endif
