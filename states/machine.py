"""The `transitions` machine, bound to an adapter (it cannot live on a SQLModel row: pydantic refuses
its generated attributes). One machine definition per track is built once and shared; each transition
adds the adapter as a model, fires the trigger, and removes it.

Branch conditions (`when`) and guards both run as transitions `conditions`: a `when` returning False
passes to the next row with the same trigger; a guard raises a typed error, which aborts the trigger.
"""

from __future__ import annotations

import threading
from functools import cache
from typing import Any

from transitions import EventData, Machine, MachineError

from models.enums import Track
from models.errors import TransitionRefused
from states.effects import EFFECTS
from states.guards import EVIDENCE, GUARDS, GuardContext, lookup_condition
from states.lifecycle import TABLES, State, Step, states_for, steps_for


class ApplicationAdapter:
    """What the machine sees: a state attribute and the guard context of the transition in flight."""

    def __init__(self, ctx: GuardContext) -> None:
        self.ctx = ctx
        self.state = ctx.application.state
        self.step_taken: Step | None = None


class _Slot(ApplicationAdapter):
    """A model added to a shared machine once and reused by one transition at a time: `add_model` binds
    every trigger and state callback to the model (the bulk door's 500-row batches spent a tenth of their
    time there), so `fire` lends an idle slot the adapter's context instead of adding the adapter."""

    def __init__(self) -> None:  # no context until lent
        self.state = State.DRAFT.value
        self.step_taken = None


def _adapter(event: EventData) -> ApplicationAdapter:
    model = event.model
    assert isinstance(model, ApplicationAdapter)
    return model


def _when(name: str) -> Any:
    predicate = lookup_condition(name)
    assert predicate is not None, name  # checked by missing_names at assembly

    def check(event: EventData) -> bool:
        return predicate(_adapter(event).ctx)

    check.__name__ = f"when_{name}"
    return check


def _guard(name: str) -> Any:
    fn = GUARDS[name]

    def check(event: EventData) -> bool:
        fn(_adapter(event).ctx)  # raises a typed ReviewError to refuse
        return True

    check.__name__ = f"guard_{name}"
    return check


def _record(step: Step) -> Any:
    def before(event: EventData) -> None:
        _adapter(event).step_taken = step
        _adapter(event).ctx.step = step

    return before


def missing_names(steps: tuple[Step, ...] | None = None) -> list[str]:
    """Guard, condition, evidence and effect names the tables (or `steps`) use but nobody registered
    (checked when the system is assembled, when a season's table is registered, and in tests)."""
    rows = steps if steps is not None else tuple(s for table in TABLES.values() for s in table)
    missing: set[str] = set()
    for step in rows:
        missing |= {g for g in step.guards if g not in GUARDS}
        missing |= {w for w in step.when if lookup_condition(w) is None}
        missing |= {r for r in step.records if r not in EVIDENCE}
        missing |= {e for e in step.effects if e not in EFFECTS}
    return sorted(missing)


@cache
def machine_for(key: str) -> Machine:
    """The shared machine of a table (`states.lifecycle.table_key`), built from its rows."""
    steps = steps_for(key)
    transitions = [
        {
            "trigger": step.event,
            "source": [s.value for s in step.sources],
            "dest": step.dest.value,
            "conditions": [_when(w) for w in step.when] + [_guard(g) for g in step.guards],
            "before": _record(step),
        }
        for step in steps
    ]
    return Machine(
        model=None,
        states=[s.value for s in states_for(key)],
        transitions=transitions,
        initial=State.DRAFT.value,
        auto_transitions=False,  # generated to_<state>() would bypass every guard
        send_event=True,
        ignore_invalid_triggers=False,
    )


_LOCK = threading.Lock()
_IDLE: dict[Machine, list[_Slot]] = {}  # per machine, the slots not lent out (guarded by _LOCK)


def _refused(message: str, state: str, event: str) -> TransitionRefused:
    source = "the lifecycle table (`factory-review diagram`)"
    return TransitionRefused(message, rule="lifecycle", source=source, state=state, event=event)


def _lend(machine: Machine) -> _Slot:
    with _LOCK:  # add_model mutates the shared machine; a slot is lent to one transition at a time
        idle = _IDLE.setdefault(machine, [])
        if idle:
            return idle.pop()
        slot = _Slot()
        machine.add_model(slot, initial=slot.state)
        return slot


def fire(key: str, adapter: ApplicationAdapter, event: str) -> Step:
    """Fire `event` on the adapter; return the row taken. Raises TransitionRefused or a guard's error."""
    machine = machine_for(key)
    slot = _lend(machine)
    slot.ctx, slot.state, slot.step_taken = adapter.ctx, adapter.state, None
    try:
        try:
            moved = getattr(slot, event)()
        except (MachineError, AttributeError) as exc:
            raise _refused(f"'{event}' is not allowed from state '{slot.state}'", slot.state, event) from exc
        adapter.state, adapter.step_taken = slot.state, slot.step_taken
        if not moved or adapter.step_taken is None:
            raise _refused(f"no branch of '{event}' applies from state '{adapter.state}'", adapter.state, event)
        return adapter.step_taken
    finally:
        del slot.ctx  # the slot keeps no session, row or actor while idle
        with _LOCK:
            _IDLE[machine].append(slot)


class _DiagramModel:
    """A bare model for the diagram machine (it draws from its first model)."""


def mermaid(key: str = Track.NATIONAL.value) -> str:
    """The state diagram of a table, via transitions' mermaid export."""
    from transitions.extensions.diagrams import GraphMachine

    steps = steps_for(key)
    graph = GraphMachine(
        model=_DiagramModel(),
        states=[s.value for s in states_for(key)],
        transitions=[
            {
                "trigger": s.event,
                "source": [x.value for x in s.sources],
                "dest": s.dest.value,
                "conditions": list(s.when),
            }
            for s in steps
        ],
        initial=State.DRAFT.value,
        auto_transitions=False,
        graph_engine="mermaid",
        title=f"factory-review lifecycle: {key}",
        show_conditions=True,
    )
    return str(graph.get_combined_graph().draw(None))
