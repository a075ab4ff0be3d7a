"""Pure rendering of a message kind: subject, plain text and HTML, zh-CN first, English second.

Templates live in notifications/templates/<kind>.subject.txt, <kind>.txt, <kind>.html. Nothing here
sends; `render` is tested on its own. Subjects are folded to one line so user data can't inject a header.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

TEMPLATES = Path(__file__).resolve().parent / "templates"
_LINE_BREAKS = re.compile(r"[\r\n\x0b\x0c\x1c-\x1e\x85\u2028\u2029]+")


@dataclass(frozen=True)
class Rendered:
    subject: str
    text: str
    html: str


@lru_cache(maxsize=1)
def environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=select_autoescape(enabled_extensions=("html",), default_for_string=True, default=True),
        undefined=StrictUndefined,
        keep_trailing_newline=True,
    )
    return env


def one_line(text: str) -> str:
    """Fold every line break (CR, LF, Unicode separators) into a space: header-safe."""
    return _LINE_BREAKS.sub(" ", text).strip()


def render(kind: str, context: dict[str, Any]) -> Rendered:
    """Render the three parts of a message kind. Raises jinja2 errors for unknown kinds/missing fields."""
    env = environment()
    subject = env.get_template(f"{kind}.subject.txt").render(context)
    text = env.get_template(f"{kind}.txt").render(context)
    html = env.get_template(f"{kind}.html").render(context)
    return Rendered(subject=one_line(subject), text=text, html=html)
