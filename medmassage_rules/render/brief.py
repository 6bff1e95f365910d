"""The plan in brief: "today" in at most ten lines, and the versions a printed plan names at its foot.

``recommend --brief`` prints :func:`render_brief`; the web plan page shows the same lines
under its status banner. The lines say what to do in this session - modalities with their
pressure, areas by side, minutes, what not to do, referrals and clearances - and leave the
reasons to the full plan and its explanations.
"""

from __future__ import annotations

import hashlib
import json
from collections import defaultdict
from typing import Any

from .. import __version__
from ..kb.knowledge_base import KnowledgeBase
from ..kb.wording import STATUS_HEADLINES, or_list
from ..planning.plan import Plan
from ..planning.results import PlanResult

DISCLAIMER = "Decision support for trained therapists; not a diagnosis."
MAX_BRIEF_LINES = 10  # the case line and the disclaimer included


_FINGERPRINTS: dict[int, tuple[KnowledgeBase, str]] = {}  # id(kb) -> (kb, fingerprint): a knowledge base is unhashable


def _kb_fingerprint(kb: KnowledgeBase) -> str:
    known = _FINGERPRINTS.get(id(kb))
    if known is not None and known[0] is kb:
        return known[1]
    rules = [[r.id, r.description, r.grade, r.citation, list(r.benefits)] for r in kb.rules]
    digest = hashlib.sha256(json.dumps([rules, sorted(kb.references.items())], sort_keys=True).encode("utf-8"))
    if len(_FINGERPRINTS) >= 8:
        _FINGERPRINTS.clear()
    _FINGERPRINTS[id(kb)] = (kb, digest.hexdigest()[:12])
    return _FINGERPRINTS[id(kb)][1]


def versions(kb: KnowledgeBase) -> str:
    """'medmassage-rules 0.1.0; knowledge base: 402 rules, fingerprint 3fa2...' (the fingerprint changes
    with any rule's id, description, grade, citation or benefits, or any reference)."""
    return f"medmassage-rules {__version__}; knowledge base: {len(kb.rules)} rules, fingerprint {_kb_fingerprint(kb)}"


def cap_place(cap: Any, kb: KnowledgeBase) -> tuple[str, str]:
    """(area, words) of a pressure cap on an area, or on one target (then the target's words)."""
    v = kb.vocabulary
    target = getattr(cap, "target", None)
    if target is not None:
        return v.area_of(target), v.label(target)
    return cap.area, v.label(cap.area)


def areas_by_side(plan: Plan, kb: KnowledgeBase) -> list[str]:
    """The plan's areas in order, each with the sides its targets are worked on: 'wrist and hand (right)'."""
    v = kb.vocabulary
    sides: dict[str, list[str]] = defaultdict(list)
    for t in plan.targets:
        sides[t.area] += [t.side] if t.side and t.side not in sides[t.area] else []
    return [v.label(area) + (f" ({', '.join(s)})" if s else "") for area, s in sides.items()]


def brief_lines(result: PlanResult, kb: KnowledgeBase) -> list[str]:
    """'Today' in at most eight lines (the brief's case line and disclaimer make ten), the status first."""
    plan, v = result.plan, kb.vocabulary
    lines = [STATUS_HEADLINES[plan.status]]
    if plan.treats:
        mods = ", ".join(f"{v.label(m.id)} ({m.pressure})" for m in plan.modalities)
        lines.append(f"Do: {mods}" if mods else "Do: nothing is left to deliver")
        areas = areas_by_side(plan, kb)
        if areas:
            lines.append(f"Areas: {', '.join(areas)}")
        if plan.segments:
            parts = ", ".join(f"{v.label(s.group)} {s.minutes}" for s in plan.segments)
            lines.append(f"Minutes: {plan.total_minutes} of {plan.minutes_ceiling} ({parts})")
        cap = "no overall cap" if plan.pressure_cap == "deep" else f"{plan.pressure_cap} at most"
        order = list(v.pressures)
        stricter = [c for c in plan.caps if order.index(c.pressure) < order.index(plan.pressure_cap)]
        capped = [f"{cap_place(c, kb)[1]}{f' ({c.side})' if c.side else ''} {c.pressure}" for c in stricter]
        lines.append(f"Pressure: {cap}" + (f"; {', '.join(capped)}" if capped else ""))
    else:
        lines.append("Do: no massage today")
    blocked = [v.label(b.id) for b in plan.blocked_modalities]
    areas_off = list(dict.fromkeys(v.label(a.id) + (f" ({a.side})" if a.side else "")
                                   for a in (*plan.blocked_areas, *getattr(plan, "blocked_targets", ()))))
    if blocked or areas_off:
        line = "; ".join(([f"not: {', '.join(blocked)}"] if blocked else [])
                         + ([f"no work on the {', '.join(areas_off)}"] if areas_off else []))
        lines.append(line[0].upper() + line[1:])
    if plan.referrals:
        lines.append("Refer: " + "; ".join(f"{v.referrals[r.to]} ({r.urgency})" for r in plan.referrals))
    if plan.clearances_required:
        lines.append(f"Clearance needed: {or_list([v.clearances[c] for c in plan.clearances_required], 'and')}")
    return lines


def render_brief(result: PlanResult, kb: KnowledgeBase) -> str:
    """The brief as text: the case, "today" and the disclaimer."""
    return "\n".join([f"Case {result.plan.case_id}", *brief_lines(result, kb), DISCLAIMER])
