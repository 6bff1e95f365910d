"""The plan as a therapist reads it at a glance: status first, then what to do.

A rule's description is said once: where the rule is named again, its id stands for it
("as above [contra-anticoagulant]"). :func:`wrap_text` fits the lines to a terminal's width.
"""

from __future__ import annotations

import re
import textwrap
from collections import defaultdict
from collections.abc import Iterable

from ..kb.knowledge_base import KnowledgeBase
from ..kb.rule_specs import RuleSpec
from ..kb.wording import STATUS_HEADLINES, side_note
from ..planning.results import PlanResult


def _is_request(rule: RuleSpec) -> bool:
    return rule.then.propose is not None and rule.then.propose.line == "request"


def wrap_text(text: str, width: int) -> str:
    """Each line of ``text`` wrapped to ``width`` columns, its continuation indented under it."""
    out: list[str] = []
    for line in text.split("\n"):
        if len(line) <= width:
            out.append(line)
            continue
        body = line.lstrip(" ")
        column = re.match(r" *\d+-\d+ +min +", line)  # a timeline row hangs under its group
        lead = len(column.group(0)) if column else len(line) - len(body) + (2 if body.startswith("- ") else 0)
        out += textwrap.wrap(line, width, subsequent_indent=" " * min(lead + 2, width // 2),
                             break_long_words=False, break_on_hyphens=False) or [line]
    return "\n".join(out)


def said_once(advisories: Iterable[str]) -> list[str]:
    """Advisories with no sentence twice: sites that end alike joined ("a, b: avoid deep pressure ..."),
    and an ending several share after their last "; " said once after them."""
    items = list(dict.fromkeys(advisories))
    heads: dict[str, list[str]] = {}
    for a in items:
        head, sep, tail = a.partition(": ")
        if sep:
            heads.setdefault(tail, []).append(head)
    joined: list[str] = []
    for a in items:
        head, sep, tail = a.partition(": ")
        if sep and len(heads[tail]) > 1:
            if heads[tail][0] == head:
                joined.append(f"{', '.join(heads[tail])}: {tail}")
        else:
            joined.append(a)
    endings = [a.rpartition("; ")[2] for a in joined]
    shared = {e for e in endings if endings.count(e) > 1 and e}
    out: list[str] = []
    for a, ending in zip(joined, endings, strict=True):
        out.append(a.rpartition("; ")[0] if ending in shared else a)
        if ending in shared and all(e != ending for e in endings[len(out):]):
            out.append(ending)  # after the last advisory that shares it
    return out


def render_text(result: PlanResult, kb: KnowledgeBase) -> str:
    plan, v = result.plan, kb.vocabulary
    rule = kb.by_id
    said: set[str] = set()

    def reasons(ids: Iterable[str]) -> str:
        """The rules' descriptions, each said once; a rule said before is named by its id."""
        ids = list(ids)
        new = [f"{rule[r].description} [{r}]" for r in ids if r not in said]
        old = [r for r in ids if r in said]
        said.update(ids)
        return "; ".join(new + ([f"as above [{', '.join(old)}]"] if old else []))

    lines = [f"Case {plan.case_id}", f"Status: {STATUS_HEADLINES[plan.status]}"]
    for rid in plan.status_because:
        lines.append(f"  because {reasons([rid])}")
    if plan.treats:
        cap = f"{plan.pressure_cap}" + (" (nothing caps pressure)" if plan.pressure_cap == "deep" else "")
    else:
        cap = f"none given - no treatment today (the case implies {plan.pressure_cap} at most)"
    lines.append(f"Pressure cap: {cap}")
    for rid in plan.pressure_cap_because:
        lines.append(f"  set by {reasons([rid])}")

    if plan.modalities:
        lines.append("")
        lines.append("Modalities (most certain first):")
        for m in plan.modalities:
            benefits = "; ".join(v.benefits[b] for b in m.benefits) or "requested by the prescription"
            evidence = f", evidence {m.grade}" if m.grade else ", no evidence grade (only requested)"
            evidence += f" (extrapolated from {m.extrapolated_from})" if m.extrapolated_from else ""
            asked = " (requested)" if m.requested and m.grade else ""
            lines.append(f"  - {v.label(m.id)}{asked}: {m.pressure} pressure, certainty {m.certainty:.2f}"
                         f"{evidence} - {benefits}")
    if plan.targets:
        lines.append("")
        lines.append("Targets by area:")
        by_area: dict[str, list[str]] = defaultdict(list)
        for t in plan.targets:
            note = f", {t.pressure_cap} pressure only" if t.pressure_cap else ""
            by_area[t.area].append(f"{v.label(t.id)}{side_note(t.side)}{note}")
        for area, items in by_area.items():
            lines.append(f"  {v.label(area)}: {', '.join(items)}")
    if plan.segments:
        lines.append("")
        lines.append(f"Session: {plan.total_minutes} minutes (ceiling {plan.minutes_ceiling})")
        start = 0
        for s in plan.segments:
            end = start + s.minutes
            lines.append(f"  {start:>3}-{end:<3} min  {v.label(s.group)}: {', '.join(v.label(t) for t in s.targets)}"
                         f" - {', '.join(v.label(m) for m in s.modalities)}")
            per_target: dict[tuple[str, str | None], list[str]] = defaultdict(list)
            for w in s.work:
                per_target[(w.target, w.side)].append(f"{v.label(w.modality)} {w.pressure}")
            for (target, side), work in per_target.items():
                lines.append(f"{'':15}{v.label(target)}{side_note(side)}: {', '.join(work)}")
            start = end
    if plan.blocked_modalities or plan.blocked_areas or plan.blocked_targets:
        lines.append("")
        lines.append("Not to be done:")
        for b in plan.blocked_modalities:
            requested = [r for r in b.because if _is_request(rule[r])]
            why = reasons(r for r in b.because if r not in requested)
            if b.reason == "no target it applies to":
                mod = v.modalities[b.id]
                why = (f"{mod.label} works on {' or '.join(v.label(t) for t in mod.applies_to)} "
                       f"and none of the plan's targets for it is that tissue "
                       f"[{', '.join(r for r in b.because if r not in requested)}]")
            verb = {"blocked": "blocked", "priced_out": "priced out by the pressure cap"}.get(b.reason, b.reason)
            note = " (requested by the prescription)" if requested else ""
            lines.append(f"  - {v.label(b.id)}{note}: {verb} - {why}")
        for a in plan.blocked_areas:
            why = reasons(a.because)
            lines.append(f"  - no work on the {v.label(a.id)}{side_note(a.side)} - {why}")
        for a in plan.blocked_targets:  # a single target (iliopsoas after hip surgery)
            lines.append(f"  - no work on {v.label(a.id)}{side_note(a.side)} - {reasons(a.because)}")
    if plan.caps:
        lines.append("")
        lines.append("Pressure caps by area and target:")
        for limit in plan.caps:  # an area cap, or a target cap (clinical-v2.1 §4.2)
            site = str(getattr(limit, "target", None) or getattr(limit, "area", ""))
            lines.append(f"  - {v.label(site)}{side_note(limit.side)}: {limit.pressure} at most "
                         f"[{', '.join(limit.because)}]")
    if plan.not_covered or plan.unrecognised_medications:
        lines.append("")
        for code, text in plan.not_covered:
            lines.append(f"Not covered by the knowledge base: {code} {text}")
        for name in plan.unrecognised_medications:
            lines.append(f"Medication not checked (not recognised): {name}")
    if plan.clearances_required or plan.referrals:
        lines.append("")
        for c in plan.clearances_required:
            lines.append(f"Clearance required: {c} - {v.clearances[c]}")
        for r in plan.referrals:
            lines.append(f"Referral ({r.urgency}): {v.referrals[r.to]} [{', '.join(r.because)}]")
    if plan.advisories:
        lines.append("")
        lines.append("Advisories:")
        lines += [f"  - {a}" for a in said_once(plan.advisories)]
    lines.append("")
    lines.append("Decision support for trained therapists; not a diagnosis.")
    return "\n".join(lines)
