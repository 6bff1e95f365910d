"""Advisories by kind (clinical-v2.1 §7) and the notes a case's own data call for.

Each advisory has a kind: ``delivery`` (how to deliver a session: positioning, pressure feedback,
a guardian present, incision care, endangerment sites, dose), ``status`` (why the plan is what it
is, what would allow treatment) or ``action`` (re-measure, call emergency services, record a
missing site). A rule's kind is data (``RuleSpec.advisory_kind``); delivery advisories appear only
on a plan that treats. A "may under-dose" note (``under_dose_note``) appears only when the plan's
minutes are below the case's evidence dose (§5.1).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from ..cases.models import Case
from ..intake.code_placement import INACTIVE_CONDITION
from ..kb.knowledge_base import KnowledgeBase

DELIVERY, STATUS, ACTION = "delivery", "status", "action"
PRESSING = (ACTION, STATUS, DELIVERY)   # the order in which a text given by two rules takes its kind
STALE_AFTER_DAYS = 365  # a medication ordered longer ago than this before as_of: confirm it is current


@dataclass(frozen=True)
class RuleAdvisories:
    """The advisories of the rules that fired, in knowledge-base order, split by when they are shown."""

    always: tuple[str, ...]       # status and action: every plan
    delivery: tuple[str, ...]     # only a plan that treats
    under_dose: tuple[str, ...]   # only a plan that treats with fewer minutes than the evidence dose
    kinds: dict[str, str]         # text -> kind (the most pressing when two rules give one text)

    @classmethod
    def of(cls, kb: KnowledgeBase, facts: Iterable[Any]) -> RuleAdvisories:
        order = kb.rule_order
        always: list[str] = []
        delivery: list[str] = []
        under_dose: list[str] = []
        kinds: dict[str, str] = {}
        for f in sorted(facts, key=lambda f: (order.get(f["rule"], 1 << 30), f["text"])):
            rule = kb.by_id.get(f["rule"])
            kind = rule.advisory_kind if rule is not None else STATUS
            if PRESSING.index(kind) < PRESSING.index(kinds.get(f["text"], DELIVERY)):
                kinds[f["text"]] = kind
            kinds.setdefault(f["text"], kind)
            if rule is not None and rule.then.under_dose_note:
                under_dose.append(f["text"])
            elif rule is None or rule.advisory_kind != DELIVERY:
                always.append(f["text"])
            else:
                delivery.append(f["text"])
        return cls(tuple(always), tuple(delivery), tuple(under_dose), kinds)

    def shown(self, treats: bool, minutes: int, dose: int) -> list[str]:
        """The advisories a plan shows after the always-shown ones."""
        if not treats:
            return []
        return [*self.delivery, *(self.under_dose if minutes < dose else ())]


def beside_treatment_only(kb: KnowledgeBase, rules: Iterable[str]) -> bool:
    """Whether a referral was made only by rules whose referral goes beside a treatment (§5.2)."""
    specs = [kb.by_id.get(r) for r in rules]
    return all(s is not None and s.then.referral is not None and s.then.referral.beside_treatment for s in specs)


def intake_notes(case: Case) -> list[tuple[str, str]]:
    """(text, kind) of the notes from the case's own data: how a code was read (§8, status) and a
    medication ordered more than a year before the case's date (case-format §6, action)."""
    out = []
    for section, code, text, kind, term in case.read_as:
        if kind == INACTIVE_CONDITION:
            out.append((f"{code} ({text}) under {section} names {term}, marked inactive: not counted", STATUS))
        else:
            out.append((f"{code} ({text}) under {section} counts as {kind} {term}", STATUS))
    as_of = case.as_of
    for name, ordered in case.medication_orders:
        if as_of is not None and (as_of - ordered).days > STALE_AFTER_DAYS:
            out.append((f"medication {name} was ordered on {ordered.isoformat()}, more than a year before "
                        f"{as_of.isoformat()}: it is counted; confirm it is current", ACTION))
    return out
