"""Benchmarks (`edge bench ...`): scripts that print figures, not timed tests."""
