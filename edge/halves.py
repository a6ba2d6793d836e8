"""Which halves this install has, and the words for someone who runs the other half's command here.

The two halves install apart (pyproject.toml's extras: `gateway` on a gate's Raspberry Pi, `centre` on the school's
server; scripts/bootstrap.sh --role), but they share one `edge` command: `edge server` on a gateway finds no
FastAPI. Python's own "No module named 'fastapi'" reads like a broken install; this says which group is missing and
how to add it. The groups are read from the installed distribution's metadata (Requires-Dist with `extra == ...`),
so they are the ones this very install was made from."""

from __future__ import annotations

import re
from importlib import metadata

DIST = "edge-attendance"
HALVES = ("gateway", "centre", "dlib")
"""The groups a machine may lack; `dev` (test tools) is never needed by an `edge` command."""
_EXTRA = re.compile(r"""extra\s*==\s*["']([A-Za-z0-9_.-]+)["']""")
_NAME = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)")


def _norm(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def group_distributions() -> dict[str, list[str]]:
    """Each extra of this install with the distributions it requires (normalised names)."""
    try:
        requires = metadata.requires(DIST) or []
    except metadata.PackageNotFoundError:
        return {}
    groups: dict[str, list[str]] = {}
    for text in requires:
        extra, name = _EXTRA.search(text), _NAME.match(text)
        if extra is not None and name is not None:
            groups.setdefault(extra.group(1), []).append(_norm(name.group(1)))
    return groups


def _installed(name: str) -> bool:
    try:
        metadata.version(name)
    except metadata.PackageNotFoundError:
        return False
    return True


def installed_groups() -> dict[str, bool]:
    """Each extra of this install: True when every distribution it requires is installed."""
    return {group: all(_installed(n) for n in names) for group, names in group_distributions().items()}


def missing_half(exc: ModuleNotFoundError, groups: dict[str, bool] | None = None) -> str | None:
    """What to print instead of `exc`, when a third-party module is missing because this install lacks a half;
    None when every half is installed (then the missing module is a real fault and is raised as is)."""
    top = (exc.name or "").split(".")[0]
    if not top or top in ("edge", "firmware_bridge"):
        return None
    groups = installed_groups() if groups is None else groups
    missing = [g for g in HALVES if groups.get(g) is False]
    if not missing:
        return None
    # the group whose distribution is named like the module (argon2 -> argon2-cffi, serial -> pyserial), if one is
    names = group_distributions()
    named = [g for g in missing if any(_norm(top) in n for n in names.get(g, []))]
    missing = named or missing
    have = ", ".join(["core", *(g for g in HALVES if groups.get(g))])
    roles = {"gateway": "--role gateway", "centre": "--role centre", "dlib": "--with-dlib"}
    how = "; ".join(f"{g}: scripts/bootstrap.sh {roles[g]} (pip install '.[{g}]')" for g in missing)
    return (
        f"this command needs the Python module {top!r}, which this install does not have: it was installed with "
        f"the groups {have}, not {', '.join(missing)}. Run it on the machine of its half, or add the group — {how}"
    )
