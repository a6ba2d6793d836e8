"""The gateway: sources -> decision -> outbox -> MQTT."""
