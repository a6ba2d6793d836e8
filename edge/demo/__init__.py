"""`edge demo`: the whole system end to end on bundled sample data."""
