"""Unified social credit code (统一社会信用代码), GB 32100-2015.

18 characters: registration authority (1), entity type (1), administrative division (6 digits),
organisation code (9), check character (1). The alphabet leaves out I, O, S, V and Z.
"""

from __future__ import annotations

from operator import mul

ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
_VALUE = {ch: i for i, ch in enumerate(ALPHABET)}
_ALPHABET_SET = frozenset(ALPHABET)


class CreditCodeError(ValueError):
    """The text is not a valid GB 32100-2015 code; the message says which part is wrong."""


def check_character(first17: str) -> str:
    """The check character for the first 17 characters (GB 32100-2015 §4.3)."""
    if len(first17) != len(WEIGHTS):
        raise ValueError(f"the check character is computed over 17 characters, got {len(first17)}")
    # map, not a generator: every registration and draft of a bulk batch computes it
    total = sum(map(mul, map(_VALUE.__getitem__, first17), WEIGHTS))
    return ALPHABET[(31 - total % 31) % 31]


def validate_credit_code(code: str) -> str:
    """Return the normalised (upper-case, stripped) code or raise `CreditCodeError`."""
    if not isinstance(code, str):
        raise CreditCodeError("credit code must be text")
    normalised = code.strip().upper()
    if len(normalised) != 18:
        raise CreditCodeError(f"credit code must have 18 characters, got {len(normalised)}")
    if not _ALPHABET_SET.issuperset(normalised):
        bad = sorted({ch for ch in normalised if ch not in _VALUE})
        raise CreditCodeError(f"credit code has characters outside GB 32100-2015's set: {''.join(bad)}")
    if not normalised[2:8].isdigit():
        raise CreditCodeError("credit code characters 3-8 must be the 6-digit administrative division code")
    expected = check_character(normalised[:17])
    if normalised[17] != expected:
        raise CreditCodeError(f"credit code check character is {normalised[17]}, expected {expected}")
    return normalised


def make_credit_code(division: str, organisation: str, authority: str = "9", kind: str = "1") -> str:
    """Build a valid code from its parts (tests and the synthetic season)."""
    body = f"{authority}{kind}{division}{organisation}"
    if len(body) != 17:
        raise CreditCodeError("parts must make 17 characters")
    return body + check_character(body)
