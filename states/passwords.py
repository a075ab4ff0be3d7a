"""Passwords: Argon2id hashes only (argon2-cffi), a length policy, and input normalisation.

The plain password lives only in memory for the call that checks it: never stored, logged or put on a
command line (OWASP ASVS V2.1, V2.4).
"""

from __future__ import annotations

import re
import unicodedata

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from models.errors import InvalidInput

# argon2-cffi's default is Argon2id with RFC 9106's low-memory parameters (t=3, 64 MiB, p=4).
HASHER = PasswordHasher()
MIN_LENGTH = 12  # ASVS V2.1.1
MAX_LENGTH = 256  # a bound, so a megabyte "password" can't tie up the hasher
_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
_EMAIL = re.compile(rf"^[^@\s]{{1,64}}@{_LABEL}(?:\.{_LABEL})+$")
# Compared against when the e-mail is unknown, so a wrong address costs as much time as a wrong password.
_DUMMY: list[str] = []


def check_password_policy(password: str) -> str:
    if not isinstance(password, str) or not MIN_LENGTH <= len(password) <= MAX_LENGTH:
        raise InvalidInput(f"a password has {MIN_LENGTH} to {MAX_LENGTH} characters", rule="password-policy",
                           source="OWASP ASVS V2.1.1")  # fmt: skip
    if any(unicodedata.category(c) == "Cc" for c in password):
        raise InvalidInput("a password has no control characters", rule="password-policy")
    return password


def hash_password(password: str) -> str:
    return HASHER.hash(check_password_policy(password))


def verify_password(password_hash: str, password: str) -> bool:
    """True when the password matches; False otherwise (a malformed stored hash included)."""
    if not isinstance(password, str) or len(password) > MAX_LENGTH:
        return False
    try:
        return HASHER.verify(password_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def burn_time(password: str) -> None:
    """Spend one verification's time on an unknown account (no user enumeration by timing)."""
    if not _DUMMY:
        _DUMMY.append(HASHER.hash("not-a-password-of-anyone"))
    verify_password(_DUMMY[0], password[:MAX_LENGTH] if isinstance(password, str) else "")


def normalise_email(email: str) -> str:
    """Login e-mails are case-insensitive: stored stripped and lower-case."""
    text = (email or "").strip().lower() if isinstance(email, str) else ""
    if len(text) > 254 or not _EMAIL.match(text):
        raise InvalidInput(f"not an e-mail address: {text[:60]!r}", rule="account-email")
    return text


def read_password_text(raw: str) -> str:
    """A password file holds the password on its first line; the line break is not part of it."""
    return raw.split("\n", 1)[0].removesuffix("\r")
