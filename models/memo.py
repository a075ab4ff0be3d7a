"""Look-ups remembered for one batch transaction (`states.bulk`): a unit's officers, a deadline extension.

A batch acts at one instant and commits once, so what it reads for its first row holds for its last;
outside a batch (`session.info` without the memo) every look-up goes to the database as before.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

from sqlmodel import Session

T = TypeVar("T")
KEY = "factory_review_batch_memo"


def remembered(session: Session, key: Hashable, compute: Callable[[], T]) -> T:
    """`compute()`, once per key within a batch; every time outside one."""
    memo: dict[Hashable, Any] | None = session.info.get(KEY)
    if memo is None:
        return compute()
    if key not in memo:
        memo[key] = compute()
    return memo[key]  # type: ignore[no-any-return]


@contextmanager
def batch_memo(session: Session) -> Iterator[None]:
    session.info[KEY] = {}
    try:
        yield
    finally:
        session.info.pop(KEY, None)
