"""Running a fleet: systemd readiness and watchdog (sd_notify), heartbeats, Prometheus metrics, unit files.

Shared by both halves and importing neither: what only a gateway runs around itself is in edge/gateway (doctor.py,
ops.py, metrics.py), what only the centre does in edge/central (gateway_registry.py)."""
