"""Edge attendance: gateway, recognition core, outbox, collector and CLI."""

__version__ = "0.1.0"
