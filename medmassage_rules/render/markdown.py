"""The plan as a Markdown handout: the case, the plan, and why - for teaching.

An educator can hand it out as it is: the case in clinical words, the plan's tables,
what is not to be done and why, the chain condition → mechanism → benefit → modality for
every recommended modality, the why-not of every blocked item, and the references cited.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from ..errors import printable
from ..explain import explain_blocked, explain_recommended, why
from ..explain.explanation import Explanation
from ..kb import fact_types as F
from ..kb.knowledge_base import KnowledgeBase
from ..kb.wording import STATUS_HEADLINES, Words, side_note
from ..planning.results import PlanResult
from .explain_text import render_explanation_markdown

DISCLAIMER = "Decision support for trained therapists and for teaching; not a diagnosis."


_MARKUP = re.compile(r"([\\`*_\[\]#!|~])")  # what can start emphasis, code, a link or a table cell


def inline(text: object) -> str:
    """Text from a case (its id) as literal Markdown on one line.

    HTML is entity-escaped (a handout rendered to HTML must not run ``<img onerror=...>``),
    Markdown punctuation is backslash-escaped (no link, emphasis or heading can be injected),
    line breaks become spaces (no new heading or list item), and control characters that
    would drive a terminal are shown as escapes.
    """
    text = printable(" ".join(str(text).splitlines()))
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return _MARKUP.sub(r"\\\1", text)


def _cell(text: object) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def _table(header: Iterable[str], rows: Iterable[Iterable[object]]) -> list[str]:
    head = list(header)
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    return lines + ["| " + " | ".join(_cell(c) for c in row) + " |" for row in rows]


def _case_lines(result: PlanResult, words: Words) -> list[str]:
    out = []
    for fact in result.facts:
        kind = F.KIND_OF.get(type(fact))
        if kind not in F.INPUT_KINDS:
            continue
        if kind in ("patient", "labs", "vitals"):
            given = [k for k, v in fact.items() if v is not None and k != "index" and not str(k).startswith("__")
                     and not (k == "frail" and v is False)]
            if not given:
                continue
            out.append(f"- {words.describe_fact(kind, fact, given)}")
        else:
            out.append(f"- {words.describe_fact(kind, fact)}")
    return out


def _rules_cited(kb: KnowledgeBase, explanations: Iterable[Explanation], result: PlanResult) -> list[str]:
    plan = result.plan
    ids = [r for e in explanations for r in e.rule_ids]
    ids += [*plan.status_because, *plan.pressure_cap_because]
    keys = dict.fromkeys(kb.by_id[r].citation for r in ids if r in kb.by_id)
    keys.update(dict.fromkeys(c.citation for c in kb.caveats if c.text in plan.advisories))
    return [f"- **{k}** {kb.citation_text(k)}" for k in sorted(keys, key=_citation_order)]


def _citation_order(key: str) -> tuple[str, int]:
    """R4 before R11: letters, then the number."""
    digits = "".join(ch for ch in key if ch.isdigit())
    return key.rstrip("0123456789"), int(digits) if digits else 0


def render_markdown(result: PlanResult, kb: KnowledgeBase) -> str:
    """The whole handout: plan, explanations and references."""
    plan, v = result.plan, kb.vocabulary
    w = Words(v)
    rule = kb.by_id
    out = [f"# Massage plan: {inline(plan.case_id)}", "", f"> {DISCLAIMER}", "", "## The case", ""]
    out += _case_lines(result, w)
    out += ["", "## The plan", "", f"**Status:** {STATUS_HEADLINES[plan.status]}"]
    out += [f"- because {rule[r].description} (`{r}`)" for r in plan.status_because]
    cap = "nothing caps pressure" if plan.pressure_cap == "deep" else "set by " + "; ".join(
        f"{rule[r].description} (`{r}`)" for r in plan.pressure_cap_because)
    out += ["", f"**Pressure cap:** {plan.pressure_cap} - {cap}"]
    if plan.modalities:
        out += ["", "### Modalities", ""]
        out += _table(["modality", "pressure", "certainty", "evidence", "benefits"],
                      [(v.label(m.id) + (" (requested)" if m.requested else ""), m.pressure, f"{m.certainty:.2f}",
                        (m.grade or "none (only requested)")
                        + (f" (extrapolated from {m.extrapolated_from})" if m.extrapolated_from else ""),
                        "; ".join(v.benefits[b] for b in m.benefits) or "requested by the prescription")
                       for m in plan.modalities])
    if plan.targets:
        out += ["", "### Targets", ""]
        out += _table(["area", "target", "side", "role", "pressure"],
                      [(w.plain(t.area), w.plain(t.id), t.side or "either", t.role,
                        f"{t.pressure_cap} only" if t.pressure_cap else "as the plan") for t in plan.targets])
    if plan.segments:
        out += ["", f"### Session: {plan.total_minutes} minutes (ceiling {plan.minutes_ceiling})", ""]
        rows, start = [], 0
        for s in plan.segments:
            rows.append((f"{start}-{start + s.minutes}", w.plain(s.group), ", ".join(w.plain(t) for t in s.targets),
                         ", ".join(v.label(m) for m in s.modalities)))
            start += s.minutes
        out += _table(["minutes", "area group", "targets", "modalities"], rows)
    if plan.blocked_modalities or plan.blocked_areas or plan.blocked_targets:
        out += ["", "### Not to be done", ""]
        for b in plan.blocked_modalities:
            verb = "blocked" if b.reason == "blocked" else "priced out by the pressure cap"
            out.append(f"- **{v.label(b.id)}**: {verb} ({', '.join(f'`{r}`' for r in b.because)})")
        for a in (*plan.blocked_areas, *plan.blocked_targets):  # areas, then single targets
            out.append(f"- **no work on {w.site(a.id)}{side_note(a.side)}** "
                       f"({', '.join(f'`{r}`' for r in a.because)})")
    if plan.clearances_required or plan.referrals:
        out += ["", "### Clearances and referrals", ""]
        out += [f"- clearance required: {c} - {v.clearances[c]}" for c in plan.clearances_required]
        out += [f"- referral ({r.urgency}): {v.referrals[r.to]}" for r in plan.referrals]
    if plan.advisories:
        out += ["", "### Advisories", ""] + [f"- {a}" for a in plan.advisories]
    whys = explain_recommended(result, kb)
    why_nots = explain_blocked(result, kb)
    if not plan.treats:
        status = why(result, kb, "status")
        whys = (status,)
        out += ["", "## Why no treatment today", "", render_explanation_markdown(status)]
    if plan.modalities:
        out += ["", "## Why these modalities"]
        for e in whys:
            out += ["", render_explanation_markdown(e)]
    if why_nots:
        out += ["", "## Why not"]
        for e in why_nots:
            out += ["", render_explanation_markdown(e)]
    references = _rules_cited(kb, [*whys, *why_nots], result)
    if references:
        out += ["", "## References", ""] + references
    return "\n".join(out) + "\n"
