"""The plan as one self-contained HTML page for teaching: works offline, prints cleanly.

Inline CSS, inline SVG and one inline script (``classroom.py``): no font, no image, no file and no
link outside the page. Sections: the case facts (with a button that hides the plan while a class
predicts it), the plan summary, the session timeline, the reasoning as layers that wrap to the
page's width (case facts → mechanisms → benefits → modalities → targets; each box opens its rules
on click or focus; on a wide screen the layered graph is drawn, each edge routed between the
boxes, vetoes in red dashes), the firings one at a time, a "why" panel per recommended and per blocked
modality (each reason rule with its description, evidence grade, citation, certainty and
the case facts that fired it), and the evidence table of every rule that fired. Every text
is escaped with :func:`html.escape`.
"""

from __future__ import annotations

from html import escape
from typing import Any

from .. import __version__
from ..explain import explain_blocked
from ..explain.layers import reasoning_graph
from ..kb.fact_types import KIND_OF
from ..kb.knowledge_base import KnowledgeBase
from ..kb.rule_specs import RuleSpec
from ..kb.wording import STATUS_HEADLINES, Words, side_note
from ..planning.results import PlanResult
from .classroom import CLASSROOM_CSS, CLASSROOM_PRINT_CSS, SCRIPT, case_section, layers_html, steps_section
from .svg import reasoning_svg, timeline_svg

CSS = """
:root { --ink: #1d2733; --muted: #5d6b7a; --line: #d5dce4; --ok: #2e7d4f; --stop: #c0392b; --warn: #b9770e; }
* { box-sizing: border-box; }
body { font: 15px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, Arial, sans-serif; color: var(--ink);
       margin: 0 auto; padding: 24px; max-width: 1320px; background: #fff; }
h1 { font-size: 1.6em; margin: 0 0 6px; }
h2 { font-size: 1.2em; margin: 28px 0 8px; border-bottom: 2px solid var(--line); }
h3 { font-size: 1.05em; margin: 0 0 6px; }
.status { display: inline-block; padding: 6px 14px; border-radius: 6px; font-weight: 700; color: #fff; }
.status-treat { background: var(--ok); } .status-treat_with_precautions { background: #4f7f2e; }
.status-needs_clearance, .status-defer { background: var(--warn); }
.status-refer, .status-refer_urgent { background: var(--stop); }
.muted, .disclaimer { color: var(--muted); }
table { border-collapse: collapse; width: 100%; margin: 6px 0 12px; }
th, td { text-align: left; vertical-align: top; padding: 5px 8px; border-bottom: 1px solid var(--line); }
th { background: #f3f6f9; }
.bar { display: inline-block; height: 10px; background: var(--ok); border-radius: 3px; vertical-align: middle; }
.grid { display: grid; grid-template-columns: repeat(auto-fit, minmax(300px, 1fr)); gap: 12px; }
.panel { border: 1px solid var(--line); border-radius: 8px; padding: 12px 14px; break-inside: avoid; }
.panel.blocked { border: 2px dashed var(--stop); }
.panel ul { margin: 4px 0 0; padding-left: 18px; }
.stop { color: var(--stop); font-weight: 600; }
.figure { overflow-x: auto; border: 1px solid var(--line); border-radius: 8px; padding: 8px; }
.legend { display: flex; flex-wrap: wrap; gap: 14px; font-size: 0.9em; margin: 6px 0; }
.legend span::before { content: ""; display: inline-block; width: 26px; height: 12px; margin-right: 6px;
                       vertical-align: middle; border-radius: 3px; border: 2px solid #8795a1; }
.legend .l-fact::before { background: #e3eefc; } .legend .l-mech::before { background: #efe6f7; }
.legend .l-benefit::before { background: #e4f4ea; }
.legend .l-mod::before { background: #c9ecd5; border-color: var(--ok); }
.legend .l-target::before { background: #fff6d6; }
.legend .l-blocked::before { background: #fdecea; border: 2px dashed var(--stop); }
.legend .l-cap::before { background: #fdf2e0; border: 2px dotted var(--warn); }
.figure svg { display: block; max-width: none; }   /* natural size: the text never shrinks */
.figure svg.timeline { max-width: 100%; height: auto; }
svg text { font: 13px system-ui, -apple-system, "Segoe UI", Roboto, Arial, sans-serif; fill: var(--ink); }
svg .layer-title { font-size: 14px; font-weight: 700; text-anchor: middle; }
svg .node text { text-anchor: middle; }
svg .node rect { stroke: #8795a1; stroke-width: 1.5; fill: #fff; }
svg .fact rect { fill: #e3eefc; } svg .mechanism rect { fill: #efe6f7; } svg .benefit rect { fill: #e4f4ea; }
svg .modality.recommended rect { fill: #c9ecd5; stroke: var(--ok); stroke-width: 2; }
svg .target rect { fill: #fff6d6; }
svg .node.blocked rect, svg .node.priced_out rect, svg .node.not_applicable rect {
  fill: #fdecea; stroke: var(--stop); stroke-width: 2; stroke-dasharray: 6 4; }
svg .node.blocked text, svg .node.priced_out text, svg .node.not_applicable text { fill: var(--stop); }
svg .node.capped rect { fill: #fdf2e0; stroke: var(--warn); stroke-width: 2; stroke-dasharray: 2 3; }
svg .node.empty rect { fill: #fafafa; stroke-dasharray: 3 3; } svg .node.empty text { fill: var(--muted); }
svg .edge { fill: none; stroke: #9aa7b4; stroke-width: 1.4; }
svg .edge.blocks { stroke: var(--stop); stroke-width: 2; stroke-dasharray: 7 5; }
svg .edge.caps { stroke: var(--warn); stroke-width: 2; stroke-dasharray: 2 4; }
svg .edge.delivers { stroke: #6fae86; }
svg .tick { stroke: #e3e8ee; } svg .tick-label { fill: var(--muted); text-anchor: middle; }
svg .segment rect { stroke: #7d8b99; } svg .segment-label { font-weight: 700; }
svg .segment-detail { fill: #34495e; }
svg .ceiling { stroke: var(--stop); stroke-width: 2; stroke-dasharray: 4 3; }
svg .no-session { font-size: 14px; fill: var(--stop); }
footer { margin-top: 32px; font-size: 0.9em; color: var(--muted); }
@media print {
  body { padding: 0; max-width: none; font-size: 10pt; }
  * { -webkit-print-color-adjust: exact; print-color-adjust: exact; }
  .figure { overflow: visible; border: none; padding: 0; }
  .figure svg { max-width: 100%; height: auto; }   /* on paper the drawing fits the page */
  h2 { break-after: avoid; } .panel, tr, figure { break-inside: avoid; }
  #reasoning { break-before: page; }
  @page { margin: 12mm; }
""" + CLASSROOM_PRINT_CSS + "}\n" + CLASSROOM_CSS


TIMELINE_WIDTH = 600   # px: fits a 700 px window at its natural size, so its text never shrinks
PLANNER_CHECKS = {"site-applicability": "No target of the plan is a tissue this modality applies to"}


def reason_words(reason: str) -> str:
    """Why a modality is not given, in words (plan v2 adds "no target it applies to")."""
    return {"blocked": "blocked", "priced_out": "priced out by the pressure cap"}.get(reason, reason)


def _e(value: Any) -> str:
    return escape(str(value), quote=True)


class _Page:
    def __init__(self, result: PlanResult, kb: KnowledgeBase):
        self.result = result
        self.plan = result.plan
        self.kb = kb
        self.v = kb.vocabulary
        self.words = Words(kb.vocabulary)

    def rule(self, rid: str) -> RuleSpec:
        return self.kb.by_id[rid]

    def says(self, rid: str) -> str:
        """What a rule says; an id that is not a rule of the knowledge base (a check the planner
        makes itself) is given as it is."""
        return self.kb.by_id[rid].description if rid in self.kb.by_id else PLANNER_CHECKS.get(rid, rid)

    def facts_of(self, rid: str, concluded: str, **match: Any) -> list[str]:
        """The case facts of each firing of ``rid`` that concluded a ``concluded`` fact like ``match``."""
        out: list[str] = []
        for firing in self.result.trace:
            if firing.rule_id != rid:
                continue
            if any(KIND_OF[type(o)] == concluded and all(o.get(k) == x for k, x in match.items())
                   for o in firing.outputs):
                for fact in firing.inputs:
                    kind = KIND_OF[type(fact)]
                    fields = [k for k, value in fact.items() if value is not None and k != "index"
                              and not str(k).startswith("__")]
                    out.append(self.words.describe_fact(kind, fact, fields))
        return list(dict.fromkeys(out))

    def rule_item(self, rid: str, facts: list[str], extra: str = "") -> str:
        if rid not in self.kb.by_id:
            return (f"<li><b>{_e(self.says(rid))}</b> <span class=\"muted\">[{_e(rid)}; the planner's own check]"
                    "</span></li>")
        r = self.rule(rid)
        fired = f"<br><span class=\"muted\">fired on: {_e('; '.join(facts))}</span>" if facts else ""
        return (f"<li><b>{_e(r.description)}</b>{_e(extra)} <span class=\"muted\">[{_e(rid)}; grade {_e(r.grade)}; "
                f"{_e(self.kb.citation_text(r.citation))}]</span>{fired}</li>")

    # -- sections --------------------------------------------------------------------------------
    def header(self) -> str:
        p = self.plan
        because = "".join(f"<li>{_e(self.says(r))} <span class=\"muted\">[{_e(r)}]</span></li>"
                          for r in p.status_because)
        return (f"<header><h1>Massage plan - {_e(p.case_id)}</h1><div class=\"plan-part\">"
                f"<p><span class=\"status status-{_e(p.status)}\">{_e(STATUS_HEADLINES[p.status])}</span></p>"
                + (f"<ul>{because}</ul>" if because else "") + "</div>"
                + "<p class=\"disclaimer\">Decision support for trained therapists and for teaching; "
                  "not a diagnosis.</p></header>")

    def summary(self) -> str:
        p, v = self.plan, self.v
        rows = [("Pressure cap", self.cap_words()),
                ("Session", f"{p.total_minutes} of at most {p.minutes_ceiling} minutes" if p.treats
                 else "none: no treatment today")]
        rows += [("Clearance required", f"{c}: {v.clearances[c]}") for c in p.clearances_required]
        rows += [(f"Referral ({r.urgency})", v.referrals.get(r.to, r.to)) for r in p.referrals]
        out = ["<section id=\"summary\" class=\"plan-part\"><h2>Plan summary</h2><table>"]
        out += [f"<tr><th>{_e(k)}</th><td>{_e(val)}</td></tr>" for k, val in rows]
        out.append("</table>")
        if p.modalities:
            out.append("<table><tr><th>Modality</th><th>Pressure</th><th>Certainty</th><th>Evidence</th>"
                       "<th>Benefits</th></tr>")
            for m in p.modalities:
                benefits = "; ".join(v.label(b) for b in m.benefits) or "requested by the prescription"
                asked = " (requested)" if m.requested else ""
                out.append(f"<tr><td>{_e(v.label(m.id) + asked)}</td><td>{_e(m.pressure)}</td><td><span class=\"bar\" "
                           f"style=\"width:{int(m.certainty * 80)}px\"></span> {m.certainty:.2f}</td>"
                           f"<td>{_e(self.grade_words(m))}</td><td>{_e(benefits)}</td></tr>")
            out.append("</table>")
        if p.targets:
            out.append("<table><tr><th>Target</th><th>Area</th><th>Side</th><th>Role</th><th>Area cap</th></tr>")
            for t in p.targets:
                out.append(f"<tr><td>{_e(v.label(t.id))}</td><td>{_e(v.label(t.area))}</td><td>{_e(t.side or '-')}"
                           f"</td><td>{_e(t.role)}</td><td>{_e(t.pressure_cap or '-')}</td></tr>")
            out.append("</table>")
        stops = [f"{v.label(b.id)}: {reason_words(b.reason)}"
                 for b in p.blocked_modalities]
        stops += [f"no work on the {v.label(a.id)}{side_note(a.side)}" for a in p.blocked_areas]
        stops += [f"no work on {v.label(a.id)}{side_note(a.side)}" for a in p.blocked_targets]  # a single target
        if stops:
            out.append("<h3>Not to be done</h3><ul>" + "".join(f"<li class=\"stop\">{_e(s)}</li>" for s in stops)
                       + "</ul>")
        if p.advisories:
            out.append("<h3>Advisories</h3><ul>" + "".join(f"<li>{_e(a)}</li>" for a in p.advisories) + "</ul>")
        out.append("</section>")
        return "\n".join(out)

    @staticmethod
    def grade_words(m: Any) -> str:
        if m.grade is None:
            return "none (only requested)"
        return m.grade + (f" (extrapolated from {m.extrapolated_from})" if m.extrapolated_from else "")

    def cap_words(self) -> str:
        """The plan-wide cap and what set it; on a plan that does not treat, only for information."""
        p = self.plan
        cap_by = "; ".join(self.says(r) for r in p.pressure_cap_because)
        if not p.treats:
            return ("no treatment today" + (f"; for information, the rules would cap pressure at {p.pressure_cap} "
                                            f"- {cap_by}" if cap_by else ""))
        return p.pressure_cap + (f" - {cap_by}" if cap_by else " (nothing caps pressure)")

    def timeline(self) -> str:
        return (f"<section id=\"timeline\" class=\"plan-part\"><h2>Session timeline</h2><div class=\"figure\">"
                f"{timeline_svg(self.plan, self.v, width=TIMELINE_WIDTH)}</div></section>")

    def reasoning(self) -> str:
        legend = ("<div class=\"legend\"><span class=\"l-fact\">case fact</span><span class=\"l-mech\">mechanism"
                  "</span><span class=\"l-benefit\">benefit</span><span class=\"l-mod\">recommended modality</span>"
                  "<span class=\"l-target\">target</span><span class=\"l-blocked\">blocked (red dashes: what "
                  "blocked it)</span><span class=\"l-cap\">pressure cap, clearance (amber dots)</span></div>")
        g = reasoning_graph(self.result, self.kb)
        return (f"<section id=\"reasoning\" class=\"plan-part\"><h2>Reasoning</h2><p class=\"muted\">Layer by "
                f"layer: a case fact indicates a mechanism, a benefit serves it, a modality delivers the benefit on "
                f"the targets of its session segment. Click a box (or move to it with Tab) for the rules behind it."
                f"</p>{legend}{layers_html(g)}"
                f"<div class=\"figure drawing\">{reasoning_svg(g)}</div></section>")

    def why(self) -> str:
        p, v = self.plan, self.v
        panels = []
        for m in p.modalities:
            items = "".join(self.rule_item(r, self.facts_of(r, "proposal", modality=m.id),
                                           self._certainty(r, m.id)) for r in m.because)
            panels.append(f"<article class=\"panel\" id=\"why-{_e(m.id)}\"><h3>Why {_e(v.label(m.id))}</h3>"
                          f"<p>{_e(m.pressure)} pressure; certainty {m.certainty:.2f} (rules combined as "
                          f"x + y - xy)</p><ul>{items}</ul></article>")
        for b in p.blocked_modalities:
            stops = [r for r in b.because if not self.proposes(r)]
            items = "".join(self.rule_item(r, self.facts_of(r, "block", modality=b.id) or self.facts_of(r, "cap"))
                            for r in stops)
            overruled = [r for r in b.because if self.proposes(r)]
            if b.reason in ("blocked", "priced_out"):
                why_not = ", then overruled: a proposal or a request never outweighs a block."
            else:
                why_not = f", but {reason_words(b.reason)}."
            note = f"<p class=\"muted\">Proposed by {_e(', '.join(overruled))}{_e(why_not)}</p>" if overruled else ""
            verb = reason_words(b.reason)
            panels.append(f"<article class=\"panel blocked\" id=\"why-not-{_e(b.id)}\"><h3>Why not "
                          f"{_e(v.label(b.id))}</h3><p class=\"stop\">{_e(verb)}</p><ul>{items}</ul>{note}</article>")
        panels += [self.missing_target(e) for e in explain_blocked(self.result, self.kb)
                   if e.item_kind in ("target", "area") and e.item not in {a.id for a in p.blocked_areas}]
        if not panels:
            return ""
        return (f"<section id=\"why\" class=\"plan-part\"><h2>Why each modality, why not each missing target"
                f"</h2><div class=\"grid\">"
                f"{''.join(panels)}</div></section>")

    @staticmethod
    def missing_target(e: Any) -> str:
        """A target a rule proposed that the plan lacks: the one cause, and each reason under it."""
        items = "".join(f"<li>{_e(d)}</li>" for d in e.details)
        return (f"<article class=\"panel blocked\" id=\"why-not-{_e(e.item)}\"><h3>Why not {_e(e.label)}</h3>"
                f"<p class=\"stop\">{_e(e.summary)}</p><ul>{items}</ul></article>")

    def proposes(self, rid: str) -> bool:
        """A rule that proposes modalities (a prescription's request among them): never a reason for a block."""
        rule = self.kb.by_id.get(rid)
        return rule is not None and rule.then.propose is not None

    def _certainty(self, rid: str, modality: str) -> str:
        """A rule's share of the modality's certainty: its own factor only inside the arithmetic (v2.1 §6.4)."""
        mc = self.result.outcome.certainty.get(modality)
        c = next((c for c in mc.counted if c.rule == rid), None) if mc is not None else None
        if c is None:
            return ""
        extrapolated = f"; extrapolated from {c.grade.extrapolated_from}" if c.grade.extrapolated_from else ""
        return (f" (its share: rule factor {c.rule_factor:.2f} × premise {c.premise:.2f} × grade {c.grade.grade} "
                f"weight {c.weight:.2f} = {c.value:.2f}{extrapolated})")

    def evidence(self) -> str:
        fired = list(dict.fromkeys(f.rule_id for f in self.result.trace))
        rows = []
        for rid in fired:
            r = self.rule(rid)
            rows.append(f"<tr><td><code>{_e(rid)}</code></td><td>{_e(r.description)}</td><td>{_e(r.grade)}</td>"
                        f"<td>{_e(self.kb.citation_text(r.citation))}</td></tr>")
        return ("<section id=\"evidence\" class=\"plan-part\"><h2>Evidence</h2><p class=\"muted\">Every rule "
                "that fired, in firing order. Grades: H guideline or systematic review; M small or mixed trials; "
                "L case series, expert opinion, practice texts.</p><table><tr><th>Rule</th><th>Says</th>"
                f"<th>Grade</th><th>Citation</th></tr>{''.join(rows)}</table></section>")

    def page(self) -> str:
        body = "\n".join([self.header(), case_section(self.result, self.kb), self.summary(), self.timeline(),
                          self.reasoning(), steps_section(self.result, self.kb), self.why(), self.evidence()])
        return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
                "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
                f"<title>Massage plan - {_e(self.plan.case_id)}</title><style>{CSS}</style></head>\n<body>\n"
                f"{body}\n<footer>medmassage-rules {_e(__version__)}; graph built with networkx, edges routed "
                "between the boxes. Decision support for trained therapists; not a diagnosis.</footer>\n"
                f"{SCRIPT}\n</body></html>\n")


def render_html(result: PlanResult, kb: KnowledgeBase) -> str:
    """One self-contained, offline HTML page for a plan."""
    return _Page(result, kb).page()
