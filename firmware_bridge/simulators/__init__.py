"""Device simulators for tests and the demo (no hardware needed)."""
