"""Attendance: the school calendar and the one rule that says present / late / absent."""
