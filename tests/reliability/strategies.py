"""Hypothesis strategies for hostile input: wrong types, huge strings, Unicode edge cases, header injection."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from hypothesis import strategies as st

HUGE = "汉" * 100_000
SPECIAL_STRINGS = [
    "",
    " ",
    "\x00",
    "\t\n",
    "ACME Ltd\r\nBcc: victim@example.com",  # header injection
    "a@example.cn\r\nBcc: victim@example.com",
    "a@example.cn\nSubject: you won",
    "=?utf-8?b?U3ViamVjdA==?=",
    "\u202egnp.exe",  # right-to-left override
    "\ufeffbom",
    "e\u0301\u0301\u0301",  # combining marks
    "ﬀ",  # upper() grows: ff → FF
    "İstanbul",
    "ß" * 9,  # upper() doubles the length
    "𝔘𝔫𝔦𝔠𝔬𝔡𝔢",
    "👩‍🏭" * 50,
    "９１３１０１１８ＭＡ１ＦＬ４ＷＸ０Ｘ",  # full-width digits and letters
    "' OR 1=1 --",
    "${jndi:ldap://x}",
    "{{ 7*7 }}",
    "<script>alert(1)</script>",
    "../../etc/passwd",
    "2025-07-18T10:00:00",  # a date-time without a time zone
    "2025-13-45",
    "x" * 300,
    "x" * 5000,
    HUGE,
]

special_text = st.sampled_from(SPECIAL_STRINGS)
any_text = st.one_of(special_text, st.text(max_size=60), st.text(alphabet=st.characters(codec="utf-8"), max_size=20))

junk_scalar: st.SearchStrategy[Any] = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.sampled_from([0, -1, 1, 2**31, 2**63, -(2**63)]),
    st.floats(allow_nan=True, allow_infinity=True),
    any_text,
    st.just(datetime(2025, 7, 18, 10, 0)).map(lambda d: d.isoformat()),
)
junk: st.SearchStrategy[Any] = st.recursive(
    junk_scalar,
    lambda inner: st.one_of(st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=8), inner, max_size=3)),
    max_leaves=6,
)


def paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every path to a node of a JSON-like value (dict keys and list indices)."""
    out: list[tuple[Any, ...]] = []
    if isinstance(value, dict):
        for key, child in value.items():
            out.append((*prefix, key))
            out.extend(paths(child, (*prefix, key)))
    elif isinstance(value, list):
        for i, child in enumerate(value):
            out.append((*prefix, i))
            out.extend(paths(child, (*prefix, i)))
    return out


def mutate(value: Any, path: tuple[Any, ...], replacement: Any, delete: bool) -> Any:
    """A deep copy of `value` with the node at `path` replaced (or deleted)."""
    import copy

    result = copy.deepcopy(value)
    parent = result
    for part in path[:-1]:
        parent = parent[part]
    last = path[-1]
    if delete:
        if isinstance(parent, dict):
            del parent[last]
        else:
            parent.pop(last)
    else:
        parent[last] = replacement
    return result


@st.composite
def mutations(draw: st.DrawFn, base: dict[str, Any]) -> tuple[dict[str, Any], str]:
    """A document derived from a valid one by deleting a node or replacing it with junk."""
    where = draw(st.sampled_from(paths(base)))
    delete = draw(st.booleans())
    replacement = None if delete else draw(junk)
    label = f"{'delete' if delete else 'replace'} {'/'.join(map(str, where))}"
    return mutate(base, where, replacement, delete), label
