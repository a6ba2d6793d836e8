"""The network behind a narrow interface: a real MQTT adapter and an in-memory test adapter; a plain subscriber."""
