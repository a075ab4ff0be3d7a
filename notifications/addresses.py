"""Recipient checks: an address or display name from user data must never become a header of its own.

Addresses are validated and normalised when they are stored (`normalise_address`): the domain is
lower-cased and IDNA-encoded (`用户@青浦.中国` → `用户@xn--...`), so every stored domain is ASCII and a
non-ASCII domain can never stop a send with a `UnicodeEncodeError`. A non-ASCII local part (RFC 6531) is
kept: the sender delivers it only over SMTPUTF8 and records a clear failure when the server lacks it.
"""

from __future__ import annotations

import re
from email.utils import formataddr
from functools import lru_cache

import idna

# Conservative on purpose: we only mail officials and enterprise contacts; an odd address is more
# likely a typo or an injection attempt than a real mailbox. Non-ASCII letters are allowed (EAI, IDN).
_LOCAL = re.compile(r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~\u0080-\U0010ffff-]+$")
_DOMAIN_FORBIDDEN = re.compile(r"[\s@<>()\[\],;:\"\\]")
_CONTROL = re.compile(r"[\x00-\x1f\x7f\x85\u2028\u2029]")
_ASCII_LABEL = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$")


class BadAddress(ValueError):
    """The recipient can't be used: a permanent failure, recorded on the outbox row, never retried."""


def _ascii_domain(domain: str, text: str) -> str:
    """The domain as lower-case ASCII (IDNA 2008 with UTS #46 mapping), or BadAddress."""
    if not domain or _DOMAIN_FORBIDDEN.search(domain) or "." not in domain.strip("."):
        raise BadAddress(f"not a usable e-mail address: {text!r}")
    try:
        ascii_domain = idna.encode(domain, uts46=True).decode("ascii") if not domain.isascii() else domain.lower()
        if "xn--" in ascii_domain:
            idna.decode(ascii_domain)  # an A-label must decode to a valid U-label
    except idna.IDNAError as exc:
        raise BadAddress(f"not a usable e-mail address: {text!r} (domain: {exc})") from None
    labels = ascii_domain.split(".")
    if len(ascii_domain) > 253 or not all(_ASCII_LABEL.match(label) for label in labels) or labels[-1].isdigit():
        raise BadAddress(f"not a usable e-mail address: {text!r}")
    return ascii_domain


def normalise_address(address: str) -> str:
    """Return the address stripped, its domain in lower-case ASCII (IDNA); or raise `BadAddress`.

    Refused: CR/LF or other control characters, no or several `@`, a bad local part or domain."""
    if not isinstance(address, str):
        raise BadAddress(f"address contains a line break or control character: {address!r}")
    return _normalised(address)


# Pure (a refusal raises and is not remembered): a batch of filings mails the same officers hundreds of times.
@lru_cache(maxsize=4096)
def _normalised(address: str) -> str:
    if _CONTROL.search(address):
        raise BadAddress(f"address contains a line break or control character: {address!r}")
    text = address.strip()
    local, at, domain = text.rpartition("@")
    if not at or not text or len(text) > 254 or not _LOCAL.match(local or "@"):
        raise BadAddress(f"not a usable e-mail address: {text!r}")
    if len(local.encode("utf-8")) > 64 or ".." in local or local.startswith(".") or local.endswith("."):
        raise BadAddress(f"not a usable e-mail address: {text!r}")
    normalised = f"{local}@{_ascii_domain(domain, text)}"
    if len(normalised) > 254:
        raise BadAddress(f"not a usable e-mail address: {text!r} (longer than 254 characters once encoded)")
    return normalised


validate_address = normalise_address  # the older name, kept for callers that only check


def needs_smtputf8(address: str) -> bool:
    """A normalised address whose local part is not ASCII: deliverable only over SMTPUTF8."""
    return not address.isascii()


def validate_name(name: str) -> str:
    """A display name: control characters (CR, LF, …) are refused, not silently folded."""
    if _CONTROL.search(name or ""):
        raise BadAddress(f"display name contains a line break or control character: {name!r}")
    return (name or "").strip()


def mailbox(name: str, address: str) -> str:
    """`"Name" <address>` for the To header, both parts validated; formataddr quotes and encodes."""
    return formataddr((validate_name(name), normalise_address(address)), charset="utf-8")
