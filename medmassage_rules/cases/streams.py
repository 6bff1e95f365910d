"""Cases read from a stream - standard input - rather than a file.

A stream has no name and no suffix: it is read up to the size limit of a case file (one
byte more tells it is too large), decoded as UTF-8 (a byte-order mark is dropped), parsed
as JSON when it starts with ``{`` and as YAML otherwise, and validated. Every failure is a
:class:`~medmassage_rules.errors.CaseError` whose problems carry a code (``too_large``,
``not_utf8``, ``invalid_yaml`` ...), with ``<stdin>`` as their source.
"""

from __future__ import annotations

from pathlib import Path
from typing import IO, Any

from ..errors import CaseError, Problem
from ..files.reading import MAX_CASE_BYTES, parse_document
from ..kb.vocabulary import Vocabulary
from .loading import load_case, validate_case
from .models import Case

STDIN = "-"  # the case path that names standard input
STDIN_SOURCE = "<stdin>"


def _read_bounded(stream: IO[Any], limit: int) -> bytes:
    """At most ``limit + 1`` bytes of ``stream``: binary, or text (its buffer when it has one)."""
    raw = getattr(stream, "buffer", stream)
    data = raw.read(limit + 1)
    if isinstance(data, str):  # a text stream without a buffer (io.StringIO): its characters as UTF-8
        data = data.encode("utf-8", "surrogatepass")
    return bytes(data)


def read_case_stream(stream: IO[Any], vocab: Vocabulary, source: str = STDIN_SOURCE) -> Case:
    """The case a stream holds (YAML, or JSON when it starts with ``{``), validated."""
    data = _read_bounded(stream, MAX_CASE_BYTES)
    if len(data) > MAX_CASE_BYTES:
        raise CaseError([Problem(source, "", "too_large",
                                 f"input is larger than {MAX_CASE_BYTES // 1024} KiB; refused")])
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise CaseError([Problem(source, "", "not_utf8", f"input is not UTF-8 text (byte {exc.start})")]) from None
    suffix = ".json" if text.lstrip().startswith("{") else ".yaml"
    return validate_case(parse_document(text, source, suffix), source, vocab)


def load_case_or_stream(case: str | Path, vocab: Vocabulary, stdin: IO[Any]) -> Case:
    """The case of a case file, or of ``stdin`` when the path is ``-``."""
    if str(case) == STDIN:
        return read_case_stream(stdin, vocab)
    return load_case(case, vocab)
