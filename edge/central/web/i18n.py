"""Interface text in Vietnamese (the default) and English, from the gettext catalogs (edge/central/catalogs.py,
edge/central/locale/<lang>/LC_MESSAGES/messages.po): `t(key, **fields)` in templates and routes is a catalog look-up;
a key missing from the catalogs is shown as itself (tests/test_web_catalogs.py fails on any such key).

The language comes from the `lang` cookie (set by the switch in the page header), else `vi`."""

from __future__ import annotations

from collections.abc import Callable

from edge.central import catalogs

LANGUAGES = catalogs.LANGUAGES
DEFAULT = catalogs.DEFAULT
COOKIE = "edge_lang"


def translate(lang: str, key: str, **fields: object) -> str:
    return catalogs.text(lang, key, **fields)


def known(key: object) -> bool:
    """Whether `key` is a message of the catalogs (a route's HTTPException detail may be one)."""
    return isinstance(key, str) and "." in key and catalogs.text(DEFAULT, key) != key


def translator(lang: str) -> Callable[..., str]:
    lang = lang if lang in LANGUAGES else DEFAULT

    def t(key: str, **fields: object) -> str:
        return translate(lang, key, **fields)

    return t


def pick(cookie: str | None, accept_language: str | None = None) -> str:
    if cookie in LANGUAGES:
        return str(cookie)
    return DEFAULT
