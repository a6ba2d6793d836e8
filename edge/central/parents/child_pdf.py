"""The child's data as a PDF (WeasyPrint, like the register: edge/central/web/register_pdf.py): the same body as
the readable page (templates/parents/_child_data_body.html), a small inlined stylesheet, A4 portrait, DejaVu Sans
for every Vietnamese glyph; nothing is fetched while rendering (the URL fetcher refuses every URL)."""

from __future__ import annotations

from typing import Any

from markupsafe import Markup
from weasyprint import HTML
from weasyprint.urls import URLFetcher

from edge.central.web import i18n
from edge.central.web.deps import templates

CSS = Markup(
    "@page { size: A4; margin: 14mm; } body { font: 9.5pt 'DejaVu Sans', sans-serif; }"
    " h1 { font-size: 14pt; } h2 { font-size: 11pt; margin-top: 12pt; }"
    " table { border-collapse: collapse; width: 100%; } thead { display: table-header-group; }"
    " td, th { border-bottom: 0.5pt solid #999; padding: 2pt 4pt; text-align: left; vertical-align: top; }"
    " .facts dt { font-weight: bold; } .facts dd { margin: 0 0 4pt 0; } ul.plain { padding-left: 0; list-style: none; }"
)


def child_pdf(data: dict[str, Any], lang: str, tz: str) -> bytes:
    template = templates.env.get_template("parents/child_data_pdf.html")
    html = template.render(data=data, t=i18n.translator(lang), lang=lang, tz=tz, css=CSS)
    pdf: bytes = HTML(string=html, url_fetcher=URLFetcher(allowed_protocols=())).write_pdf()
    return pdf
