"""Events the gateway publishes, with their versioned JSON schemas."""
