"""Load config.yaml into GatewayConfig, reporting every problem with its YAML path and line.

PyYAML's node tree keeps the line of every key and value; we walk it ourselves so that errors found later by
pydantic (unknown key, wrong type, out of range) can still point at the line a person must edit.
`${NAME}` and `${NAME:-default}` in string values are replaced from the environment (secrets never live in
the file).
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from edge.config.model import GatewayConfig

PLACEHOLDER = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")
"""`${VAR}` or `${VAR:-default}` in a config value."""

Loc = tuple[str | int, ...]


@dataclass(frozen=True)
class ConfigIssue:
    file: str
    line: int | None
    path: str
    message: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        return f"{where}: {self.path or '<top>'}: {self.message}"


class ConfigError(Exception):
    """The config is invalid; `issues` lists every problem found."""

    def __init__(self, issues: list[ConfigIssue]) -> None:
        self.issues = issues
        super().__init__("\n".join(str(i) for i in issues))


def format_loc(loc: Loc) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


class _Walker:
    """Turns a YAML node tree into plain data, recording the line of every path."""

    def __init__(self, file: str, env: Mapping[str, str]) -> None:
        self.file = file
        self.env = env
        self.lines: dict[Loc, int] = {}
        self.issues: list[ConfigIssue] = []
        self._scalars = yaml.SafeLoader("")

    def walk(self, node: yaml.Node, loc: Loc) -> Any:
        self.lines.setdefault(loc, node.start_mark.line + 1)
        if isinstance(node, yaml.MappingNode):
            out: dict[Any, Any] = {}
            for key_node, value_node in node.value:
                key = self._scalars.construct_object(key_node)
                sub = (*loc, key)
                if key in out:
                    self._issue(key_node.start_mark.line + 1, sub, "duplicate key")
                self.lines[sub] = key_node.start_mark.line + 1
                out[key] = self.walk(value_node, sub)
            return out
        if isinstance(node, yaml.SequenceNode):
            return [self.walk(item, (*loc, i)) for i, item in enumerate(node.value)]
        value = self._scalars.construct_object(node)
        if isinstance(value, str) and "${" in value:
            return self._substitute(value, node, loc)
        return value

    def _substitute(self, text: str, node: yaml.Node, loc: Loc) -> Any:
        missing: list[str] = []

        def repl(m: re.Match[str]) -> str:
            name, default = m.group(1), m.group(2)
            if name in self.env:
                return self.env[name]
            if default is not None:
                return default
            missing.append(name)
            return ""

        result = PLACEHOLDER.sub(repl, text)
        for name in missing:
            self._issue(node.start_mark.line + 1, loc, f"environment variable {name} is not set (from '{text}')")
        # An unquoted placeholder takes the type its value would have had in YAML (port: ${PORT} -> int).
        if isinstance(node, yaml.ScalarNode) and node.style is None and not missing:
            parsed = yaml.safe_load(result) if result.strip() else None
            if isinstance(parsed, int | float | bool):
                return parsed
        return result

    def _issue(self, line: int | None, loc: Loc, message: str) -> None:
        self.issues.append(ConfigIssue(self.file, line, format_loc(loc), message))

    def line_of(self, loc: Loc) -> int | None:
        for n in range(len(loc), -1, -1):
            if (line := self.lines.get(loc[:n])) is not None:
                return line
        return None


def _pydantic_issues(err: ValidationError, walker: _Walker) -> list[ConfigIssue]:
    issues = []
    for e in err.errors():
        loc: Loc = tuple(p for p in e["loc"] if isinstance(p, str | int))
        msg = e["msg"]
        if e["type"] == "extra_forbidden":
            msg = "unknown key"
        elif e["type"] == "missing":
            msg = "required key is missing"
        elif "input" in e and not isinstance(e["input"], dict | list):
            msg = f"{msg} (got {e['input']!r})"
        issues.append(ConfigIssue(walker.file, walker.line_of(loc), format_loc(loc), msg))
    return issues


def _resolve_paths(cfg: GatewayConfig, base: Path) -> GatewayConfig:
    def rel(p: str) -> str:
        return p if os.path.isabs(p) else str((base / p).resolve())

    def camera_source(src: str) -> str:
        if src.isdigit() or "://" in src:
            return src
        return rel(src)

    gates = [
        g.model_copy(update={"cameras": [c.model_copy(update={"source": camera_source(c.source)}) for c in g.cameras]})
        for g in cfg.gates
    ]
    tls = cfg.broker.tls
    broker = cfg.broker
    if tls is not None:
        tls = tls.model_copy(
            update={"ca": rel(tls.ca), "cert": rel(tls.cert), "key": rel(tls.key), "crl": tls.crl and rel(tls.crl)}
        )
        broker = broker.model_copy(update={"tls": tls})
    return cfg.model_copy(
        update={
            "gates": gates,
            "broker": broker,
            "storage": cfg.storage.model_copy(update={"database": rel(cfg.storage.database)}),
            "roster": cfg.roster.model_copy(update={"path": rel(cfg.roster.path)}),
            "gallery": cfg.gallery.model_copy(
                update={"path": rel(cfg.gallery.path), "key_file": rel(cfg.gallery.key_file)}
            ),
        }
    )


M = TypeVar("M", bound=BaseModel)


def validate_yaml(
    text: str, model: type[M], *, file: str, env: Mapping[str, str] | None
) -> tuple[M, Callable[[tuple[Any, ...]], int | None]]:
    """YAML text -> (`model`, the line of a key path), ${ENV} placeholders filled; every problem (YAML, unknown
    keys, types, missing variables) listed with file:line in one ConfigError. Gateway and centre configs share it."""
    walker = _Walker(file, os.environ if env is None else env)
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else None
        raise ConfigError([ConfigIssue(file, line, "", f"not valid YAML: {getattr(exc, 'problem', exc)}")]) from exc
    if root is None:
        raise ConfigError([ConfigIssue(file, None, "", "the file is empty")])
    data = walker.walk(root, ())
    if not isinstance(data, dict):
        raise ConfigError([ConfigIssue(file, walker.line_of(()), "", "the top level must be a mapping")])
    issues = list(walker.issues)
    cfg: M | None = None
    try:
        cfg = model.model_validate(data)
    except ValidationError as err:
        issues.extend(_pydantic_issues(err, walker))
    if issues or cfg is None:
        issues.sort(key=lambda i: (i.line or 0, i.path))
        raise ConfigError(issues)
    return cfg, walker.line_of


def parse_config_text(
    text: str,
    *,
    file: str = "<config>",
    env: Mapping[str, str] | None = None,
    base_dir: Path | None = None,
    check_files: bool = False,
    warnings: list[ConfigIssue] | None = None,
) -> GatewayConfig:
    """Parse and validate config text. Raises ConfigError listing every problem found. `check_files`: also
    require the files it names (roster, TLS files) to exist (edge/config/files.py); problems that only disable a
    part (no gallery) are appended to `warnings`."""
    cfg, line_of = validate_yaml(text, GatewayConfig, file=file, env=env)
    resolved = _resolve_paths(cfg, base_dir or Path.cwd())
    if check_files:
        from edge.config.files import file_issues

        errors, minor = file_issues(resolved, file, line_of)
        if warnings is not None:
            warnings.extend(minor)
        if errors:
            raise ConfigError(errors)
    return resolved


def load_config(
    path: str | Path,
    *,
    env: Mapping[str, str] | None = None,
    check_files: bool = False,
    warnings: list[ConfigIssue] | None = None,
) -> GatewayConfig:
    """Load a config file; relative paths in it are taken from the file's directory."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError([ConfigIssue(str(p), None, "", f"cannot read the file: {exc.strerror}")]) from exc
    return parse_config_text(
        text, file=str(p), env=env, base_dir=p.resolve().parent, check_files=check_files, warnings=warnings
    )
