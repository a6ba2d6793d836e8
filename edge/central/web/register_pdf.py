"""The month's class register as a PDF (WeasyPrint): the same template and stylesheet as the register page
(templates/_register.html, static/register.css), laid out on A4 landscape by Pango with a font that has every
Vietnamese glyph (DejaVu Sans: Debian's fonts-dejavu-core, installed by scripts/bootstrap.sh).

Why WeasyPrint: it prints HTML/CSS (the page's own layout, so screen, browser print and PDF cannot drift apart),
repeats the table header on every page, embeds and subsets the font, and is a pure-Python wheel over the system's
Pango — no headless browser on the server. Nothing is fetched while rendering: the stylesheet is inlined and the
URL fetcher refuses every URL, so a student's name can never make the server load anything.
Cost: 1.2–1.9 s (p50) for a 40-student, 22-day class month on a shared 2-core machine under load (`python -m
edge.bench.register`); most of it is layout and font subsetting, paid only when someone prints.
"""

from __future__ import annotations

from pathlib import Path

from markupsafe import Markup
from weasyprint import HTML
from weasyprint.urls import URLFetcher

from edge.central.attendance.register import ClassRegister
from edge.central.web import i18n
from edge.central.web.deps import templates

CSS_FILE = Path(__file__).resolve().parent / "static" / "register.css"
PDF_TYPE = "application/pdf"


def register_html(reg: ClassRegister, lang: str) -> str:
    """The standalone HTML document of the register (stylesheet inlined)."""
    template = templates.env.get_template("register_pdf.html")
    css = Markup(CSS_FILE.read_text(encoding="utf-8"))  # our own stylesheet, not data: no escaping
    return template.render(reg=reg, t=i18n.translator(lang), lang=lang, css=css)


def register_pdf(reg: ClassRegister, lang: str) -> bytes:
    """The register as PDF bytes."""
    html = HTML(string=register_html(reg, lang), url_fetcher=URLFetcher(allowed_protocols=()))
    pdf: bytes = html.write_pdf()
    return pdf
