"""Security shared by the gateway and the centre: the site PKI (identities and roles), the Mosquitto
configuration that enforces them, signed commands, files created private, and sealed (encrypted) files."""
