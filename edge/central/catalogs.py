"""The interface text of the centre (web pages, e-mails, PDFs and report downloads) as gettext catalogs, one per
language: edge/central/locale/<lang>/LC_MESSAGES/messages.po is the only source of the words; the .mo files beside
them are build outputs (`python -m edge.central.catalogs compile`, run by scripts/bootstrap.sh; gitignored).

Message ids are stable keys ("nav.today", "download.statuses.absent"), not English sentences: a key names the place
a text is shown, so correcting the English never orphans the Vietnamese. A message showing a count is a plural entry
(msgid_plural = the key); its count is the field `n` (or `count`).

Why gettext and not a table in Python: a third language is a copied .po file a translator can edit with any PO
editor, plural rules come from the language's Plural-Forms header, and `pybabel extract` (babel.cfg) lists the keys
the code and templates use."""

from __future__ import annotations

import gettext
import sys
from functools import cache
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

LOCALE_DIR = Path(__file__).resolve().parent / "locale"
DOMAIN = "messages"
LANGUAGES = ("vi", "en")
DEFAULT = "vi"
COUNT_FIELDS = ("n", "count")


class MissingCatalogs(RuntimeError):
    """A compiled catalog (.mo) is missing: the app would show keys instead of words, so it refuses to start."""


def po_path(lang: str) -> Path:
    return LOCALE_DIR / lang / "LC_MESSAGES" / f"{DOMAIN}.po"


def mo_path(lang: str) -> Path:
    return po_path(lang).with_suffix(".mo")


def read(lang: str) -> Catalog:
    """A language's source catalog (the .po), for tools and tests; the app reads the compiled .mo."""
    with po_path(lang).open("rb") as f:
        return read_po(f, locale=lang, domain=DOMAIN)


def keys(lang: str) -> set[str]:
    """Every message key of a language's catalog."""
    return {m.id if isinstance(m.id, str) else m.id[0] for m in read(lang) if m.id}


def compile_all() -> list[Path]:
    """Compile every language's .po into its .mo; idempotent (a .mo newer than its .po is kept). Returns the files
    written."""
    written = []
    for lang in LANGUAGES:
        po, mo = po_path(lang), mo_path(lang)
        if mo.exists() and mo.stat().st_mtime >= po.stat().st_mtime:
            continue
        catalog = read(lang)
        tmp = mo.with_suffix(".mo.tmp")
        with tmp.open("wb") as f:
            write_mo(f, catalog, use_fuzzy=False)
        tmp.replace(mo)
        written.append(mo)
    load.cache_clear()
    return written


def check_compiled() -> None:
    """Raise MissingCatalogs naming the command to run when a language's .mo is absent or older than its .po."""
    for lang in LANGUAGES:
        po, mo = po_path(lang), mo_path(lang)
        if not mo.exists() or mo.stat().st_mtime < po.stat().st_mtime:
            raise MissingCatalogs(
                f"the compiled text catalog {mo} is missing or older than its .po: "
                "run `python -m edge.central.catalogs compile` (scripts/bootstrap.sh does it)"
            )


@cache
def load(lang: str) -> gettext.GNUTranslations:
    """The compiled catalog of a language (an unknown one → the default's)."""
    lang = lang if lang in LANGUAGES else DEFAULT
    check_compiled()
    with mo_path(lang).open("rb") as f:
        return gettext.GNUTranslations(f)


def text(lang: str, key: str, **fields: object) -> str:
    """The words of `key` in `lang`, with {fields} filled in; a plural entry picks its form by the count field.
    A key in no catalog is shown as itself (the catalog tests fail on any such key in code or templates)."""
    translations = load(lang)
    count = next((fields[f] for f in COUNT_FIELDS if isinstance(fields.get(f), int)), None)
    words = key
    if count is not None:
        words = translations.ngettext(key, key, count)  # type: ignore[arg-type]
    if words == key:
        words = translations.gettext(key)
    return words.format(**fields) if fields else words


def main(argv: list[str]) -> int:
    if argv[:1] == ["compile"]:
        for mo in compile_all():
            print(f"compiled {mo}")
        return 0
    print("usage: python -m edge.central.catalogs compile", file=sys.stderr)
    return 2


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
