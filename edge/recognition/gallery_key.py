"""The gallery's key and the gallery the gateway runs with, from config (one place for service, reload, demo).

Key: `gallery.key_credential` (a systemd credential, $CREDENTIALS_DIRECTORY/<name>) when set, else
`gallery.key_file` (mode 0600). Every failure is a GalleryError naming the file, so the gateway logs it and runs
without faces instead of crashing.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from edge.recognition.backend import get_backend, model_id_of
from edge.recognition.gallery import Gallery, GalleryError
from edge.recognition.model_files import ModelFileError
from edge.security.sealed import KeyFileError, credential_path, read_key_file

if TYPE_CHECKING:
    from edge.config.model import GalleryConfig, RecognitionConfig


def key_path(gc: GalleryConfig) -> Path:
    return credential_path(gc.key_credential) if gc.key_credential else Path(gc.key_file)


def load_key(gc: GalleryConfig) -> bytes:
    try:
        # systemd already restricts credentials to the service; its own file mode is not ours to judge
        return read_key_file(key_path(gc), check_mode=gc.key_credential is None)
    except KeyFileError as exc:
        raise GalleryError(f"gallery {gc.path}: {exc}") from None


def open_gallery(gc: GalleryConfig, rc: RecognitionConfig) -> Gallery:
    """The configured gallery, opened with its key, made by the configured model, whose files are present."""
    try:
        get_backend(rc.model).load()
    except ModelFileError as exc:
        raise GalleryError(f"recognition model {rc.model} is not usable: {exc}") from None
    return Gallery.load(gc.path, load_key(gc), model=model_id_of(rc.model))
