"""Running a fleet: systemd readiness and watchdog (sd_notify), heartbeats, Prometheus metrics, unit files."""
