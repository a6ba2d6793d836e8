"""Helpers that run real infrastructure locally (a private Mosquitto) for the demo and the tests."""
