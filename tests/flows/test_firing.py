"""A flow's chunk of events through the bulk door (flows.firing): what was applied is skipped, an application
named twice in one chunk is read again between its events, a refusal names the door's rule."""

from __future__ import annotations

from models.clock import parse_instant
from tests.flows.conftest import EXCELLENT_CODE, application_file, sh, state_of

ENTERPRISE = f"enterprise@{EXCELLENT_CODE}"


def _draft() -> int:
    from models.database import session_scope
    from programmes.application_file import ApplicationFile
    from states.intake import create_from_file, resolve_actor

    with session_scope() as session:
        parsed = ApplicationFile.model_validate(application_file("excellent"))
        draft = create_from_file(
            session, parsed, actor=resolve_actor(session, ENTERPRISE), at=parse_instant(sh("2026-06-30T10:00"))
        )
        session.commit()
        assert draft.id is not None
        return draft.id


def test_a_chunk_applies_once_skips_what_was_applied_and_names_refusals(world: str) -> None:
    from flows.common import EventItem, fire_batch

    draft = _draft()
    at = parse_instant(sh("2026-07-01T10:00"))
    events = [(draft, "submit"), (draft, "submit"), (999_999, "submit"), (draft, "withdraw")]
    items = [EventItem(application_id=ident, event=event) for ident, event in events]

    outcomes = fire_batch(items, ENTERPRISE, at)

    assert [(o.result, o.from_state, o.to_state) for o in outcomes[:2]] == [
        ("applied", "draft", "submitted"), ("skipped", "submitted", "submitted")]  # fmt: skip
    assert outcomes[1].message == "already applied"
    assert (outcomes[2].result, outcomes[2].rule) == ("refused", "not-found")
    assert outcomes[3].result == "applied" and outcomes[3].from_state == "submitted"  # read after the submit
    assert state_of(draft) == outcomes[3].to_state

    again = fire_batch(items[:1], ENTERPRISE, at)  # a retried task: nothing twice
    assert (again[0].result, again[0].message) == ("skipped", "already applied")
