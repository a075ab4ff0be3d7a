"""GB 32100-2015 unified social credit codes."""

import pytest

from models.credit_code import CreditCodeError, check_character, make_credit_code, validate_credit_code

# Published codes of real enterprises (check characters per GB 32100-2015).
REAL = ["91350100M000100Y43", "91440300708461136T", "91330000742906207U", "91110000802100433B"]


@pytest.mark.parametrize("code", REAL)
def test_published_codes_validate(code: str) -> None:
    assert validate_credit_code(code) == code


def test_lower_case_and_spaces_are_normalised() -> None:
    assert validate_credit_code(" 91350100m000100y43 ") == "91350100M000100Y43"


@pytest.mark.parametrize(
    ("code", "message"),
    [
        ("91310000MA1FL4WX9", "18 characters"),
        ("91310000MA1FL4WX9RR", "18 characters"),
        ("91310000MA1FL4WXIR", "outside GB 32100-2015's set: I"),
        ("913100O0MA1FL4WX9R", "outside"),
        ("91A10000MA1FL4WX9R", "administrative division"),
        ("91350100M000100Y4A", "check character is A, expected 3"),
    ],
)
def test_malformed_codes_name_the_problem(code: str, message: str) -> None:
    with pytest.raises(CreditCodeError, match=message):
        validate_credit_code(code)


def test_every_single_character_change_is_caught() -> None:
    """The check character catches every one-character substitution in the first 17."""
    code = make_credit_code("310118", "MA1FL4WX0")
    alphabet = "0123456789ABCDEFGHJKLMNPQRTUWXY"
    for i in range(17):
        for ch in alphabet:
            if ch == code[i] or (2 <= i < 8 and not ch.isdigit()):
                continue
            mutated = code[:i] + ch + code[i + 1 :]
            assert check_character(mutated[:17]) != code[17] or mutated == code
