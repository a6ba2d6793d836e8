"""Renders the configuration reference (docs/configuration.md) from the typed model, so it cannot drift."""

from __future__ import annotations

import re
import typing

from pydantic import BaseModel
from pydantic.fields import FieldInfo
from pydantic_core import PydanticUndefined

from edge.config.model import GatewayConfig


def _type_name(annotation: object) -> str:
    text = str(annotation).replace("typing.", "").replace("edge.config.model.", "").replace("edge.config.central.", "")
    text = re.sub(r"Annotated\[(.*?), FieldInfo\(.*?\)\]", r"\1", text)
    return text.replace("<class '", "").replace("'>", "")


def _default(field: FieldInfo) -> str:
    if field.default_factory is not None:
        return "(section)" if isinstance(field.default_factory, type) else "[]"
    if field.default is PydanticUndefined:
        return "**required**"
    return f"`{field.default!r}`" if field.default is not None else "`null`"


def _sub_models(annotation: object) -> list[type[BaseModel]]:
    """The models a field holds, also inside lists and unions (a list of channels of several types)."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    return [m for arg in typing.get_args(annotation) for m in _sub_models(arg)]


def render(
    root: type[BaseModel] = GatewayConfig,
    title: str = "Gateway configuration reference",
    source: str = "`edge/config/model.py` by `python -m edge.config.docs > docs/configuration.md`",
) -> str:
    lines = [
        f"# {title}",
        "",
        f"Generated from {source};",
        "a test fails when this file is out of date. Unknown keys are errors; `${NAME}` and",
        "`${NAME:-default}` take values from the environment; relative paths are relative to the config file.",
        "",
    ]
    queue: list[tuple[str, type[BaseModel]]] = [("", root)]
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
            subs = _sub_models(field.annotation)
            is_list = typing.get_origin(field.annotation) is list
            for sub in subs:
                sub_path = f"{path}.{name}".lstrip(".") + ("[]" if is_list else "")
                queue.append((sub_path + (f" ({sub.__name__})" if len(subs) > 1 else ""), sub))
        lines.append("")
    return "\n".join(lines)


if __name__ == "__main__":
    print(render(), end="")
