"""Argon2id at its cheapest in tests: the parameters are argon2-cffi's, the checks are the same."""

from __future__ import annotations

import pytest
from argon2 import PasswordHasher
from argon2.profiles import CHEAPEST


@pytest.fixture(autouse=True)
def cheap_password_hashing(monkeypatch: pytest.MonkeyPatch) -> None:
    from states import passwords

    monkeypatch.setattr(passwords, "HASHER", PasswordHasher.from_parameters(CHEAPEST))
    monkeypatch.setattr(passwords, "_DUMMY", [])
