"""Medications: any name, an ATC code or a class, classified into the vocabulary's classes.

A case may list a drug by a name the vocabulary knows (v1), by a generic or brand name of
``rules/intake/medications.yaml``, by an ATC code, or by a medication class. A drug can have
several classes (oxycodone: opioid and analgesic); an ATC code takes the classes of its longest
matching prefix, and aspirin by name is an antiplatelet only (clinical-v2.1 §3.1: an analgesic
only when the case gives N02BA01 or the class for it). A name nothing classifies is kept and
reported as unrecognised; it never changes a plan by itself.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cached_property, lru_cache
from pathlib import Path
from typing import Any

from ..errors import Problem, key_text, shown
from ..kb.vocabulary import Vocabulary
from . import drug_names, intake_dir, load_table
from .drug_names import MAX_NAME, NAME_SUFFIXES, name_keys  # noqa: F401  (the names a case is read by)

TABLE_FILE = "medications.yaml"
# a class that implies another, whatever named it (clinical-v2.1 §3: every opioid is also an
# analgesic; an nsaid given for aspirin makes it count as an analgesic)
IMPLIED_CLASSES = {"opioid": ("analgesic",), "nsaid": ("analgesic",)}
# an ATC code at any of its five levels: B, B01, B01A, B01AF, B01AF02
ATC_PATTERN = r"^[A-Z]([0-9]{2}([A-Z]([A-Z]([0-9]{2})?)?)?)?$"
_ATC = re.compile(ATC_PATTERN)


@dataclass(frozen=True)
class Drug:
    name: str                         # the generic name
    atc: tuple[str, ...]
    classes: tuple[str, ...]          # from the ATC prefixes, in table order


@dataclass(frozen=True)
class DrugTable:
    prefixes: dict[str, tuple[str, ...]]   # ATC prefix -> classes
    drugs: dict[str, Drug]                 # lower-case generic or brand name -> drug

    def atc_classes(self, code: str) -> tuple[str, ...]:
        """The classes of the longest prefix the ATC code starts with (clinical-v2.1 §3.1)."""
        matching = [prefix for prefix in self.prefixes if code.startswith(prefix)]
        return self.prefixes[max(matching, key=len)] if matching else ()

    def classes_under(self, code: str) -> tuple[str, ...]:
        """The classes of the prefixes a group-level code covers (B01A: anticoagulant, antiplatelet)."""
        return tuple(dict.fromkeys(c for prefix, classes in self.prefixes.items()
                                   if prefix.startswith(code) for c in classes))

    @cached_property
    def codes(self) -> frozenset[str]:
        """The full ATC codes of the drugs in the table."""
        return frozenset(code for drug in self.drugs.values() for code in drug.atc)

    def find(self, name: str) -> Drug | None:
        return self.drugs.get(" ".join(name.lower().split()))


def is_atc(code: str) -> bool:
    return bool(_ATC.match(code))


def _as_tuple(value: Any) -> tuple[str, ...]:
    if isinstance(value, str):
        return (value,)
    return tuple(str(v) for v in value or ())


def _texts(value: Any) -> bool:
    """One text or a list of texts (an ATC code, a class, a brand name)."""
    return isinstance(value, str) or value is None or (isinstance(value, list) and all(isinstance(v, str)
                                                                                        for v in value))


def parse_table(data: Any, source: str, classes: tuple[str, ...] | None = None) -> tuple[DrugTable, list[Problem]]:
    """Build the table from its parsed YAML; returns it with the problems found."""
    problems: list[Problem] = []
    if not isinstance(data, dict) or set(data) != {"atc_classes", "drugs"}:
        return DrugTable({}, {}), [Problem(source, "", "not_a_mapping",
                                           "a mapping with the sections atc_classes and drugs")]
    sections = {}
    for section in ("atc_classes", "drugs"):
        sections[section] = data[section] or {}
        if not isinstance(sections[section], dict):
            problems.append(Problem(source, section, "not_a_mapping", f"a mapping, not {type(data[section]).__name__}"))
            sections[section] = {}
    prefixes: dict[str, tuple[str, ...]] = {}
    for prefix, value in sections["atc_classes"].items():
        where = f"atc_classes.{key_text(prefix)}"
        if not _texts(value):
            problems.append(Problem(source, where, "not_a_class", "a medication class or a list of them", value))
            continue
        prefixes[str(prefix)] = _as_tuple(value)
        if not is_atc(str(prefix)):
            problems.append(Problem(source, where, "not_an_atc_code", "not an ATC code or prefix"))
        if classes is not None:
            problems += [Problem(source, where, "unknown_class", f"unknown medication class {shown(c)}")
                         for c in prefixes[str(prefix)] if c not in classes]
    table = DrugTable(prefixes, {})
    for name, spec in sections["drugs"].items():
        where = f"drugs.{key_text(name)}"
        if not isinstance(spec, dict) or set(spec) - {"atc", "brands"} or "atc" not in spec \
                or not _texts(spec["atc"]) or not _texts(spec.get("brands")):
            problems.append(Problem(source, where, "not_a_drug",
                                    "a mapping with atc (one code or a list) and optional brands"))
            continue
        atc = _as_tuple(spec["atc"])
        problems += [Problem(source, where, "not_an_atc_code", f"{shown(code)} is not a full ATC code") for code in atc
                     if not is_atc(code) or len(code) != 7]
        found: list[str] = []
        for code in atc:
            found += [c for c in table.atc_classes(code) if c not in found]
        drug = Drug(str(name), atc, tuple(found))
        for alias in (str(name), *_as_tuple(spec.get("brands"))):
            key = " ".join(alias.lower().split())
            if key in table.drugs and table.drugs[key] != drug:
                problems.append(Problem(source, where, "duplicate_name",
                                        f"the name {shown(alias)} is already {table.drugs[key].name}"))
            table.drugs[key] = drug
    return table, problems


@lru_cache(maxsize=4)
def load_drugs(path: Path | None = None) -> DrugTable:
    """Read rules/intake/medications.yaml once per process; a bad table raises RuleDefinitionError."""
    return load_table(path or intake_dir() / TABLE_FILE, parse_table)


def _known(key: str, vocab: Vocabulary) -> bool:
    return key in vocab.medication_classes or key in vocab.medications or load_drugs().find(key) is not None


def known_keys(name: str, vocab: Vocabulary) -> list[str]:
    """The keys a name is classified by (``drug_names.known_keys``): the name itself when the
    vocabulary or the drug table knows it; else the known names it holds - outside and inside its
    brackets, cut before its strength or dosing instructions, without a salt or dose form, each
    known part of a combination ("/", "+"; "-" when every part is known); else the name itself
    (unrecognised)."""
    return drug_names.known_keys(name, lambda key: _known(key, vocab))


def classify(name: str, atc: str | None, cls: str | None, vocab: Vocabulary) -> tuple[tuple[str, ...], bool]:
    """(classes, recognised) of one listed medication.

    The order is: the class given, the v1 vocabulary's class of the name, the classes of the
    ATC code given, then those of the table's drug; only classes the vocabulary knows count.
    A drug the table knows is recognised even when none of its classes matters here; an ATC code
    neither a class prefix nor a drug of the table knows (a group such as B01A, a drug outside the
    table) leaves the medication unrecognised (case-format §5: "anything else").
    """
    keys = known_keys(name, vocab)
    found: list[str] = []
    recognised = False
    if cls is not None:
        found.append(cls)
        recognised = True
    for key in keys:
        if key in vocab.medication_classes:
            found.append(key)
            recognised = True
        if key in vocab.medications:
            found.append(vocab.medications[key])
            recognised = True
    table = load_drugs()
    if atc is not None:  # a code classifies when a class prefix or a drug of the table knows it
        by_code = table.atc_classes(atc)
        found += by_code
        recognised |= bool(by_code) or atc in table.codes
    for key in keys:
        drug = table.find(key)
        if drug is not None:
            found += drug.classes
            recognised = True
    found += [implied for c in list(found) for implied in IMPLIED_CLASSES.get(c, ())]
    known = set(vocab.medication_classes)
    return tuple(c for c in dict.fromkeys(found) if c in known), recognised
