"""Limits on everything that comes in, declared once: files, CLI options, flow parameters, web forms.

Every breach is an `InvalidInput` (exit 2) whose one line names the field and the limit, raised before
anything is written. The API for a door:

    data = load_file_bounded(path)               # a YAML/JSON file: size, aliases, depth, lists, text
    data = load_yaml_bounded(text, source="form") # the same for text already in memory
    check_tree(data, field="enterprises")         # a parsed value from anywhere (JSON body, flow parameter)
    name = check_text("name", value)              # one text field (a form field, a CLI option)
    BoundedText, ShortText                        # pydantic types applying `check_text` to a model field

Why each limit: a YAML alias bomb expands exponentially when walked (billion laughs), so aliases are
bounded and the walk counts shared nodes as often as they are reached; a deep nesting overflows the
recursive parser; a NUL byte is refused by PostgreSQL text columns (a `DataError`, not a typed error) and
other control characters forge log lines or headers.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Annotated, Any

import yaml
from pydantic import AfterValidator

from models.errors import InvalidInput

MAX_FILE_BYTES = 2_000_000  # an application file with every checklist item is ~10 kB; a 2,400-enterprise list ~1 MB
MAX_TEXT = 10_000  # characters in one field (a reason, a scenario description)
MAX_SHORT_TEXT = 200  # names, titles, contacts: the width of their database columns
MAX_LIST = 5_000  # items in one list (a batch of enterprises; a single application has far fewer)
MAX_APPLICATION_LIST = 500  # scenario instances (or segments, modes) in one application: the guide has ~200
MAX_DEPTH = 20  # nesting of mappings and lists
MAX_NODES = 100_000  # values in one document, each alias counted every time it is reached
MAX_ALIASES = 50  # YAML `*alias` references in one document
MAX_ATTACHMENT_BYTES = 10 * 1024 * 1024  # one uploaded file (a scanned 申报书 chapter is a few MB)
MAX_APPLICATION_ATTACHMENT_BYTES = 40 * 1024 * 1024  # every file of one application together
RULE = "input-limit"

# C0 controls except TAB, LF, CR (multi-line reasons keep their line breaks), DEL, and the C1 NEL.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\x85]")
_CONTROL_NAMES = {"\x00": "NUL", "\x7f": "DEL", "\x1b": "ESC", "\x85": "NEL"}


def _control_name(char: str) -> str:
    return _CONTROL_NAMES.get(char, f"U+{ord(char):04X}")


def _refuse(field: str, what: str) -> InvalidInput:
    return InvalidInput(f"{field}: {what}", rule=RULE)


def check_text(field: str, value: str, *, max_length: int = MAX_TEXT) -> str:
    """Return `value` unchanged, or raise `InvalidInput` naming `field` (too long, or a control character)."""
    if len(value) > max_length:
        raise _refuse(field, f"{len(value):,} characters, more than the limit of {max_length:,}")
    found = _CONTROL.search(value)
    if found:
        raise _refuse(field, f"contains the control character {_control_name(found.group())} (not allowed)")
    return value


def _path(link: Any) -> str:
    """`root.key[3].name` from the linked (parent, key) pairs the walk keeps (formatted only on error)."""
    parts: list[str] = []
    while isinstance(link, tuple):
        link, key = link
        parts.append(f"[{key}]" if isinstance(key, int) else f".{key}")
    return str(link) + "".join(reversed(parts))


def _check_container(item: dict[Any, Any] | list[Any] | tuple[Any, ...], link: Any) -> None:
    if len(item) > MAX_LIST:
        raise _refuse(_path(link), f"{len(item):,} entries, more than the limit of {MAX_LIST:,}")
    if isinstance(item, dict):
        for key in item:
            name = str(key)
            if len(name) > MAX_SHORT_TEXT or _CONTROL.search(name):
                check_text(f"{_path(link)} key", name, max_length=MAX_SHORT_TEXT)


def _children(item: Any) -> Any:
    return item.values() if isinstance(item, dict) else item


def _finish(item: Any, sizes: dict[int, tuple[int, int]]) -> tuple[int, int]:
    """(values once aliases are expanded, height) of a container whose children are all measured."""
    count, height = 1, 0
    for child in _children(item):
        if isinstance(child, dict | list | tuple):
            child_count, child_height = sizes[id(child)]
            count, height = count + child_count, max(height, child_height)
        else:
            count += 1
    return count, height + 1


def _plain_count(item: Any, depth: int, seen: set[int]) -> int | None:
    """The values of `item` (itself included) if it is a tree within every limit that shares no container;
    None for anything else, which `check_tree`'s walk then judges and names. Recursion is safe here: it
    stops at MAX_DEPTH."""
    if isinstance(item, str):
        return None if len(item) > MAX_TEXT or _CONTROL.search(item) else 1
    if not isinstance(item, dict | list | tuple):
        return 1
    if depth >= MAX_DEPTH or len(item) > MAX_LIST or id(item) in seen:
        return None
    seen.add(id(item))
    if isinstance(item, dict):
        for key in item:
            name = str(key)
            if len(name) > MAX_SHORT_TEXT or _CONTROL.search(name):
                return None
    count = 1
    for child in _children(item):
        below = _plain_count(child, depth + 1, seen)
        if below is None:
            return None
        count += below
    return count


def check_tree(value: Any, *, field: str = "input") -> Any:
    """Check a parsed document and return it, or raise on the first breach (depth, list, text, values).

    Iterative (a hostile depth cannot overflow the stack) and each shared node (a YAML alias) is checked
    once: its expanded size is computed from its parts, so a billion-laughs document costs its own size,
    never its expansion, and is refused when the expansion exceeds MAX_NODES.

    A plain tree within the limits (every registration of a bulk batch) is passed by `_plain_count`'s
    walk, a third of the cost; whatever it doesn't pass gets the full walk, which finds the breach."""
    count = _plain_count(value, 0, set())
    if count is not None and count <= MAX_NODES:  # the root holds the most values: no container exceeds it
        return value
    sizes: dict[int, tuple[int, int]] = {}
    started: set[int] = set()
    stack: list[tuple[Any, Any, int, bool]] = [(value, field, 0, False)]
    while stack:
        item, link, depth, finished = stack.pop()
        if isinstance(item, str):
            if len(item) > MAX_TEXT or _CONTROL.search(item):
                check_text(_path(link), item)
            continue
        if not isinstance(item, dict | list | tuple):
            continue
        key = id(item)
        if finished:
            sizes[key] = count_height = _finish(item, sizes)
            if count_height[0] > MAX_NODES:
                raise _refuse(field, f"more than {MAX_NODES:,} values (aliases counted as expanded)")
            continue
        if key in sizes:  # shared and already checked: only its place may make it too deep
            if depth + sizes[key][1] > MAX_DEPTH:
                raise _refuse(_path(link), f"nested deeper than the limit of {MAX_DEPTH} levels")
            continue
        if key in started:  # started and not finished: an ancestor (a YAML alias to itself)
            raise _refuse(_path(link), "refers to itself (a recursive YAML alias)")
        if depth >= MAX_DEPTH:
            raise _refuse(_path(link), f"nested deeper than the limit of {MAX_DEPTH} levels")
        _check_container(item, link)
        started.add(key)
        stack.append((item, link, depth, True))
        keys = item.keys() if isinstance(item, dict) else range(len(item))
        stack.extend((child, (link, k), depth + 1, False) for k, child in zip(keys, _children(item), strict=True))
    return value


class AliasBound:
    """Mix into a PyYAML loader (before the loader class) to refuse more than MAX_ALIASES aliases while
    composing, before anything is expanded: `class SeasonLoader(AliasBound, yaml.SafeLoader)`."""

    aliases = 0

    def compose_node(self, parent: Any, index: Any) -> Any:
        if self.check_event(yaml.AliasEvent):  # type: ignore[attr-defined]
            self.aliases += 1
            if self.aliases > MAX_ALIASES:
                raise _refuse("document", f"more than {MAX_ALIASES} YAML aliases (*name), the limit")
        return super().compose_node(parent, index)  # type: ignore[misc]


class BoundedLoader(AliasBound, yaml.SafeLoader):
    """PyYAML's SafeLoader (no object construction) with the alias bound."""


def load_yaml_bounded(text: str, *, source: str = "input") -> Any:
    """Parse YAML text safely within the limits; `source` names the file or form in messages."""
    check_size(source, len(text.encode("utf-8")))
    try:
        loader = BoundedLoader(text)
        try:
            data = loader.get_single_data()
        finally:
            loader.dispose()
    except InvalidInput as exc:
        raise _refuse(source, exc.message) from None
    except RecursionError:
        raise _refuse(source, f"nested deeper than the limit of {MAX_DEPTH} levels") from None
    except (yaml.YAMLError, ValueError, TypeError, OverflowError) as exc:  # a value PyYAML can't build: 2025-13-45
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise InvalidInput(f"{source}: not valid YAML: {first}", rule="input-file") from None
    return check_tree(data, field=source)


def load_json_bounded(text: str, *, source: str = "input") -> Any:
    """Parse JSON text within the limits (JSON has no aliases; depth and size still apply)."""
    check_size(source, len(text.encode("utf-8")))
    try:
        data = json.loads(text)
    except RecursionError:
        raise _refuse(source, f"nested deeper than the limit of {MAX_DEPTH} levels") from None
    except ValueError as exc:
        raise InvalidInput(f"{source}: not valid JSON: {str(exc).splitlines()[0]}", rule="input-file") from None
    return check_tree(data, field=source)


def check_size(source: str, size: int) -> None:
    if size > MAX_FILE_BYTES:
        raise _refuse(source, f"{size:,} bytes, more than the limit of {MAX_FILE_BYTES:,}")


def load_file_bounded(path: str | Path) -> Any:
    """Read a YAML or JSON file (by suffix; YAML otherwise) within the limits, size checked before reading."""
    path = Path(path)
    try:
        if not path.is_file():
            raise InvalidInput(
                f"{path}: no such file" if not path.exists() else f"{path}: not a file", rule="input-file"
            )
        check_size(str(path), path.stat().st_size)
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise InvalidInput(f"{path}: not UTF-8 text (byte {exc.start})", rule="input-file") from None
    except OSError as exc:
        raise InvalidInput(f"{path}: cannot read: {exc.strerror or type(exc).__name__}", rule="input-file") from None
    if path.suffix.lower() == ".json":
        return load_json_bounded(text, source=str(path))
    return load_yaml_bounded(text, source=str(path))


def check_arguments(args: Sequence[str]) -> None:
    """Command-line arguments and option values: each within MAX_TEXT, no control characters.
    The message names the option (`--reason`) whose value breaks the limit."""
    previous = "argument"
    for arg in args:
        name, value = previous, arg
        if arg.startswith("--") and "=" in arg:
            name, value = arg.split("=", 1)
        check_text(name, value)
        previous = arg if arg.startswith("-") and "=" not in arg else "argument"


def _text(value: str) -> str:
    return check_text("text", value)


def _short(value: str) -> str:
    return check_text("text", value, max_length=MAX_SHORT_TEXT)


# Pydantic field types for models that are a door (flow parameters, application files, web forms).
# Pydantic reports the field's location itself; the message names the limit.
BoundedText = Annotated[str, AfterValidator(_text)]
ShortText = Annotated[str, AfterValidator(_short)]
