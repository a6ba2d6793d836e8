"""The central collector: check-ins from every gateway into one database."""
