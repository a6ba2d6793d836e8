"""Renders the configuration reference (docs/configuration.md) from the typed model, so it cannot drift."""

from __future__ import annotations

import typing

from pydantic import BaseModel
from pydantic.fields import FieldInfo
from pydantic_core import PydanticUndefined

from edge.config.model import GatewayConfig


def _type_name(annotation: object) -> str:
    text = str(annotation).replace("typing.", "").replace("edge.config.model.", "")
    return text.replace("<class '", "").replace("'>", "")


def _default(field: FieldInfo) -> str:
    if field.default_factory is not None:
        return "(section)" if isinstance(field.default_factory, type) else "[]"
    if field.default is PydanticUndefined:
        return "**required**"
    return f"`{field.default!r}`" if field.default is not None else "`null`"


def _sub_model(annotation: object) -> type[BaseModel] | None:
    for arg in (annotation, *typing.get_args(annotation)):
        if isinstance(arg, type) and issubclass(arg, BaseModel):
            return arg
    return None


def render() -> str:
    lines = [
        "# Gateway configuration reference",
        "",
        "Generated from `edge/config/model.py` by `python -m edge.config.docs > docs/configuration.md`;",
        "a test fails when this file is out of date. Unknown keys are errors; `${NAME}` and",
        "`${NAME:-default}` take values from the environment; relative paths are relative to the config file.",
        "",
    ]
    queue: list[tuple[str, type[BaseModel]]] = [("", GatewayConfig)]
    while queue:
        path, model = queue.pop(0)
        lines += [
            f"## `{path or '(top level)'}`",
            "",
            " ".join((model.__doc__ or "").split()),
            "",
            "| key | type | default | meaning |",
            "| --- | --- | --- | --- |",
        ]
        for name, field in model.model_fields.items():
            desc = (field.description or "").replace("|", "\\|")
            lines.append(f"| `{name}` | {_type_name(field.annotation)} | {_default(field)} | {desc} |")
            sub = _sub_model(field.annotation)
            if sub is not None:
                is_list = typing.get_origin(field.annotation) is list
                queue.append((f"{path}.{name}".lstrip(".") + ("[]" if is_list else ""), sub))
        lines.append("")
    return "\n".join(lines)


if __name__ == "__main__":
    print(render(), end="")
