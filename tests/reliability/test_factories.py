"""The factories reach every state of the national track through the real events, on both databases."""

from __future__ import annotations

import pytest
from sqlmodel import Session

from states.audit import verify
from states.lifecycle import State
from tests.factories import PATHS, application


@pytest.mark.parametrize("state", list(PATHS), ids=str)
def test_factory_walks_to_every_state(session: Session, state: State) -> None:
    app = application(session, state)
    assert app.state == state
    assert app.audit_count >= 1 + len([e for e in PATHS[state] if e != "recommend*"])
    report = verify(session)
    assert report.ok, report.problems
