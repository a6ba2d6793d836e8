"""The pinned lock files, one per dependency group of pyproject.toml, cut from one set of pins.

Why a lock per group rather than one lock with markers: pip has no marker for "the gateway install", and a lock
per group is what `scripts/bootstrap.sh --role` can hand to `pip install -r` unchanged. Each lock holds the
group's declared distributions and everything they require (per the installed distributions' metadata) that an
earlier group does not already hold: requirements.lock (core, both halves) first, then the gateway's, the centre's,
the dlib backend's; requirements-dev.lock last. A distribution two groups need but core does not is in both
groups' locks, with the same pin. The pins themselves are never chosen here: they are the versions already in the
lock files (a `pip freeze` of a working install), so re-cutting moves lines between files and changes no version.

`python -m edge.devtools.locks` rewrites the locks from pyproject.toml and the current pins; `--check` exits 1
when they differ (tests/test_halves.py runs the same comparison)."""

from __future__ import annotations

import functools
import re
import sys
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

from packaging.markers import default_environment
from packaging.requirements import Requirement

ROOT = Path(__file__).resolve().parents[2]
GROUPS = ("core", "gateway", "centre", "dlib", "dev")
"""In install order; each lock leaves out what an earlier group's lock already holds."""
LOCKS = {
    "core": "requirements.lock",
    "gateway": "requirements-gateway.lock",
    "centre": "requirements-centre.lock",
    "dlib": "requirements-dlib.lock",
    "dev": "requirements-dev.lock",
}
ROLES = {"gateway": ("core", "gateway"), "centre": ("core", "centre"), "all": ("core", "gateway", "centre", "dlib")}
"""What `scripts/bootstrap.sh --role` installs (`--dev` adds the dev group to `all`)."""
BUILD_TOOLS = {"setuptools", "wheel"}
"""Pinned in the core lock for the editable install (`pip install --no-build-isolation -e .`); pip freeze omits
them and no distribution requires them."""
HEADERS = {
    "core": (
        "Both halves' runtime dependencies (pyproject.toml [project] dependencies + what they require), pinned.",
        "Cut by `python -m edge.devtools.locks` from a working install's pins; scripts/bootstrap.sh, every --role.",
    ),
    "gateway": (
        "The gateway's own dependencies (pyproject.toml's `gateway` extra) beyond requirements.lock, pinned.",
        "Cut by `python -m edge.devtools.locks`; installed by scripts/bootstrap.sh --role gateway|all.",
    ),
    "centre": (
        "The centre's own dependencies (the `centre` extra: collector, notifier, web app) beyond requirements.lock.",
        "Cut by `python -m edge.devtools.locks`; installed by scripts/bootstrap.sh --role centre|all.",
    ),
    "dlib": (
        "The dlib face model (`model: dlib`; the `dlib` extra); dlib-bin ships the `dlib` module as wheels.",
        "face-recognition==1.3.0 (the benches' and tests' reference loop) is installed --no-deps by bootstrap.sh:",
        "its metadata asks for the `dlib` sdist. Cut by `python -m edge.devtools.locks`; --role all or --with-dlib.",
    ),
    "dev": (
        "Test and lint tools (pyproject.toml's `dev` extra) beyond the runtime locks, every package pinned.",
        "Cut by `python -m edge.devtools.locks`; installed by scripts/bootstrap.sh --dev.",
    ),
}
_PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==(\S+)$")


def norm(name: str) -> str:
    """PEP 503's normalised name: `PyYAML`, `pyyaml` and `py_yaml` are one distribution."""
    return re.sub(r"[-_.]+", "-", name).lower()


@dataclass(frozen=True)
class Pin:
    name: str
    """As spelled in the lock (pip freeze's spelling)."""
    version: str

    @property
    def line(self) -> str:
        return f"{self.name}=={self.version}"


def read_lock(path: Path) -> dict[str, Pin]:
    """The pins of one lock file, by normalised name (comments and blank lines skipped)."""
    pins: dict[str, Pin] = {}
    for raw in path.read_text(encoding="utf-8").splitlines():
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        m = _PIN.match(line)
        if m is None:
            raise ValueError(f"{path.name}: not an exact pin: {raw!r}")
        pins[norm(m.group(1))] = Pin(m.group(1), m.group(2))
    return pins


def current_pins(root: Path = ROOT) -> dict[str, Pin]:
    """Every pin of every lock file present; one distribution pinned to two versions is an error."""
    pins: dict[str, Pin] = {}
    for path in sorted(root.glob("requirements*.lock")):
        for key, pin in read_lock(path).items():
            if key in pins and pins[key].version != pin.version:
                raise ValueError(f"{pin.name} pinned to {pins[key].version} and {pin.version} ({path.name})")
            pins.setdefault(key, pin)
    return pins


def declared(root: Path = ROOT) -> dict[str, list[Requirement]]:
    """pyproject.toml's requirements per group: core is [project] dependencies, the others its extras."""
    project = tomllib.loads((root / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    groups = {"core": [Requirement(r) for r in project["dependencies"]]}
    for group, reqs in project.get("optional-dependencies", {}).items():
        groups[group] = [Requirement(r) for r in reqs]
    return groups


def requires(name: str, extras: Iterable[str] = ()) -> list[Requirement]:
    """What the installed distribution `name` requires on this platform (with `extras`), from its metadata."""
    return list(_requires(name, tuple(sorted(extras))))


@functools.cache
def _installed() -> dict[str, metadata.Distribution]:
    """Every installed distribution by normalised name, found once (one `metadata.distribution(name)` walks
    sys.path anew: ~0.2 s each on a loaded machine, times a hundred names)."""
    found: dict[str, metadata.Distribution] = {}
    for dist in metadata.distributions():
        found.setdefault(norm(dist.metadata["Name"]), dist)
    return found


@functools.cache
def _requires(name: str, extras: tuple[str, ...]) -> tuple[Requirement, ...]:
    env = {key: str(value) for key, value in default_environment().items()}
    out = []
    for text in _installed()[norm(name)].requires or []:
        req = Requirement(text)
        if req.marker is None or any(req.marker.evaluate({**env, "extra": e}) for e in ("", *extras)):
            out.append(req)
    return tuple(out)


def closure(reqs: Iterable[Requirement]) -> set[str]:
    """The normalised names of `reqs` and everything they require, transitively."""
    seen: set[str] = set()
    stack = [(norm(r.name), tuple(r.extras)) for r in reqs]
    done: set[tuple[str, tuple[str, ...]]] = set()
    while stack:
        name, extras = stack.pop()
        if (name, extras) in done:
            continue
        done.add((name, extras))
        seen.add(name)
        stack.extend((norm(r.name), tuple(r.extras)) for r in requires(name, extras))
    return seen


def cut(groups: Mapping[str, list[Requirement]], pins: Mapping[str, Pin]) -> dict[str, list[Pin]]:
    """Each group's lock: its closure minus what the groups it is installed on top of already hold.

    Core is under every group; gateway, centre and dlib each sit on core alone (a gateway install has no centre
    lock); dev sits on all of them."""
    names = {g: closure(groups.get(g, [])) for g in GROUPS}
    names["core"] |= BUILD_TOOLS
    below = {"core": set[str](), "gateway": names["core"], "centre": names["core"], "dlib": names["core"]}
    below["dev"] = names["core"] | names["gateway"] | names["centre"] | names["dlib"]
    missing = sorted(n for g in GROUPS for n in names[g] if n not in pins and n != "pip")
    if missing:
        raise ValueError(f"required but pinned in no lock: {', '.join(missing)}")
    return {
        g: sorted((pins[n] for n in names[g] - below[g] if n != "pip"), key=lambda p: p.line.lower()) for g in GROUPS
    }


def render(group: str, locked: list[Pin]) -> str:
    lines = [f"# {h}" for h in HEADERS[group]]
    lines += [p.line for p in locked if norm(p.name) not in BUILD_TOOLS]
    if group == "core":
        lines.append("# build tools for the editable install of this project (pip freeze does not list them)")
        lines += [p.line for p in locked if norm(p.name) in BUILD_TOOLS]
    return "\n".join(lines) + "\n"


def wanted(root: Path = ROOT) -> dict[str, str]:
    """The lock files' text as pyproject.toml and the current pins make them, by file name."""
    pins = current_pins(root)
    locks = cut(declared(root), pins)
    placed = {norm(p.name) for group in locks.values() for p in group}
    orphans = sorted(pins[n].line for n in pins.keys() - placed)
    if orphans:
        raise ValueError(f"pinned but required by no group (drop them or declare them): {', '.join(orphans)}")
    return {LOCKS[g]: render(g, locks[g]) for g in GROUPS}


def main(argv: list[str]) -> int:
    texts = wanted()
    stale = [name for name, text in texts.items() if not (ROOT / name).is_file() or (ROOT / name).read_text() != text]
    if "--check" in argv:
        for name in stale:
            print(f"{name} differs from what pyproject.toml and the pins make (python -m edge.devtools.locks)")
        return 1 if stale else 0
    for name in stale:
        (ROOT / name).write_text(texts[name], encoding="utf-8")
        print(f"wrote {name}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
