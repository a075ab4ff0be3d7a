"""A chunk of a flow's events through the bulk door (`states.bulk.transition_many`), safe to run again.

Before the door, each item is read against its application's audit history: an event this actor already
fired in the current pass is skipped (a retried task, a re-run flow, a second worker), as is an item whose
application has left the states it names (`only_from`). The rest go through `transition_many` in one
transaction — each still authorised, guarded, audited and chained as `states.service.transition` does it —
so a worker killed mid-chunk leaves nothing half done and its retry applies the chunk once. A chunk that
names one application twice is fired in rounds, each round reading the history the previous one wrote.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any, Literal

from sqlmodel import Session

from models.errors import ConcurrentUpdate, NotFound
from models.tables import Actor
from states.audit import application_histories
from states.bulk import Decision, transition_many
from states.idempotency import already_applied, current_state

if TYPE_CHECKING:
    from flows.common import EventItem, Outcome

ATTEMPTS = 3  # a lost race (ConcurrentUpdate) rolls the round back: read the histories again and decide again
Who = Callable[["EventItem"], Actor]
Result = Literal["applied", "skipped", "refused"]


def fire_chunk(session: Session, items: Sequence[EventItem], who: Who, at: datetime) -> list[Outcome]:
    """Every item's outcome, in the items' order."""
    outcomes: dict[int, Outcome] = {}
    for positions in _rounds(items):
        for attempt in range(ATTEMPTS):
            try:
                outcomes.update(_fire_round(session, [(p, items[p]) for p in positions], who, at))
                break
            except ConcurrentUpdate:
                session.rollback()
                if attempt == ATTEMPTS - 1:
                    raise
    return [outcomes[p] for p in range(len(items))]


def _rounds(items: Sequence[EventItem]) -> list[list[int]]:
    """Positions grouped so that each round names an application once (the k-th mention in round k)."""
    seen: Counter[int] = Counter()
    rounds: list[list[int]] = []
    for position, item in enumerate(items):
        k = seen[item.application_id]
        seen[item.application_id] += 1
        if k == len(rounds):
            rounds.append([])
        rounds[k].append(position)
    return rounds


def _outcome(item: EventItem, result: Result, **fields: Any) -> Outcome:
    from flows.common import Outcome

    return Outcome(application_id=item.application_id, event=item.event, result=result, **fields)


def _fire_round(session: Session, part: list[tuple[int, EventItem]], who: Who, at: datetime) -> dict[int, Outcome]:
    histories = application_histories(session, (item.application_id for _, item in part))
    outcomes: dict[int, Outcome] = {}
    pending: Pending = []
    for position, item in part:
        events = histories.get(item.application_id, [])
        state = current_state(events)
        if not events:
            error = NotFound(f"application {item.application_id} does not exist")
            outcomes[position] = _outcome(item, "refused", from_state=state, rule=error.rule, message=error.message)
        elif already_applied(events, item.event, who(item), key=item.key):
            outcomes[position] = _outcome(item, "skipped", from_state=state, to_state=state, message="already applied")
        elif item.only_from is not None and state not in item.only_from:
            outcomes[position] = _outcome(item, "skipped", from_state=state, to_state=state,
                                          message=f"no longer applies ({state})")  # fmt: skip
        else:
            pending.append((position, item, state))
    session.rollback()  # the reads end here; transition_many opens the write transaction (and locks)
    outcomes.update(_apply(session, pending, who, at))
    return outcomes


Pending = list[tuple[int, "EventItem", str]]  # position in the chunk, the item, the state it was read in


def _apply(session: Session, pending: Pending, who: Who, at: datetime) -> dict[int, Outcome]:
    """The pending items through `transition_many` (one transaction); a refusal is the door's typed error."""
    if not pending:
        return {}
    decisions = [Decision(item.application_id, item.event, who(item), reason=item.reason,
                          data={**item.data, **({"flow_key": item.key} if item.key else {})})
                 for _, item, _ in pending]  # fmt: skip
    report = transition_many(session, decisions, at=at)
    refused = {r.index: r.error for r in report.refused}
    results = iter(report.results)
    outcomes: dict[int, Outcome] = {}
    for index, (position, item, state) in enumerate(pending):
        if index in refused:
            error = refused[index]
            outcomes[position] = _outcome(item, "refused", from_state=state, rule=error.rule, message=error.message)
        else:
            done = next(results)
            outcomes[position] = _outcome(item, "applied", from_state=done.from_state, to_state=done.to_state,
                                          mails_queued=done.mails_queued)  # fmt: skip
    return outcomes
