"""Tools for development, the demo and the tests: a private Mosquitto, a throw-away PostgreSQL, the chaos run,
the import graph. Production code never imports them (the rule is checked: python -m edge.devtools.import_graph)."""
