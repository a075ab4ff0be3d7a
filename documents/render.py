"""Render a document template to HTML, and HTML to PDF (WeasyPrint; Chinese set in Noto Sans CJK SC)."""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

TEMPLATES = Path(__file__).resolve().parent / "templates"


@cache
def environment() -> Environment:
    return Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=select_autoescape(["html"]),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )


def render_html(name: str, context: dict[str, Any]) -> str:
    """`name` without suffix: `application` renders templates/application.html."""
    return environment().get_template(f"{name}.html").render(**context)


def html_to_pdf(html: str) -> bytes:
    """A PDF of the page (A4; the template's @page rule says portrait or landscape)."""
    from weasyprint import HTML  # imported here: ~0.5 s, and only the document commands need it

    return bytes(HTML(string=html, base_url=str(TEMPLATES)).write_pdf())


MEDIA_TYPES = {"pdf": "application/pdf", "html": "text/html; charset=utf-8"}


def as_format(html: str, fmt: str) -> bytes:
    """The document as the reader asked for it: "html" (or "htm") as UTF-8 HTML, anything else as PDF."""
    return html.encode("utf-8") if fmt.lower().lstrip(".") in ("html", "htm") else html_to_pdf(html)


def qr_svg(text: str) -> str:
    """An inline SVG QR code of `text` (the frozen hash), so the paper copy can be scanned and matched."""
    import segno

    return str(segno.make(text, error="m").svg_inline(scale=3, omitsize=True))
