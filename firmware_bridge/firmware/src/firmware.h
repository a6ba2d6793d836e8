/* Version and capabilities reported in HELLO_REPLY (PROTOCOL.md). */
#ifndef FIRMWARE_H
#define FIRMWARE_H

#define FW_MAJOR 1
#define FW_MINOR 0
#define FW_PATCH 0

#define CAP_WIEGAND_A 0x0001u
#define CAP_WIEGAND_B 0x0002u
#define CAP_RDM6300 0x0004u
#define CAP_RELAY2 0x0008u
#define CAP_RGB_LED 0x0010u
#define FW_CAPABILITIES (CAP_WIEGAND_A | CAP_WIEGAND_B | CAP_RDM6300 | CAP_RELAY2 | CAP_RGB_LED)

/* EVENT_ALARM codes */
#define ALARM_DOOR_HELD 1
#define ALARM_TAMPER 2
#define ALARM_WATCHDOG_RESET 3
#define ALARM_LOCAL_MODE 4

/* HEARTBEAT flags */
#define HB_LOCAL_MODE 0x01
#define HB_LOCKDOWN 0x02
#define HB_DOOR_OPEN 0x04
#define HB_RELAY1 0x08
#define HB_RELAY2 0x10
#define HB_NO_HOST 0x20 /* no HELLO since reset: the host must handshake again */

#endif
