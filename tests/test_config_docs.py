"""docs/configuration.md is generated from the model: it documents every field and is up to date."""

from __future__ import annotations

from pathlib import Path

from edge.config.docs import render
from edge.config.model import GatewayConfig

DOC = Path(__file__).resolve().parent.parent / "docs" / "configuration.md"


def test_reference_is_current() -> None:
    assert DOC.read_text() == render(), "run: python -m edge.config.docs > docs/configuration.md"


def test_every_field_is_documented() -> None:
    from pydantic import BaseModel

    def walk(model: type[BaseModel]) -> None:
        for name, field in model.model_fields.items():
            assert field.description, f"{model.__name__}.{name} has no description"
            for arg in (field.annotation, *getattr(field.annotation, "__args__", ())):
                if isinstance(arg, type) and issubclass(arg, BaseModel):
                    walk(arg)

    walk(GatewayConfig)
