"""A school's state in the store (#20): state.py reads it, edits.py writes it (each edit bumps the school's
version), watch.py tells processes when it changed, files.py imports/exports CSV and YAML."""
