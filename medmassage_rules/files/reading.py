"""Safe reading of YAML, JSON and JSON Lines documents.

Only plain data comes out: YAML goes through PyYAML's safe loader with anchors and
aliases refused (they serve no purpose in a case and allow expansion bombs), duplicate
keys are refused in both YAML and JSON, files over a size limit are refused before
they are parsed, and every failure is a :class:`~medmassage_rules.errors.CaseError`
naming the file and, where the parser knows it, the line.
"""

from __future__ import annotations

import json
import os
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import Any, BinaryIO

import yaml

from ..errors import CaseError, Problem, shown
from .guard import note_input

MAX_CASE_BYTES = 1024 * 1024
YAML_SUFFIXES = (".yaml", ".yml")
JSON_SUFFIXES = (".json",)
JSONL_SUFFIXES = (".jsonl",)
CASE_SUFFIXES = YAML_SUFFIXES + JSON_SUFFIXES + JSONL_SUFFIXES


class _NoDuplicateKeys:
    """Constructor mixin: a mapping that repeats a key is an error, not a silent overwrite."""

    def construct_mapping(self, node, deep=False):  # type: ignore[no-untyped-def]
        seen: set[Any] = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=True)  # type: ignore[attr-defined]
            try:
                duplicate = key in seen
            except TypeError:  # an unhashable key: the base class reports it
                break
            if duplicate:
                raise yaml.constructor.ConstructorError(
                    None, None, f"duplicate key {shown(key)}", key_node.start_mark)
            seen.add(key)
        return super().construct_mapping(node, deep=deep)  # type: ignore[misc]


class _StrictSafeLoader(_NoDuplicateKeys, yaml.SafeLoader):
    """PyYAML's pure-Python safe loader, refusing anchors, aliases and duplicate mapping keys."""

    def compose_node(self, parent, index):  # type: ignore[no-untyped-def]
        event = self.peek_event()
        if isinstance(event, yaml.AliasEvent) or getattr(event, "anchor", None):
            raise yaml.composer.ComposerError(
                None, None, "YAML anchors and aliases are not allowed", event.start_mark)
        return super().compose_node(parent, index)


_CSafeLoader: Any = getattr(yaml, "CSafeLoader", None)  # None: PyYAML was built without libyaml

if _CSafeLoader is not None:
    class _StrictCSafeLoader(_NoDuplicateKeys, _CSafeLoader):  # type: ignore[misc, valid-type]
        """libyaml's safe loader (several times faster), refusing shared nodes and duplicate keys.

        libyaml resolves an alias into the node its anchor names; a document whose node
        tree holds any node twice used an alias, and is refused before it is constructed.
        """

        may_share = True  # whether the text can hold an anchor or alias at all (it has & or *)

        def get_single_node(self):  # type: ignore[no-untyped-def]
            node = super().get_single_node()
            if not self.may_share:
                return node
            seen: set[int] = set()
            pending = [node] if node is not None else []
            while pending:
                current = pending.pop()
                if id(current) in seen:
                    raise yaml.composer.ComposerError(
                        None, None, "YAML anchors and aliases are not allowed", current.start_mark)
                seen.add(id(current))
                if isinstance(current, yaml.SequenceNode):
                    pending += current.value
                elif isinstance(current, yaml.MappingNode):
                    pending += [part for pair in current.value for part in pair]
            return node


def _reject_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise ValueError(f"duplicate key {key!r}")
        result[key] = value
    return result


class _Constant:
    """NaN, Infinity or -Infinity where a JSON document holds it, so its field can be named."""

    __slots__ = ("name",)

    def __init__(self, name: str):
        self.name = name

    def __repr__(self) -> str:
        return self.name


class NonFiniteNumberError(ValueError):
    """A JSON document holds NaN or Infinity; ``places`` lists (field path, constant)."""

    def __init__(self, places: list[tuple[str, _Constant]]):
        self.places = places
        super().__init__("; ".join(f"{path or 'document'}: {value!r} is not a number a case may use"
                                   for path, value in places))


def _constants(node: Any, path: str = "") -> Iterator[tuple[str, _Constant]]:
    if isinstance(node, _Constant):
        yield path, node
    elif isinstance(node, dict):
        for key, value in node.items():
            yield from _constants(value, f"{path}.{key}" if path else str(key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from _constants(value, f"{path}[{index}]")


def parse_json(text: str) -> Any:
    """Parse one JSON document: duplicate keys and NaN/Infinity are errors."""
    found: list[str] = []

    def constant(name: str) -> _Constant:
        found.append(name)
        return _Constant(name)

    data = json.loads(text, object_pairs_hook=_reject_duplicates, parse_constant=constant)
    if found:
        raise NonFiniteNumberError(list(_constants(data)))
    return data


def parse_yaml(text: str) -> Any:
    """Parse exactly one YAML document with the strict safe loader.

    libyaml parses it when PyYAML has it; a document that may hold an anchor or alias (it
    has a ``&`` or ``*``, as "PEACE & LOVE" in a rule description does) has its node tree
    checked for shared nodes before it is constructed, and a shared node is refused with its
    line. Without libyaml the pure-Python loader refuses them where they are written.
    """
    loader: Any
    if _CSafeLoader is not None:
        loader = _StrictCSafeLoader(text)
        loader.may_share = "&" in text or "*" in text
    else:
        loader = _StrictSafeLoader(text)
    try:
        return loader.get_single_data()
    finally:
        loader.dispose()


def _kind(mode: int) -> str:
    for test, name in ((stat.S_ISDIR, "a folder"), (stat.S_ISFIFO, "a pipe (FIFO)"), (stat.S_ISCHR, "a device"),
                       (stat.S_ISBLK, "a device"), (stat.S_ISSOCK, "a socket")):
        if test(mode):
            return name
    return "not a regular file"


def open_regular(path: Path, source: str | None = None, *, is_input: bool = True) -> tuple[BinaryIO, int]:
    """Open ``path`` for reading if it is a regular file (after symlinks); returns (file, size).

    A pipe, device or socket is refused before a byte is read: a FIFO would block forever,
    ``/dev/zero`` never ends. Opening is non-blocking, so even a FIFO with no writer returns.
    The file becomes an input of the command (no output may replace it) unless ``is_input`` is
    false: a glance to tell whether a file is an earlier output that a new run may replace.
    """
    source = source or str(path)
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0))
    except OSError as exc:
        raise CaseError([Problem(source, "", "unreadable", f"cannot read file: {exc.strerror or exc}")]) from None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise CaseError([Problem(source, "", "not_a_file", f"{_kind(info.st_mode)}, not a file; refused")])
        if hasattr(os, "set_blocking"):
            os.set_blocking(fd, True)
        if is_input:
            note_input(path, (info.st_dev, info.st_ino))  # no output of this process may replace it
        return os.fdopen(fd, "rb"), info.st_size
    except BaseException:
        os.close(fd)
        raise


def read_bytes(path: Path, limit: int = MAX_CASE_BYTES, source: str | None = None) -> bytes:
    """The bytes of a regular file no larger than ``limit``; the size is checked before reading."""
    source = source or str(path)
    handle, size = open_regular(path, source)
    with handle:
        if size > limit:
            raise CaseError([Problem(source, "", "too_large", f"file is larger than {limit // 1024} KiB "
                                                 f"({size} bytes); refused")])
        try:
            data = handle.read(limit + 1)
        except OSError as exc:
            raise CaseError([Problem(source, "", "unreadable", f"cannot read file: {exc.strerror or exc}")]) from None
    if len(data) > limit:  # the file grew after fstat()
        raise CaseError([Problem(source, "", "too_large", f"file is larger than {limit // 1024} KiB; refused")])
    return data


def read_text(path: Path, limit: int = MAX_CASE_BYTES) -> str:
    """Read a UTF-8 text file (a regular file) no larger than ``limit`` bytes."""
    source = str(path)
    data = read_bytes(path, limit, source)
    if b"\x00" in data:
        raise CaseError([Problem(source, "", "binary", "file is binary (contains NUL bytes), not a case")])
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise CaseError([Problem(source, "", "not_utf8", f"file is not UTF-8 text (byte {exc.start})")]) from None


def parse_document(text: str, source: str, suffix: str) -> Any:
    """Parse a whole YAML or JSON document; any parser failure becomes a CaseError."""
    try:
        if suffix in JSON_SUFFIXES:
            return parse_json(text)
        return parse_yaml(text)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        # the context says what the parser expected ("expected a single document in the
        # stream"), the problem what it found instead; either alone can be meaningless
        message = ", ".join(part for part in (exc.context, exc.problem) if part) or "invalid YAML"
        if "maximum nesting depth" in message:  # libyaml's own limit
            raise CaseError([Problem(source, where, "too_deep", "document is nested too deeply")]) from None
        raise CaseError([Problem(source, where, "invalid_yaml", f"invalid YAML: {message}")]) from None
    except yaml.YAMLError as exc:
        raise CaseError([Problem(source, "", "invalid_yaml", f"invalid YAML: {exc}")]) from None
    except json.JSONDecodeError as exc:
        raise CaseError([Problem(source, f"line {exc.lineno}, column {exc.colno}", "invalid_json",
                                 f"invalid JSON: {exc.msg}")]) from None
    except NonFiniteNumberError as exc:
        raise CaseError([Problem(source, path, "not_a_number",
                                 "invalid JSON: NaN and Infinity are not numbers a case may use",
                                 value) for path, value in exc.places]) from None
    except ValueError as exc:  # a duplicate JSON key, or an integer too long to convert
        kind = "JSON" if suffix in JSON_SUFFIXES else "YAML"
        raise CaseError([Problem(source, "", "invalid_document", f"invalid {kind}: {exc}")]) from None
    except RecursionError:
        raise CaseError([Problem(source, "", "too_deep", "document is nested too deeply")]) from None


def iter_raw_lines(path: Path) -> Iterator[tuple[int, bytes]]:
    """Stream the non-blank lines of a JSON Lines file as (line number, raw bytes).

    A line longer than the case size limit is cut just past the limit (so that
    :func:`parse_json_line` refuses it) and the rest of it is skipped unread into
    memory: the file as a whole, or one huge line, is never loaded at once.
    """
    handle, _ = open_regular(path)
    with handle:
        number = 0
        while raw := handle.readline(MAX_CASE_BYTES + 1):
            number += 1
            if len(raw) > MAX_CASE_BYTES and not raw.endswith(b"\n"):
                while (rest := handle.readline(MAX_CASE_BYTES)) and not rest.endswith(b"\n"):
                    pass
            if raw.strip():
                yield number, raw


def parse_json_line(raw: bytes, number: int, where: str) -> Any:
    """Parse line ``number`` of a JSON Lines file (``where`` is "file:line"); raises CaseError."""
    if len(raw) > MAX_CASE_BYTES:
        raise CaseError([Problem(where, "", "too_large", "line is larger than 1024 KiB; refused")])
    try:
        text = raw.decode("utf-8-sig" if number == 1 else "utf-8")
    except UnicodeDecodeError as exc:
        raise CaseError([Problem(where, "", "not_utf8", f"line is not UTF-8 text (byte {exc.start})")]) from None
    return parse_document(text.rstrip("\r\n"), where, ".json")  # an error then points into the line itself


def iter_json_lines(path: Path) -> Iterator[tuple[int, Any | CaseError]]:
    """Stream a JSON Lines file: yields (line number, parsed object or CaseError).

    Blank lines are skipped. Each line is limited to the case size limit; the file as a
    whole is never loaded at once, so arbitrarily long files use constant memory.
    """
    source = str(path)
    for number, raw in iter_raw_lines(path):
        try:
            yield number, parse_json_line(raw, number, f"{source}:{number}")
        except CaseError as exc:
            yield number, exc
