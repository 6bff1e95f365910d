"""What is asked about: an id, a label or an abbreviation resolved to an explainable plan item.

A modality, a target, an area, a status, or one of the topics ``status`` and ``minutes``;
``modality:``, ``target:``, ``area:`` and ``status:`` prefixes are allowed. An id of the
vocabulary that is no plan item raises :class:`NotExplainableError`, an unknown one
:class:`~medmassage_rules.errors.UnknownIdError` with the nearest ids (one longer than any id
can be, :class:`TooLongIdError`, shown cut with its length).
"""

from __future__ import annotations

import difflib
import re

from ..errors import MedMassageError, UnknownIdError, shown
from ..kb.knowledge_base import KnowledgeBase

TOPICS = ("status", "minutes")
MAX_ID = 200   # characters: no id of a knowledge base is longer; a longer one is named cut, not echoed whole
KIND = "modality, target or area"


class NotExplainableError(MedMassageError):
    """An id of the vocabulary that is not a plan item (a condition, a finding ...)."""

    def __init__(self, value: str, kind: str):
        self.value = value
        super().__init__(f"{value!r} is a {kind}, not a plan item: ask about a modality, a target, an area, "
                         "a status, 'status' or 'minutes'")


class TooLongIdError(UnknownIdError):
    """An id longer than any id can be: the message shows its start and its length, not the whole of it."""

    def __init__(self, value: str):
        MedMassageError.__init__(self, f"unknown {KIND} id {shown(value)}: an id is at most {MAX_ID} "
                                       f"characters (got {len(value)})")
        self.value = value[:MAX_ID]
        self.kind = KIND
        self.suggestions = []


def resolve_item(kb: KnowledgeBase, item_id: str) -> tuple[str, str]:
    """(kind, id) of an explainable item; unknown ids raise UnknownIdError with the nearest ids."""
    v = kb.vocabulary
    raw = item_id.strip()
    if len(raw) > MAX_ID:
        raise TooLongIdError(raw)
    kind, _, rest = raw.partition(":")
    if rest and kind in ("modality", "target", "area", "status"):
        raw = rest
    if raw.lower() in TOPICS:
        return raw.lower(), raw.lower()
    names = item_names(kb)
    for key in (raw, raw.lower(), name_key(raw)):
        if key in names:
            return names[key]
    known = v.all_ids()
    if raw in known or raw in v.medication_classes or raw in v.medications:
        raise NotExplainableError(raw, known.get(raw, "medication").replace("_", " "))
    choices = [*TOPICS, *v.modalities, *v.targets, *v.areas, *v.statuses]
    raise UnknownIdError(raw, KIND,
                         difflib.get_close_matches(raw, choices, n=3, cutoff=0.6))


def name_key(text: str) -> str:
    """'Swedish massage', 'swedish-massage' and 'SWEDISH_MASSAGE' all read 'swedish massage'."""
    return " ".join(text.lower().replace("_", " ").replace("-", " ").split())


def item_names(kb: KnowledgeBase) -> dict[str, tuple[str, str]]:
    """Every way to name an explainable item: its id (any case), its label, an abbreviation in
    the label's parentheses ('NMT'), the label without it. The first item to claim a name keeps it."""
    v = kb.vocabulary
    names: dict[str, tuple[str, str]] = {}
    for kind, ids in (("modality", v.modalities), ("target", v.targets), ("area", v.areas),
                      ("status", v.statuses)):
        for ident in ids:
            names.setdefault(ident, (kind, ident))
    for kind, ident in list(names.values()):
        label = v.label(ident)
        keys = [ident, label]
        match = re.fullmatch(r"(.*?)\s*\(([^()]+)\)\s*", label)
        if match:
            keys += [match.group(1), match.group(2)]
        for key in keys:
            names.setdefault(name_key(key), (kind, ident))
    return names
