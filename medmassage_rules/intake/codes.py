"""ICD-10-CM codes: validation, descriptions, laterality and the map to knowledge-base terms.

The code set comes from ``rules/intake/icd10cm.tsv.gz``, an index generated from the
``simple-icd-10-cm`` package by ``scripts/build_icd10_index.py`` (the package itself takes
about 1.6 s to import; the index loads in a few tens of milliseconds, and only when a case
holds a code). Laterality is read from the code's own description, where ICD-10-CM encodes
it: the character that carries it (1 right, 2 left, 3 bilateral, 0 or 9 unspecified in most
chapters) sits at different positions in different chapters (G56.01, M25.561, S82.101A,
H40.1131), and some categories use other digits (S-codes for displaced and nondisplaced
fractures, eyelids), so the index records the side the tabular list names.
"""

from __future__ import annotations

import difflib
import gzip
import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from ..errors import Problem, RuleDefinitionError, key_text
from . import intake_dir, load_table

INDEX_FILE = "icd10cm.tsv.gz"
MAP_FILE = "icd10-map.yaml"
SIDES = {"R": "right", "L": "left", "B": "bilateral"}
# a code as written: a letter, two characters, optionally a dot and up to four more
_SHAPE = re.compile(r"^[A-Z][0-9][0-9A-Z](\.?[0-9A-Z]{1,4})?$")
# Z3A.08 ... Z3A.42: the weeks of gestation are the code's last two digits
_GESTATION = re.compile(r"^Z3A\.(\d\d)$")
MIN_WEEKS, MAX_WEEKS = 8, 42


@dataclass(frozen=True)
class Code:
    """One valid ICD-10-CM code (or block, or chapter) as the index knows it."""

    code: str                       # with its dot, upper case: "G56.01", "C00-C96"
    description: str
    side: str | None                # right, left or bilateral when the code names one
    lineage: tuple[str, ...]        # the code, then each ancestor up to its chapter


def normalise(raw: str) -> str:
    """Upper case, surrounding blanks dropped, the dot after the third character (g5601 -> G56.01)."""
    text = raw.strip().upper()
    if "-" in text:  # a block such as C00-C96
        return text
    bare = text.replace(".", "")
    return bare if len(bare) <= 3 else f"{bare[:3]}.{bare[3:]}"


class Icd10Index:
    """The code set: each code's parent, side, seventh characters and description.

    The records are sorted by their first field, so a look-up is a binary search of the text
    itself: a case looks up a handful of codes, and parsing all 47,000 lines would cost more.
    """

    def __init__(self, text: str):
        self._text = text if text.endswith("\n") else text + "\n"
        self.source = ""
        start = 0
        while self._text.startswith("#", start):  # the header comments
            end = self._text.index("\n", start)
            if self._text.startswith("# source: ", start):
                self.source = self._text[start + len("# source: "):end]
            start = end + 1
        self._start = start
        self._all: dict[str, tuple[str, str, str, str]] | None = None

    def _line(self, key: str) -> str | None:
        """The record whose first field is ``key`` (binary search over the sorted lines)."""
        text, lo, hi = self._text, self._start, len(self._text)
        while lo < hi:
            mid = (lo + hi) // 2
            begin = max(text.rfind("\n", lo, mid) + 1, lo)
            end = text.index("\n", begin)
            tab = text.find("\t", begin, end)
            field = text[begin:tab if tab >= 0 else end]
            if field == key:
                return text[begin:end]
            if field < key:
                lo = end + 1
            else:
                hi = begin
        return None

    def _row(self, code: str) -> tuple[str, str, str, str] | None:
        if self._all is not None:
            return self._all.get(code)
        line = self._line(code) if code and not code.startswith(("#", "@")) else None
        if line is None:
            return None
        _, parent, side, sevenths, description = line.split("\t", 4)
        return parent, side, sevenths, description

    def _defs(self, code: str) -> dict[str, str] | None:
        line = self._line("@" + code)
        if line is None:
            return None
        return dict(pair.split("=", 1) for pair in line.split("\t")[1:])

    @property
    def _rows(self) -> dict[str, tuple[str, str, str, str]]:
        """Every row, parsed (for suggestions and the check against the package)."""
        if self._all is None:
            rows = {}
            for line in self._text[self._start:].splitlines():
                if line and line[0] != "@":
                    code, parent, side, sevenths, description = line.split("\t", 4)
                    rows[code] = (parent, side, sevenths, description)
            self._all = rows
        return self._all

    def __len__(self) -> int:
        return len(self._rows)

    def _parent(self, code: str) -> str:
        row = self._row(code)
        parent = row[0] if row is not None else ""
        if parent or "." not in code:
            return parent
        return code[:-1].rstrip(".")

    def _lineage(self, code: str) -> tuple[str, ...]:
        out = [code]
        while (parent := self._parent(out[-1])) and parent not in out:
            out.append(parent)
        return tuple(out)

    def _extended(self, code: str) -> Code | None:
        """A code with a seventh character: a leaf padded with X to six characters plus one allowed character."""
        bare = code.replace(".", "")
        if len(bare) != 7:
            return None
        head, char = bare[:6], bare[6]
        for cut in range(6, 2, -1):  # the leaf itself, then with its X placeholders removed
            if cut < 6 and head[cut:] != "X" * (6 - cut):
                break
            base = normalise(head[:cut])
            row = self._row(base)
            if row is not None:
                if char not in row[2]:
                    return None
                lineage = self._lineage(base)
                defs = next((d for c in lineage if (d := self._defs(c)) is not None), {})
                return Code(normalise(bare), f"{row[3]}, {defs.get(char, '')}".rstrip(", "),
                            SIDES.get(row[1]), (normalise(bare), *lineage))
        return None

    def get(self, raw: str) -> Code | None:
        """The code, or None when it is not a valid ICD-10-CM code (a block or chapter is not a code)."""
        code = normalise(raw)
        if "-" in code or code.isdigit():
            return None
        return self.entry(code)

    def entry(self, raw: str) -> Code | None:
        """A code, block ("C00-C96") or chapter number ("2"): what a map key may name."""
        code = normalise(raw)
        row = self._row(code)
        if row is None:
            return self._extended(code)
        return Code(code, row[3], SIDES.get(row[1]), self._lineage(code))

    def suggest(self, raw: str) -> list[str]:
        """Valid codes close to a string that is not one (same category first, then any category)."""
        code = normalise(raw)
        stem = code
        while len(stem) > 3 and self._row(stem) is None:  # the longest valid code the string starts with
            stem = stem[:-1].rstrip(".")
        if self._row(stem) is not None and stem != code:
            siblings = [c for c in self._rows if c.startswith(stem) and len(c) == len(code)]
            close = difflib.get_close_matches(code, siblings, n=3, cutoff=0.5)
            if close:
                return close
        pool = [c for c in self._rows if c[:3] == code[:3] and "-" not in c]
        if not pool:
            pool = [c for c in self._rows if len(c) == 3 and c[0].isalpha()]
        return difflib.get_close_matches(code, pool, n=3, cutoff=0.6)

    def valid_codes(self) -> set[str]:
        """Every valid code, seventh-character codes included (for the check against the package)."""
        out = set()
        for code, (_, _, sevenths, _) in self._rows.items():
            if not code.isdigit() and "-" not in code:
                out.add(code)
            if sevenths:
                bare = code.replace(".", "").ljust(6, "X")
                out.update(normalise(bare + char) for char in sevenths)
        return out


@lru_cache(maxsize=4)
def load_index(path: Path | None = None) -> Icd10Index:
    """Read the shipped code index (once per process)."""
    path = path or intake_dir() / INDEX_FILE
    try:
        return Icd10Index(gzip.decompress(path.read_bytes()).decode("utf-8"))
    except (OSError, ValueError, EOFError) as exc:
        raise RuleDefinitionError([Problem(str(path), "", "unreadable",
                                           f"cannot read the ICD-10-CM index: {exc}")]) from None


@dataclass(frozen=True)
class Mapped:
    """What a code means to the knowledge base: a condition or history item, with fixed attributes."""

    key: str                        # the map key that matched (the code itself, a prefix or a block)
    term: str                       # condition id or history item id
    attributes: dict[str, Any] = field(default_factory=dict)
    acute_only: bool = False        # not for a sequela (a seventh character S): a healed fracture is no recent one


@dataclass(frozen=True)
class CodeMap:
    """rules/intake/icd10-map.yaml: code or prefix -> condition, and -> history item."""

    conditions: dict[str, Mapped]
    history: dict[str, Mapped]
    # code or prefix -> medication classes: a problem-list code of current drug use (Z79.01)
    medications: dict[str, tuple[str, ...]] = field(default_factory=dict)

    def condition(self, code: Code) -> Mapped | None:
        return _match(self.conditions, code)

    def medication_classes(self, code: Code) -> tuple[str, ...]:
        """The medication classes a code records current use of (Z79.01: anticoagulant); () for none."""
        return next((self.medications[a] for a in code.lineage if a in self.medications), ())

    def history_item(self, code: Code) -> Mapped | None:
        mapped = _match(self.history, code)
        if mapped is not None and mapped.acute_only and is_sequela(code):
            return None
        return mapped


def is_sequela(code: Code) -> bool:
    """A code whose seventh character is S: the late effect of an injury or condition, not the thing itself."""
    bare = code.code.replace(".", "")
    return len(bare) == 7 and bare[-1] == "S"


def _match(table: dict[str, Mapped], code: Code) -> Mapped | None:
    """The most specific entry: the code itself, then each ancestor (category, block, chapter)."""
    for ancestor in code.lineage:
        if ancestor in table:
            return table[ancestor]
    return None


_ATTRIBUTES = {"conditions": ("area",),
               "history": ("area", "high_risk", "decompensated", "fragility_fracture", "active", "acute_only")}


def parse_code_map(data: Any, source: str) -> tuple[CodeMap, list[Problem]]:
    """Build the map from its parsed YAML; returns the problems of its shape (not of its codes)."""
    problems: list[Problem] = []
    tables: dict[str, dict[str, Mapped]] = {"conditions": {}, "history": {}}
    if not isinstance(data, dict) or set(data) - {*tables, "medications"}:
        return CodeMap({}, {}), [Problem(source, "", "not_a_mapping",
                                         "a mapping with the sections conditions, history and medications")]
    medications, problems = _medication_section(data.get("medications"), source)
    for section, table in tables.items():
        term_key = "condition" if section == "conditions" else "item"
        entries = data.get(section) or {}
        if not isinstance(entries, dict):
            problems.append(Problem(source, section, "not_a_mapping", f"a mapping, not {type(entries).__name__}"))
            continue
        for key, value in entries.items():
            where = f"{section}.{key_text(key)}"
            if isinstance(value, str):
                value = {term_key: value}
            if not isinstance(value, dict) or not isinstance(value.get(term_key), str):
                problems.append(Problem(source, where, "not_a_term", f"a {term_key} id, or a mapping with {term_key}"))
                continue
            extra = set(value) - {term_key, *_ATTRIBUTES[section]}
            if extra:
                problems.append(Problem(source, where, "unknown_field",
                                        f"unknown attribute(s) {', '.join(sorted(map(key_text, extra)))}"))
            if not isinstance(value.get("area", ""), str):
                problems.append(Problem(source, f"{where}.area", "not_an_id", "an id is text", value["area"]))
                continue
            if str(key) != normalise(str(key)):
                problems.append(Problem(source, where, "not_normalised",
                                        f"write the code upper case with its dot ({normalise(str(key))})"))
            attrs = {k: v for k, v in value.items() if k not in (term_key, "acute_only")}
            table[str(key)] = Mapped(str(key), value[term_key], attrs, value.get("acute_only") is True)
    return CodeMap(tables["conditions"], tables["history"], medications), problems


def _medication_section(entries: Any, source: str) -> tuple[dict[str, tuple[str, ...]], list[Problem]]:
    """The ``medications`` section: code or prefix -> a medication class or a list of them."""
    out: dict[str, tuple[str, ...]] = {}
    problems: list[Problem] = []
    if not isinstance(entries, dict):
        if entries is not None:
            problems.append(Problem(source, "medications", "not_a_mapping", f"a mapping, not {type(entries).__name__}"))
        return out, problems
    for key, value in entries.items():
        where = f"medications.{key_text(key)}"
        classes = [value] if isinstance(value, str) else value
        if not isinstance(classes, list) or not classes or not all(isinstance(c, str) for c in classes):
            problems.append(Problem(source, where, "not_a_class", "a medication class or a list of them", value))
            continue
        if str(key) != normalise(str(key)):
            problems.append(Problem(source, where, "not_normalised",
                                    f"write the code upper case with its dot ({normalise(str(key))})"))
        out[str(key)] = tuple(classes)
    return out, problems


@lru_cache(maxsize=4)
def load_code_map(path: Path | None = None) -> CodeMap:
    """Read rules/intake/icd10-map.yaml (once per process); a bad map raises RuleDefinitionError."""
    return load_table(path or intake_dir() / MAP_FILE, parse_code_map)


def is_code_shaped(raw: str) -> bool:
    return bool(_SHAPE.match(raw.strip().upper()))


def gestation_weeks(code: Code) -> int | None:
    """The weeks of a Z3A.08-Z3A.42 code (Z3A.00, .01 and .49 name no exact week)."""
    match = _GESTATION.match(code.code)
    if match and MIN_WEEKS <= int(match.group(1)) <= MAX_WEEKS:
        return int(match.group(1))
    return None
