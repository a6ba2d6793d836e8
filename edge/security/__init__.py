"""Security shared by the gateway and the centre: the site PKI (identities and roles), the Mosquitto
configuration that enforces them, files created private, and sealed (encrypted) files. Signed commands are part of
the contract between the halves (edge/contract/signing.py)."""
