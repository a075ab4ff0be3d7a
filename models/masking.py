"""Personal data in logs: e-mail addresses and phone numbers are masked before a record is written.

    mask_email("zhang.san@example.cn")  → "z***@e***.cn"
    mask_phone("13812345678")           → "138****5678"
    install_log_masking()               # once at start-up: every handler of the root logger masks

`MaskingFilter` rewrites the formatted message of each record (arguments included), so a call such as
`log.info("mail to %s", address)` is masked as well as an f-string. Secrets (the SMTP password, the audit
HMAC key) are `SecretStr` in `models.settings` and never reach a log in the clear; `redact_secrets`
removes their values from a text as a last line of defence.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable

# local@domain.tld — conservative: what an address in a log line looks like, Unicode local parts too.
EMAIL_RE = re.compile(r"(?P<local>[\w.+%-]+)@(?P<domain>[\w-]+(?:\.[\w-]+)*)\.(?P<tld>[A-Za-z]{2,24})\b")
# Mainland mobile numbers (1[3-9]x, 11 digits, optional +86/0086), and landlines 0xx(x)-xxxxxxx(x).
PHONE_RE = re.compile(
    r"(?<![\w])(?:(?:\+|00)86[ -]?)?1[3-9]\d[ -]?\d{4}[ -]?\d{4}(?![\w])"
    r"|(?<![\w])0\d{2,3}[ -]\d{7,8}(?![\w])"
)


def mask_email(address: str) -> str:
    """Keep the first character of the local part and of the domain, and the top-level domain."""
    match = EMAIL_RE.fullmatch(address.strip())
    if not match:
        return "***" if "@" in address else address
    return _mask_email_match(match)


def _mask_email_match(match: re.Match[str]) -> str:
    return f"{match['local'][:1]}***@{match['domain'][:1]}***.{match['tld']}"


def mask_phone(number: str) -> str:
    """Keep the first three and the last four digits: 138****5678 (shorter numbers: last two)."""
    digits = re.sub(r"\D", "", number)
    if digits.startswith("0086"):
        digits = digits[4:]
    elif digits.startswith("86") and len(digits) == 13:
        digits = digits[2:]
    if len(digits) >= 11:
        return f"{digits[:3]}****{digits[-4:]}"
    if len(digits) >= 7:
        return f"{'*' * (len(digits) - 2)}{digits[-2:]}"
    return "*" * len(digits)


def mask_text(text: str) -> str:
    """Mask every e-mail address and phone number in a text."""
    text = EMAIL_RE.sub(_mask_email_match, text)
    return PHONE_RE.sub(lambda m: mask_phone(m.group(0)), text)


def redact_secrets(text: str, secrets: Iterable[str | None]) -> str:
    """Replace each (non-trivial) secret value in a text by ********."""
    for secret in secrets:
        if secret and len(secret) >= 4:
            text = text.replace(secret, "********")
    return text


def _configured_secrets() -> list[str]:
    try:
        from models.settings import get_settings

        settings = get_settings()
    except Exception:  # settings that don't load can't leak either
        return []
    return [s.get_secret_value() for s in (settings.smtp_password, settings.audit_key) if s is not None]


class MaskingFilter(logging.Filter):
    """Mask personal data (and configured secrets) in every record that passes through."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a malformed record is logging's business, not ours
            return True
        masked = redact_secrets(mask_text(message), _configured_secrets())
        if masked != message or record.args:
            record.msg, record.args = masked, None
        if record.exc_text:
            record.exc_text = redact_secrets(mask_text(record.exc_text), _configured_secrets())
        return True


def install_log_masking(logger: logging.Logger | None = None) -> MaskingFilter:
    """Attach one `MaskingFilter` to the logger and to each of its handlers (idempotent)."""
    logger = logger or logging.getLogger()
    existing = next((f for f in logger.filters if isinstance(f, MaskingFilter)), None)
    flt = existing or MaskingFilter()
    if existing is None:
        logger.addFilter(flt)
    for handler in logger.handlers:
        if not any(isinstance(f, MaskingFilter) for f in handler.filters):
            handler.addFilter(flt)
    return flt
