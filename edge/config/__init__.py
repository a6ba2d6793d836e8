"""Typed gateway configuration and its YAML loader."""

from edge.config.loader import ConfigError, ConfigIssue, load_config, parse_config_text
from edge.config.model import (
    BrokerConfig,
    CameraConfig,
    GateConfig,
    GatewayConfig,
    ReaderConfig,
    RecognitionConfig,
)

__all__ = [
    "BrokerConfig",
    "CameraConfig",
    "ConfigError",
    "ConfigIssue",
    "GateConfig",
    "GatewayConfig",
    "ReaderConfig",
    "RecognitionConfig",
    "load_config",
    "parse_config_text",
]
