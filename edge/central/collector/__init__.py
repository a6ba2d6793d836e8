"""The centre's collector: check-ins from every gateway (MQTT 5 shared subscription), validated, stored in batches."""
