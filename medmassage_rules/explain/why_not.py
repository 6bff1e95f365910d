"""Why not: what kept an item out of the plan.

A block (the rule and the case fact that triggered it), a pressure cap that prices a
modality out, no tissue it applies to, time, a target nothing could be delivered on, a
no-treatment status, or, when no rule proposed it, the rules that could have, with the
conditions this case lacks and the facts in their way (a counterfactual read off the
knowledge graph).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from ..kb import fact_types as F
from ..kb.graph import edges_of
from ..kb.pattern_matching import pattern_matches
from ..kb.rule_specs import RuleSpec
from ..kb.wording import LINE_WORDS, or_list
from ..planning.resolution import NO_TARGET_IT_APPLIES_TO
from .derivation import plan_node
from .explanation import Counterfactual, Explanation, Step
from .walk import DerivationWalk, by_rules, status_words

# What a counterfactual may ask of the case: what the therapist observes or the physician can change.
ACTIONABLE = frozenset({"finding", "clearance", "request", "exclusion", "focus"})


class WhyNotAnswers(DerivationWalk):
    """Why the plan does not hold a modality, a target or an area."""

    def recommended(self, kind: str, ident: str, what: str) -> Explanation:
        """The answer to why-not for an item the plan holds: it is recommended."""
        return Explanation("why_not", ident, kind, self.w.label(ident) if kind == "modality" else self.w.plain(ident),
                           "recommended", f"{what}: recommended, it is in the plan", see_also=f"--why {ident}")

    def why_not_modality(self, modality: str, asked: str = "why_not") -> Explanation:
        """A block, a pressure cap, no tissue it applies to, a no-treatment status, no target it reaches,
        or no rule that proposed it (with the rules that could have)."""
        plan, w = self.plan, self.w
        label = w.label(modality)
        planned = self.planned_modality(modality)
        if planned is not None:
            return self.recommended("modality", modality, f"{label} (certainty {planned.certainty:.2f})")
        blocked = next((b for b in plan.blocked_modalities if b.id == modality), None)
        requested = any(self.fact(n)["line"] == "request" for n in self.derived_facts("proposal", modality=modality))
        details = ["the prescription requests it; a contraindication overrides the prescription"] if requested else []
        proposers = self.steps_for(self.derived_facts("proposal", modality=modality), self.conclusion_words)
        if blocked is not None and blocked.reason == NO_TARGET_IT_APPLIES_TO:
            mod = self.v.modalities[modality]
            works_on = or_list([w.plain(t) for t in mod.applies_to])
            sites = self.candidate_sites(modality)
            what = "; ".join(f"{w.plain(t)} is {w.plain(self.v.tissue_of(t))}" for t in sites)
            summary = (f"{label}: no target it applies to - {label} works on {works_on}"
                       + (f", and {what}" if what else ""))
            details.append("site-applicability: a modality is delivered only on tissue it applies to, "
                           "whoever asks for it (clinical-v2 §1)")
            return Explanation(asked, modality, "modality", label, NO_TARGET_IT_APPLIES_TO, summary,
                               steps=proposers, details=tuple(details))
        if blocked is not None:
            item = plan_node("blocked_modality", modality)
            if blocked.reason == "blocked":
                steps = self.steps_for(self.derived_of_item(item, "block") + self.derived_of_item(item, "restrict"),
                                       self.conclusion_words)
                summary = f"{label}: blocked " + by_rules(steps)
                verdict = "blocked"
            else:
                steps = self.steps_for(self.derived_of_item(item, "cap"), self.conclusion_words)
                lowest = self.v.modalities[modality].lowest
                summary = (f"{label}: priced out - its lowest pressure is {lowest}, above the {plan.pressure_cap} "
                           "pressure cap set " + by_rules(steps))
                verdict = "priced_out"
            return Explanation(asked, modality, "modality", label, verdict, summary, steps=steps + proposers,
                               details=tuple(details))
        if proposers and not plan.treats:
            steps = self.status_steps()
            summary = (f"{label}: proposed, but nothing is treated today - the status is "
                       f"{status_words(plan.status)} ({', '.join(s.rule.rule_id for s in steps)})")
            return Explanation(asked, modality, "modality", label, "no_treatment", summary, steps=steps + proposers)
        if proposers:
            details += self.undelivered(modality)
            return Explanation(asked, modality, "modality", label, "not_delivered",
                               f"{label}: proposed, but it reaches none of the plan's targets",
                               steps=proposers, details=tuple(details))
        counterfactuals = self.counterfactuals(
            [self.kb.by_id[d["rule"]] for _, d in edges_of(self.kb.graph, f"modality:{modality}",
                                                            ("proposes",), out=False)],
            lambda rule: f"propose {label}")
        request_rules = [r for r in self.kb.rules if r.then.propose and r.then.propose.modality_from is not None]
        if request_rules:
            details.append(f"it would also be proposed if the prescription requested it ({request_rules[0].id})")
        if not counterfactuals:
            details.append("no finding, clearance or prescription change would propose it with this "
                           "patient's diagnoses")
        details += self.would_still_be_stopped(modality)
        return Explanation(asked, modality, "modality", label, "never_proposed",
                           f"{label}: no rule proposed it for this case", details=tuple(details),
                           counterfactuals=counterfactuals)

    def candidate_sites(self, modality: str) -> list[str]:
        """The candidate targets a modality's proposals were for (every candidate for a request)."""
        props = [self.fact(n) for n in self.derived_facts("proposal", modality=modality)]
        sources = {self.source_node(p) for p in props if p["line"] != "request"}
        everywhere = any(p["line"] == "request" for p in props)
        return list(dict.fromkeys(self.fact(n)["target"] for n in self.derived_facts("candidate")
                                  if everywhere or self.source_node(self.fact(n)) in sources))

    def undelivered(self, modality: str) -> list[str]:
        """Why a proposed, unblocked modality reached no planned target."""
        mod = self.v.modalities[modality]
        outcome, w = self.result.outcome, self.w
        sources = {self.source_node(self.fact(n)) for n in self.derived_facts("proposal", modality=modality)}
        targets = [self.fact(n)["target"] for n in self.derived_facts("candidate")
                   if self.source_node(self.fact(n)) in sources or not sources]
        dropped = {t: g for g, ts in outcome.dropped_for_time.items() for t in ts}
        out = []
        for t in dict.fromkeys(targets):
            planned = next((p for p in self.plan.targets if p.id == t), None)
            if t in outcome.blocked_targets:
                out.append(f"{w.plain(t)}: in a blocked area ({', '.join(outcome.blocked_targets[t])})")
            elif t in dropped:
                out.append(f"{w.plain(t)}: the {w.plain(dropped[t])} group was left out for time")
            elif t in outcome.undeliverable:
                out.append(f"{w.plain(t)}: {outcome.undeliverable[t]}")
            elif not self.v.applies(modality, t):
                out.append(f"{w.plain(t)}: {mod.label} works on {or_list(w.plain(x) for x in mod.applies_to)}, "
                           f"{w.plain(t)} is {w.plain(self.v.tissue_of(t))}")
            elif planned is not None and self.v.rank(mod.lowest) > self.v.rank(planned.pressure_cap or "deep"):
                out.append(f"{w.plain(t)}: pressure there is capped at {planned.pressure_cap}, below "
                           f"{mod.label}'s lowest ({mod.lowest})")
        return out or ["none of its targets is in the plan"]

    def would_still_be_stopped(self, modality: str) -> list[str]:
        out = []
        for n in self.derived_facts("block", kind="modality", modality=modality):
            for firing in self.firings_of(n):
                s = self.step(firing, "")
                out.append(f"even if proposed it would be blocked by {s.rule.rule_id} because "
                           f"{or_list(s.because, 'and')}")
        lowest = self.v.modalities[modality].lowest
        if self.v.rank(lowest) > self.v.rank(self.plan.pressure_cap):
            out.append(f"even if proposed it would be priced out: its lowest pressure ({lowest}) is above the "
                       f"{self.plan.pressure_cap} pressure cap ({', '.join(self.plan.pressure_cap_because)})")
        if not self.plan.treats:
            out.append(f"and nothing is treated today: the status is {status_words(self.plan.status)}")
        return out

    def why_not_site(self, kind: str, ident: str, asked: str = "why_not") -> Explanation:
        """A blocked area, time, no modality deliverable there, a no-treatment status, more specific
        targets, or no rule that made it a target (with the rules that could have)."""
        plan, outcome, w = self.plan, self.result.outcome, self.w
        label = w.plain(ident)
        in_plan = self.planned_sites(kind, ident)
        if in_plan and asked == "why_not":
            def overlaps(a: Any, t: Any) -> bool:  # an axial block, or a block on the target's side
                both = ("left", "right")
                sides = set(both if a.side in (None, "bilateral") or a.id in self.v.axial_areas else (a.side,))
                return a.id == t.area and bool(sides & set(both if t.side in (None, "bilateral") else (t.side,)))
            # an area blocked on one side is answered as blocked (still treated on the other);
            # a target on the free side of that area is simply recommended
            blocked_side = [a for a in plan.blocked_areas
                            if (kind == "area" and a.id == ident) or any(overlaps(a, t) for t in in_plan)]
            if not blocked_side:
                return self.recommended(kind, ident, label)
        steps: list[Step] = []
        details: list[str] = []
        area = ident if kind == "area" else self.v.area_of(ident)
        for a in plan.blocked_areas:
            if a.id == area:
                steps += self.steps_for(self.derived_of_item(plan_node("blocked_area", a.id, a.side)),
                                        self.conclusion_words)
        candidates = [self.fact(n)["target"] for n in self.derived_facts("candidate")]
        considered = [t for t in dict.fromkeys(candidates)
                      if t == ident or (kind == "area" and self.v.area_of(t) == ident)]
        dropped = {t: g for g, ts in outcome.dropped_for_time.items() for t in ts}
        causes = [(cause, t) for t in considered if (cause := self.site_cause(t, dropped))[0] != "planned"]
        details += [f"{w.plain(t)}: {text}" for (_, text), t in causes]
        if in_plan:
            details.append("still treated: " + ", ".join(self.target_words(t.id) for t in in_plan))
        verdicts = [verdict for (verdict, _), _ in causes]
        if "blocked" in verdicts and not steps:  # a block of the target itself, or of the area it is worked through
            blocking = {r for t in considered for r in outcome.blocked_targets.get(t, ())}
            steps += self.steps_of_rules(blocking)
        if steps or "blocked" in verdicts:
            where = "blocked, no work there" if kind == "area" or not considered else "blocked"
            summary = f"{label}: {where}, set " + (by_rules(steps) if steps else "by a block")
            verdict = "blocked"
        elif "dropped_for_time" in verdicts:
            summary, verdict = f"{label}: left out for time", "dropped_for_time"
        elif "undeliverable" in verdicts:
            reason = next(text for (v, text), _ in causes if v == "undeliverable")
            summary, verdict = f"{label}: not planned - {reason}", "undeliverable"
        elif considered and not plan.treats:
            status = self.status_steps()
            steps = list(status)
            summary = f"{label}: nothing is treated today - the status is {status_words(plan.status)}"
            verdict = "no_treatment"
        elif considered:
            summary, verdict = f"{label}: covered by more specific targets", "subsumed"
        else:
            rules = self.site_rules(kind, ident)
            counterfactuals = self.counterfactuals(rules, lambda rule: self.adds(rule, kind, ident))
            finding_rules = [r for r in self.kb.rules if r.then.targets and any(
                t.site_from is not None and t.role == "finding" for t in r.then.targets)]
            if finding_rules:
                names = or_list(sorted({w.plain(v) for r in finding_rules for _, f in r.positive[:1]
                                        for v in _values(f.get("finding"))}))
                details.append(f"a finding located at the {label} would also add it: {names}")
            return Explanation(asked, ident, kind, label, "never_proposed",
                               f"{label}: no rule made it a target for this case",
                               details=tuple(details), counterfactuals=counterfactuals)
        return Explanation(asked, ident, kind, label, verdict, summary, steps=tuple(steps), details=tuple(details))

    def site_cause(self, target: str, dropped: dict[str, str]) -> tuple[str, str]:
        """Why one candidate target is not in the plan: (verdict, reason), the verdict the
        headline names, so that the headline and the reason never disagree."""
        plan, outcome, w = self.plan, self.result.outcome, self.w
        if target in outcome.blocked_targets:
            return "blocked", f"blocked ({', '.join(outcome.blocked_targets[target])})"
        if target in dropped:
            return "dropped_for_time", (f"the {w.plain(dropped[target])} group was left out: no time "
                                        f"(ceiling {plan.minutes_ceiling} minutes)")
        if target in outcome.undeliverable:
            return "undeliverable", outcome.undeliverable[target]
        if not plan.treats:
            return "no_treatment", f"nothing is treated today (status {status_words(plan.status)})"
        if target in {p.id for p in plan.targets}:
            return "planned", "in the plan"
        return "subsumed", f"covered by the more specific targets in {w.site(self.v.area_of(target))}"

    def missing_targets(self) -> list[str]:
        """Every target a rule proposed that the plan lacks (an area proposed as a whole counts only
        when none of its targets is planned: otherwise its specific targets cover it)."""
        planned = {t.id for t in self.plan.targets}
        planned_areas = {t.area for t in self.plan.targets}
        out = []
        for n in self.derived_facts("candidate"):
            target = self.fact(n)["target"]
            if target in planned or (target in self.v.areas and target in planned_areas):
                continue
            out.append(target)
        return list(dict.fromkeys(out))

    def steps_of_rules(self, rules: Iterable[str]) -> tuple[Step, ...]:
        """The steps of the blocks and restrictions these rules concluded."""
        wanted = set(rules)
        derived = [n for kind in ("block", "restrict") for n in self.derived_facts(kind)
                   if self.fact(n).get("rule") in wanted]
        return self.steps_for(derived, self.conclusion_words)

    def adds(self, rule: RuleSpec, kind: str, ident: str) -> str:
        """'add the gastrocnemius and soleus as primary targets': what a rule adds at the site asked about."""
        hits = [(site, t.role) for t in rule.then.targets for site in t.ids
                if site == ident or (kind == "area" and self.v.area_of(site) == ident)]
        names = or_list([f"the {self.w.plain(site)}" for site, _ in hits], "and")
        role = hits[0][1]
        return f"add {names} as {role} targets" if len(hits) > 1 else f"add {names} as a {role} target"

    def site_rules(self, kind: str, ident: str) -> list[RuleSpec]:
        g = self.kb.graph
        nodes = [f"{kind}:{ident}"]
        if kind == "area":
            nodes += [a for a, _ in edges_of(g, f"area:{ident}", ("in_area",), out=False)]
        ids = {d["rule"] for n in nodes for _, d in edges_of(g, n, ("targets",), out=False)}
        return [r for r in self.kb.rules if r.id in ids]

    def counterfactuals(self, rules: Iterable[RuleSpec], concludes: Any) -> tuple[Counterfactual, ...]:
        """What each rule would conclude (``concludes(rule)``) and what the case lacks for it;
        the rules closest to firing come first. Only what a therapist can observe or change is
        offered (:data:`ACTIONABLE`: a finding, a clearance, the prescription): a rule that needs a
        diagnosis, a history item or a measure the case does not have is left out."""
        out = []
        for rule in {r.id: r for r in rules}.values():
            missing: list[str] = []
            met: list[str] = []
            in_the_way: list[str] = []
            unreachable = False
            for kind, fields in rule.positive:
                present = self.has(kind, fields)
                (met if present else missing).append(self.w.describe_pattern(kind, fields))
                unreachable |= not present and kind not in ACTIONABLE
            if unreachable:  # it would take a diagnosis (or a history) the patient does not have
                continue
            for kind, fields in rule.negative:
                for f in self.case_facts:
                    if F.KIND_OF[type(f)] == kind and pattern_matches(fields, f):
                        in_the_way.append(self.w.describe_fact(kind, f, list(fields or {})))
            in_the_way += [f"a documented {gate} clearance" for gate in rule.clearance_gates
                           if self.has("clearance", {"name": gate})]
            p = rule.then.propose
            line = ("" if p is None or not rule.certainty
                    else f" ({LINE_WORDS[p.line]}, rule factor {rule.certainty:.2f})")
            out.append(Counterfactual(self.evidence(rule), concludes(rule) + line, tuple(missing), tuple(met),
                                      tuple(in_the_way)))
        order = {r.id: r.order for r in self.kb.rules}
        return tuple(sorted(out, key=lambda c: (len(c.missing) + len(c.in_the_way), order[c.rule.rule_id])))


def _values(cond: Any) -> list[Any]:
    if isinstance(cond, dict):
        return list(cond.get("in", [cond["eq"]] if "eq" in cond else []))
    return [] if cond is None else [cond]
