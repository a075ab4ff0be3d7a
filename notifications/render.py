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

# The message kinds and who receives them (reminder kinds are produced by notifications.reminders).
KINDS: dict[str, str] = {
    "transition": "applicant / holder / next holder of an application, on every state change",
    "reminder_submit": "enterprise with draft applications before its submission deadline",
    "reminder_recommend": "recommending unit holding pending applications before its recommendation deadline",
    "reminder_ministry": "provincial-level unit with unfinished reviews before the 1 August deadline",
    "reminder_cultivation": "cultivation object and its recommending unit before the cultivation period ends",
    "escalation": "the unit above, the day after a step became overdue",
    "audit_anchor": "the auditors' address, with each audit anchor (states.ledger)",
}


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
    )


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
