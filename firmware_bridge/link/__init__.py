"""The framed serial link between the gateway and the gate controller MCU (see firmware_bridge/PROTOCOL.md)."""
