"""Why: the chains of rules and case facts that put an item into the plan.

For a modality, the chains case fact → mechanism → benefit → modality, each step with the
rule's description, evidence grade and full citation, and the certainty arithmetic (each
rule's factor times its weakest premise; several sources combined as x + y - x*y). For a
target or an area, the rules that added it and the segment it is worked in; for the status,
the rules that set it and what else was raised; for the minutes, the ceiling and how the
session was divided.
"""

from __future__ import annotations

from typing import Any

from ..kb.rule_specs import contradicted_benefits
from ..kb.wording import LINE_WORDS, or_list
from ..planning.plan import PlannedModality, PlannedTarget
from ..planning.session_time import MAX_DOSE, dose_source
from .derivation import plan_node
from .explanation import Chain, Combination, Explanation, Step
from .walk import DerivationWalk, status_words


class WhyAnswers(DerivationWalk):
    """Why the plan holds a modality, a target or an area, why its status, why its minutes."""

    def why_modality(self, planned: PlannedModality) -> Explanation:
        """The chains that propose a recommended modality, their certainties and how they combine."""
        modality = planned.id
        label = self.w.label(modality)
        delivered = set(self.delivered_on(modality))
        mc = self.result.outcome.certainty.get(modality)
        undelivered = set(mc.undelivered) if mc is not None else set()
        chains = []
        proposals = []
        for node in self.derived_of_item(plan_node("modality", modality), "proposal"):
            p = self.fact(node)
            if p["rule"] in undelivered:  # only delivered evidence counts (clinical-v2.1 §6.3)
                continue
            proposals.append(p)
            for firing in self.firings_of(node):
                source = self.source_node(p)
                conclusion = self.step(firing, f"proposes {label} ({LINE_WORDS[p['line']]})",
                                       self.certainty(firing, p))
                reaches = tuple(self.target_words(t) for t in dict.fromkeys(self.candidates_from(source))
                                if t in delivered)
                reasons = self.reasons(modality, p["benefits"])
                chains.append(Chain(" and ".join(self.premises(firing)), self.mechanism_steps(source, reasons),
                                    tuple(self.v.benefits[b] for b in reasons), conclusion, reaches))
                chains += self.finding_chains(p, conclusion, delivered)
        combo: Combination | None = None
        if mc is not None and mc.counted:  # the planner's own arithmetic: the one certainty (§6.4)
            combo = Combination(tuple((c.rule, c.value) for c in mc.counted), mc.steps, mc.value)
        elif proposals:  # only requested: a request is not evidence and keeps its own factor
            combo = Combination(tuple((p["rule"], float(p["certainty"])) for p in proposals[:1]), (),
                                planned.certainty)
        mod = self.v.modalities[modality]
        cap = ("nothing caps pressure" if self.plan.pressure_cap == "deep"
               else f"the plan's pressure cap is {self.plan.pressure_cap}")
        details = [f"delivered at {planned.pressure} pressure (its range {mod.lowest} to {mod.highest}; {cap})"]
        if planned.extrapolated_from:
            details.append(f"evidence grade {planned.grade}: extrapolated from {planned.extrapolated_from}")
        details += [f"proposed by {r} ({self.kb.by_id[r].description}), but its targets were blocked, capped out "
                    "or left out for time: it does not count toward the certainty" for r in sorted(undelivered)
                    if r in self.kb.by_id]
        if delivered and len(chains) > 1:
            details.append("applied to: " + ", ".join(self.target_words(t) for t in self.delivered_on(modality)))
        caveats = tuple(f"{c.text} [{c.citation}: {self.kb.citation_text(c.citation)}]" for c in self.kb.caveats
                        if set(c.benefits) & set(planned.benefits))
        summary = f"{label} is recommended, certainty {planned.certainty:.2f}"
        return Explanation("why", modality, "modality", label, "recommended", summary, tuple(chains),
                           combination=combo, details=tuple(details), caveats=caveats)

    def reasons(self, modality: str, benefits: Any) -> tuple[str, ...]:
        """The benefits a modality may be given for: never one a caveat grades X for it."""
        x_claims = contradicted_benefits(self.kb.caveats, modality, tuple(benefits))
        return tuple(b for b in benefits if b not in x_claims)

    def finding_chains(self, p: Any, conclusion: Step, delivered: set[str]) -> list[Chain]:
        """A finding whose mechanism the proposal's benefits serve brings the modality to its site."""
        if p["line"] == "request":
            return []
        out = []
        for node in self.derived_facts("mechanism", source_kind="finding"):
            m = self.fact(node)
            benefit = self.v.mechanisms[m["name"]]["benefit"]
            source = self.source_node(m)
            reaches = tuple(self.target_words(t) for t in dict.fromkeys(self.candidates_from(source))
                            if t in delivered)
            if benefit not in self.reasons(p["modality"], p["benefits"]) or not reaches:
                continue
            firing = self.firings_of(node)[0]
            mech = self.step(firing, f"indicates {self.w.label(m['name']).lower()}")
            out.append(Chain(self.g.nodes[source]["label"], (mech,), (self.v.benefits[benefit],), conclusion, reaches))
        return out

    def why_site(self, kind: str, ident: str, targets: list[PlannedTarget]) -> Explanation:
        """The rules that made a target (or an area's targets) part of the plan, and where it is worked."""
        steps: list[Step] = []
        details = []
        made: dict[str, list[Any]] = {}  # firing -> the candidate facts it made for these targets
        for t in targets:
            item = plan_node("target", t.id)
            for node in self.derived_of_item(item, "candidate"):
                for firing in self.firings_of(node):
                    facts_made = made.setdefault(firing, [])
                    if self.fact(node) not in facts_made:  # a target delivered per side is asked once
                        facts_made.append(self.fact(node))
            narrowed = self.derived_of_item(item, "block")
            steps += self.steps_for(narrowed, lambda f, t=t: f"narrows {self.w.plain(t.id)} to the {t.side} side: "
                                    + self.conclusion_words(f))
            if t.pressure_cap is not None:
                steps += self.steps_for(self.derived_of_item(item, "cap"), self.conclusion_words)
            for cap in (c for c in self.plan.caps if getattr(c, "target", None) == t.id):  # clinical-v2.1 §4.2
                details.append(f"{self.target_words(t.id)}: at most {cap.pressure} pressure on this target"
                               f"{f' ({cap.side} side)' if cap.side else ''}, whatever the modality "
                               f"({', '.join(cap.because)})")
            seg = self.segment_of(t.id)
            if seg is not None:
                mods = [self.w.label(m) for m in seg.modalities if t.id in self.delivered_on(m)]
                details.append(f"{self.target_words(t.id)}: in the {self.w.plain(seg.group)} segment "
                               f"({seg.minutes} minutes) with {or_list(mods, 'and')}")
        chains = []
        for firing in sorted(made, key=lambda n: self.g.nodes[n]["order"]):
            facts = made[firing]
            rule = self.kb.by_id[facts[0]["rule"]]
            names = ", ".join(self.target_words(c["target"]) for c in facts)
            role = facts[0]["role"]
            role = f"a {role} target" if len(facts) == 1 else f"{role} targets"
            conclusion = self.step(firing, f"adds {names} as {role}")
            chains.append(Chain(" and ".join(self.premises(firing)),
                                self.mechanism_steps(self.source_node(facts[0]), rule.benefits),
                                tuple(self.v.benefits[b] for b in rule.benefits), conclusion))
        label = self.w.plain(ident)
        names = ", ".join(dict.fromkeys(self.target_words(t.id) for t in targets))
        summary = (f"the {label} is in the plan: {names}" if kind == "area" and targets[0].id != ident
                   else f"{names} is a {targets[0].role} target of the plan")
        return Explanation("why", ident, kind, label, "recommended", summary, tuple(chains), tuple(steps),
                           details=tuple(dict.fromkeys(details)))  # a target delivered per side: once

    def why_status(self, status: str) -> Explanation:
        plan, w = self.plan, self.w
        words = status_words(plan.status)
        steps = list(self.status_steps())
        details = []
        if plan.status == "treat_with_precautions":
            items = [plan_node("blocked_modality", b.id) for b in plan.blocked_modalities]
            items += [plan_node("blocked_area", a.id, a.side) for a in plan.blocked_areas]
            items += [plan_node("pressure_cap")] if plan.pressure_cap != "deep" else []
            items += [plan_node("target", t.id) for t in plan.targets if t.pressure_cap not in (None, "deep")]
            derived = [n for item in items for n in self.derived_of_item(item)
                       if self.g.nodes[n]["fact_kind"] in ("block", "cap")]
            steps += self.steps_for(derived, self.conclusion_words)
            details.append("treat with precautions: something is blocked or pressure is capped below deep")
        elif plan.status == "treat":
            details.append("nothing is blocked and nothing caps pressure; recommended: "
                           + ", ".join(w.label(m.id) for m in plan.modalities))
        elif plan.status == "defer":
            details += [a for a in plan.advisories if a.startswith("nothing can be treated")]
        lesser = [(f["status"], f["rule"]) for f in (self.fact(n) for n in self.derived_facts("block", kind="all"))
                  if f["status"] != plan.status]
        lesser += [("needs_clearance", self.fact(n)["rule"]) for n in self.derived_facts("requirement")
                   if plan.status != "needs_clearance"]
        for other, rule in sorted(set(lesser)):
            details.append(f"also raised: {status_words(other)} ({rule}); the most severe status wins")
        for c in plan.clearances_required:
            details.append(f"missing clearance: {c} - {self.v.clearances[c]}")
        details += self.lifted()
        for r in plan.referrals:
            details.append(f"referral ({r.urgency}): {self.v.referrals[r.to]}")
        steps = list(dict.fromkeys(steps))
        if status != plan.status:
            summary = f"the status is {words}, not {status_words(status)}"
            verdict = "other_status"
        else:
            summary = f"the status is {words}"
            verdict = "recommended"
        return Explanation("why", status if status in self.v.statuses else "status", "status", words, verdict,
                           summary, steps=tuple(steps), details=tuple(details))

    def lifted(self) -> list[str]:
        """The rules this case would fire but for a clearance it documents."""
        out = []
        for rule in self.kb.rules:
            gates = [g for g in rule.clearance_gates if self.has("clearance", {"name": g})]
            if gates and all(self.has(k, f) for k, f in rule.positive) and not any(
                    self.has(k, f) for k, f in rule.negative):
                out.append(f"the documented {or_list(gates)} clearance lifts {rule.id}: {rule.description}")
        return out

    def why_minutes(self) -> Explanation:
        plan, case, w = self.plan, self.result.case, self.w
        if not plan.treats:
            status = self.why_status(plan.status)
            return Explanation("why", "minutes", "minutes", "session minutes", "no_treatment",
                               f"0 minutes: the status is {status_words(plan.status)}, so nothing is treated",
                               steps=status.steps, details=status.details)
        ordered = case.prescription.max_minutes
        limits = self.derived_of_item(plan_node("minutes"), "limit")
        dose = dose_source(((d.condition, d.effective_acuity) for d in case.diagnoses), self.kb.doses)
        evidence = (f"the evidence dose of chronic {w.plain(dose.condition)}, {min(dose.dose_minutes, MAX_DOSE)} "
                    f"({dose.citation}: {self.kb.citation_text(dose.citation)})" if dose is not None else
                    "30 when the prescription sets no length and no chronic diagnosis has an evidence dose")
        details = [f"ceiling {plan.minutes_ceiling} minutes: " + (
            f"the prescription allows {ordered}" if ordered else evidence)
            + ("; lowered by the rules below" if limits else "")]
        steps = self.steps_for(limits, self.conclusion_words)
        start = 0
        for seg in plan.segments:
            details.append(f"{start}-{start + seg.minutes} min: {w.plain(seg.group)} ({seg.minutes} minutes) - "
                           f"{', '.join(self.target_words(t) for t in seg.targets)}; {self.segment_reason(seg)}")
            start += seg.minutes
        for group, dropped in self.result.outcome.dropped_for_time.items():
            details.append(f"{w.plain(group)} left out: no time ({', '.join(w.plain(t) for t in dropped)})")
        details.append("order of allocation: 15 minutes to each group with a focus area or a primary target; "
                       "those with a chronic condition's primary targets raised to 30; 15 to each other "
                       "group (findings first); then further segments of up to 30 minutes over the primary "
                       "groups, chronic first, while 15 minutes are left; a remainder under 15 is not used "
                       "(trials that worked gave a region 60 minutes: Sherman 2014)")
        return Explanation("why", "minutes", "minutes", "session minutes", "recommended",
                           f"{plan.total_minutes} minutes in {len(plan.segments)} segment(s), ceiling "
                           f"{plan.minutes_ceiling}", steps=steps, details=tuple(details))

    def segment_reason(self, seg: Any) -> str:
        focus = set(self.result.case.prescription.focus_areas)
        reasons = []
        targets = [t for t in self.plan.targets if t.id in seg.targets]
        if any(t.area in focus for t in targets):
            reasons.append("holds a focus area of the prescription")
        primary = [self.fact(n) for n in self.derived_facts("candidate", role="primary", source_kind="diagnosis")
                   if self.fact(n)["target"] in seg.targets]
        if primary:
            chronic = any(self.result.case.diagnoses[c["source_index"]].effective_acuity == "chronic" for c in primary)
            reasons.append("holds the primary targets of a chronic condition" if chronic
                           else "holds primary targets")
        if not reasons:
            reasons.append("holds secondary or findings' targets")
        return " and ".join(reasons)
