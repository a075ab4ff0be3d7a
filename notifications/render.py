"""Pure rendering of a message kind: subject, plain text and HTML, zh-CN first, English second.

Templates live in notifications/templates/<kind>.subject.txt, <kind>.txt, <kind>.html (`_macros.*` are
shared pieces, not kinds). Nothing here sends or touches the database; `render` is tested on its own.
Subjects are folded to one line so user data can't inject a header. `.html` templates are autoescaped;
`.txt` ones (subject, plain text, shared text macros) are not, because escaping plain text would show
`&amp;` to the reader — the text parts never reach a header except the folded subject.
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



def kinds() -> tuple[str, ...]:
    """The message kinds: declared once, in notifications/kinds.yaml."""
    from notifications.kinds import load_policy

    return tuple(k.kind for k in load_policy().kinds)


def template_of(kind: str) -> str:
    from notifications.kinds import load_policy

    rule = load_policy().rule(kind)
    return rule.template_name if rule is not None else kind


@dataclass(frozen=True)
class Rendered:
    subject: str
    text: str
    html: str


@lru_cache(maxsize=1)
def environment() -> Environment:
    return Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=select_autoescape(
            enabled_extensions=("html",), disabled_extensions=("txt",), default_for_string=True, default=True
        ),
        undefined=StrictUndefined,
        keep_trailing_newline=True,
        auto_reload=False,  # templates ship with the code: no stat() of three files per message rendered
    )


def one_line(text: str) -> str:
    """Fold every line break (CR, LF, Unicode separators) into a space: header-safe."""
    return _LINE_BREAKS.sub(" ", text).strip()


def render(kind: str, context: dict[str, Any]) -> Rendered:
    """Render the three parts of a message kind. Raises jinja2 errors for unknown kinds/missing fields."""
    env = environment()
    kind = template_of(kind)
    subject = env.get_template(f"{kind}.subject.txt").render(context)
    text = env.get_template(f"{kind}.txt").render(context)
    html = env.get_template(f"{kind}.html").render(context)
    return Rendered(subject=one_line(subject), text=text, html=html)
