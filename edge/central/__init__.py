"""The centre: store, collector, attendance, notifications."""
