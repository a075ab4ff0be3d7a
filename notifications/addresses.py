"""Recipient checks: an address or display name from user data must never become a header of its own."""

from __future__ import annotations

import re
from email.headerregistry import Address
from email.utils import formataddr

# Conservative on purpose: we only mail officials and enterprise contacts; an odd address is more
# likely a typo or an injection attempt than a real mailbox. Unicode domains are allowed (IDNA later).
_ADDRESS = re.compile(r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[^\s@<>()\[\],;:\"\\]+\.[^\s@<>()\[\],;:\"\\]+$")
_CONTROL = re.compile(r"[\x00-\x1f\x7f\x85\u2028\u2029]")


class BadAddress(ValueError):
    """The recipient can't be used: a permanent failure, recorded on the outbox row, never retried."""


def validate_address(address: str) -> str:
    """Return the address stripped, or raise `BadAddress` (CR/LF or other control characters, bad form)."""
    if not isinstance(address, str) or _CONTROL.search(address):
        raise BadAddress(f"address contains a line break or control character: {address!r}")
    text = address.strip()
    if not text or len(text) > 254 or not _ADDRESS.match(text):
        raise BadAddress(f"not a usable e-mail address: {text!r}")
    local, _, domain = text.rpartition("@")
    if len(local) > 64 or ".." in text or local.startswith(".") or local.endswith("."):
        raise BadAddress(f"not a usable e-mail address: {text!r}")
    try:
        Address(username=local, domain=domain)
    except (ValueError, IndexError) as exc:
        raise BadAddress(f"not a usable e-mail address: {text!r} ({exc})") from None
    return text


def validate_name(name: str) -> str:
    """A display name: control characters (CR, LF, …) are refused, not silently folded."""
    if _CONTROL.search(name or ""):
        raise BadAddress(f"display name contains a line break or control character: {name!r}")
    return (name or "").strip()


def mailbox(name: str, address: str) -> str:
    """`"Name" <address>` for the To header, both parts validated; formataddr quotes and encodes."""
    return formataddr((validate_name(name), validate_address(address)), charset="utf-8")
