"""Why and why not: explanations of one plan, walked over the reasoning graphs.

:func:`why` answers for a modality, a target, an area, the status (``status``) or the
minutes (``minutes``): the chains case fact → mechanism → benefit → modality (or target),
each step with the rule's description, evidence grade and full citation, and the
certainty arithmetic. :func:`why_not` answers what kept an item out of the plan: a
block (the rule and the case fact that triggered it), a pressure cap that prices it out,
time, a target nothing could be delivered on, a no-treatment status, or — when no rule
proposed it — the rules that could have, with the conditions this case lacks (a
counterfactual read off the knowledge graph).

Both return an :class:`Explanation`, plain frozen data; ``render/explain_text.py`` turns it
into words for a therapist. Nothing here prints.
"""

from __future__ import annotations

import difflib
import functools
import re
from collections.abc import Iterable
from dataclasses import dataclass, replace
from typing import Any

from ..errors import MedMassageError, UnknownIdError
from ..kb import fact_types as F
from ..kb.graph import edges_of
from ..kb.knowledge_base import KnowledgeBase
from ..kb.patterns import pattern_matches
from ..kb.rule_specs import RuleSpec, contradicted_benefits
from ..kb.wording import LINE_WORDS, STATUS_PHRASES, Words, describe_conclusion, or_list, side_note
from ..planning.certainty import GRADE_WEIGHT, combine, evidence_factor
from ..planning.resolution import NO_TARGET_IT_APPLIES_TO
from ..planning.results import PlanResult
from .derivation import derivation_graph, plan_node

GRADE_WORDS = {"H": "guideline or systematic review", "M": "randomised trials or mixed reviews",
               "L": "case series, expert opinion or textbooks", "X": "contradicted by evidence"}
TOPICS = ("status", "minutes")


class NotExplainableError(MedMassageError):
    """An id of the vocabulary that is not a plan item (a condition, a finding ...)."""

    def __init__(self, value: str, kind: str):
        self.value = value
        super().__init__(f"{value!r} is a {kind}, not a plan item: ask about a modality, a target, an area, "
                         "a status, 'status' or 'minutes'")


# -- the data of an explanation -----------------------------------------------------------------------
@dataclass(frozen=True)
class Evidence:
    """A rule as evidence: what it says, how strong, where from."""

    rule_id: str
    description: str
    grade: str
    grade_words: str
    citation: str
    reference: str


@dataclass(frozen=True)
class Certainty:
    """A conclusion's certainty: the rule's factor times the weakest premise."""

    factor: float
    premise: float
    value: float


@dataclass(frozen=True)
class Step:
    """One inference: a rule, the case facts that triggered it, what it concluded."""

    rule: Evidence
    because: tuple[str, ...]
    concludes: str
    certainty: Certainty | None = None


@dataclass(frozen=True)
class Chain:
    """Case fact → mechanism(s) → benefit(s) → the item, through the rules that linked them."""

    source: str
    mechanisms: tuple[Step, ...]
    benefits: tuple[str, ...]      # in the seed's wording
    conclusion: Step
    reaches: tuple[str, ...] = ()  # the planned targets this chain brings the item to


@dataclass(frozen=True)
class Combination:
    """Several rules' certainties for one modality, combined as x + y - x*y (MYCIN)."""

    values: tuple[tuple[str, float], ...]   # (rule id, certainty) in knowledge-base order
    steps: tuple[tuple[float, float, float], ...]  # (x, y, x + y - x*y)
    result: float


@dataclass(frozen=True)
class Counterfactual:
    """A rule that would conclude the item, and what this case lacks for it."""

    rule: Evidence
    concludes: str
    missing: tuple[str, ...]        # conditions the case does not meet
    met: tuple[str, ...]            # conditions it meets already
    in_the_way: tuple[str, ...]     # facts of the case that keep the rule from firing


@dataclass(frozen=True)
class Explanation:
    question: str                   # "why" or "why_not"
    item: str                       # the id asked about
    item_kind: str                  # modality, target, area, status or minutes
    label: str                      # the item in plain words
    verdict: str                    # recommended, blocked, priced_out, dropped_for_time, ...
    summary: str
    chains: tuple[Chain, ...] = ()
    steps: tuple[Step, ...] = ()
    combination: Combination | None = None
    details: tuple[str, ...] = ()
    counterfactuals: tuple[Counterfactual, ...] = ()
    caveats: tuple[str, ...] = ()
    see_also: str | None = None     # the other question worth asking ("--why deep_tissue")

    @property
    def rule_ids(self) -> tuple[str, ...]:
        """Every rule the explanation names."""
        steps = [*self.steps, *(c.conclusion for c in self.chains),
                 *(m for c in self.chains for m in c.mechanisms)]
        ids = [s.rule.rule_id for s in steps] + [c.rule.rule_id for c in self.counterfactuals]
        if self.combination is not None:
            ids += [r for r, _ in self.combination.values]
        return tuple(dict.fromkeys(ids))


def mycin(values: Iterable[float]) -> Combination | None:
    """Combine certainties in the given order: x + y - x*y."""
    items = list(values)
    if not items:
        return None
    steps, total = [], items[0]
    for y in items[1:]:
        combined = total + y - total * y
        steps.append((total, y, combined))
        total = combined
    return Combination((), tuple(steps), round(total, 4))


# -- resolving what is asked ------------------------------------------------------------------------------
def resolve_item(kb: KnowledgeBase, item_id: str) -> tuple[str, str]:
    """(kind, id) of an explainable item; unknown ids raise UnknownIdError with the nearest ids."""
    v = kb.vocabulary
    raw = item_id.strip()
    kind, _, rest = raw.partition(":")
    if rest and kind in ("modality", "target", "area", "status"):
        raw = rest
    if raw.lower() in TOPICS:
        return raw.lower(), raw.lower()
    names = _item_names(kb)
    for key in (raw, raw.lower(), _name_key(raw)):
        if key in names:
            return names[key]
    known = v.all_ids()
    if raw in known or raw in v.medication_classes or raw in v.medications:
        raise NotExplainableError(raw, known.get(raw, "medication").replace("_", " "))
    choices = [*TOPICS, *v.modalities, *v.targets, *v.areas, *v.statuses]
    raise UnknownIdError(raw, "modality, target or area",
                         difflib.get_close_matches(raw, choices, n=3, cutoff=0.6))


def _name_key(text: str) -> str:
    """'Swedish massage', 'swedish-massage' and 'SWEDISH_MASSAGE' all read 'swedish massage'."""
    return " ".join(text.lower().replace("_", " ").replace("-", " ").split())


def _item_names(kb: KnowledgeBase) -> dict[str, tuple[str, str]]:
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
            names.setdefault(_name_key(key), (kind, ident))
    return names


def why(result: PlanResult, kb: KnowledgeBase, item_id: str) -> Explanation:
    """Why the plan holds an item: the chains of rules and case facts that put it there."""
    kind, ident = resolve_item(kb, item_id)
    return _Explainer(result, kb).why(kind, ident)


def why_not(result: PlanResult, kb: KnowledgeBase, item_id: str) -> Explanation:
    """Why the plan does not hold an item: what blocked, capped or left it out, or what is missing."""
    kind, ident = resolve_item(kb, item_id)
    return _Explainer(result, kb).why_not(kind, ident)


def explain_recommended(result: PlanResult, kb: KnowledgeBase) -> tuple[Explanation, ...]:
    """The why of every recommended modality, most certain first (``recommend --explain``)."""
    explainer = _Explainer(result, kb)
    return tuple(explainer.why("modality", m.id) for m in result.plan.modalities)


def explain_blocked(result: PlanResult, kb: KnowledgeBase) -> tuple[Explanation, ...]:
    """The why-not of every blocked or priced-out modality and every blocked area."""
    explainer = _Explainer(result, kb)
    out = [explainer.why_not("modality", b.id) for b in result.plan.blocked_modalities]
    out += [explainer.why_not("area", a) for a in dict.fromkeys(b.id for b in result.plan.blocked_areas)]
    return tuple(out)


# -- the explainer ------------------------------------------------------------------------------------------------
class _Explainer:
    def __init__(self, result: PlanResult, kb: KnowledgeBase):
        self.result = result
        self.plan = result.plan
        self.kb = kb
        self.v = kb.vocabulary
        self.w = Words(kb.vocabulary)
        self.g = derivation_graph(result, kb)
        self.case_facts = [f for f in result.facts if F.KIND_OF.get(type(f)) in F.INPUT_KINDS]

    # -- building blocks ------------------------------------------------------------------------------
    def evidence(self, rule: RuleSpec) -> Evidence:
        return Evidence(rule.id, rule.description, rule.grade, GRADE_WORDS[rule.grade], rule.citation,
                        self.kb.citation_text(rule.citation))

    def fact(self, node: str) -> Any:
        return self.g.nodes[node]["fact"]

    def firings_of(self, derived: str) -> list[str]:
        return sorted((a for a, _ in edges_of(self.g, derived, ("concludes",), out=False)),
                      key=lambda n: self.g.nodes[n]["order"])

    def inputs_of(self, firing: str) -> list[str]:
        return [a for a, _ in edges_of(self.g, firing, ("activates",), out=False)]

    def premises(self, firing: str) -> tuple[str, ...]:
        """The case facts of a firing in clinical words, saying of a measure only what the rule tested."""
        rule = self.kb.by_id[self.g.nodes[firing]["rule"]]
        out = []
        for node in self.inputs_of(firing):
            fact = self.fact(node)
            kind = F.KIND_OF[type(fact)]
            tested = [name for k, fields in rule.positive if k == kind for name in (fields or {})]
            out.append(self.w.describe_fact(kind, fact, tested))
        return tuple(out)

    def step(self, firing: str, concludes: str, certainty: Certainty | None = None) -> Step:
        rule = self.kb.by_id[self.g.nodes[firing]["rule"]]
        return Step(self.evidence(rule), self.premises(firing), concludes, certainty)

    def derived_of_item(self, item: str, fact_kind: str | None = None) -> list[str]:
        return [a for a, _ in edges_of(self.g, item, ("yields",), out=False)
                if self.g.nodes[a]["kind"] == "derived" and fact_kind in (None, self.g.nodes[a]["fact_kind"])]

    def steps_for(self, derived: Iterable[str], concludes: Any) -> tuple[Step, ...]:
        """One step per firing behind the derived facts, in firing order, its conclusions merged."""
        said: dict[str, list[str]] = {}
        for node in derived:
            for firing in self.firings_of(node):
                said.setdefault(firing, []).append(concludes(self.fact(node)))
        return tuple(self.step(f, _merge(said[f])) for f in sorted(said, key=lambda n: self.g.nodes[n]["order"]))

    def derived_facts(self, fact_kind: str, **match: Any) -> list[str]:
        return [n for n in self._derived_by_kind.get(fact_kind, ())
                if all(self.fact(n)[k] == x for k, x in match.items())]

    @functools.cached_property
    def _derived_by_kind(self) -> dict[str, list[str]]:
        """The derived-fact nodes of each fact kind, in graph order (scanning every node per
        question made explaining a large case quadratic: minutes for 50 diagnoses)."""
        index: dict[str, list[str]] = {}
        for n, d in self.g.nodes(data=True):
            if d["kind"] == "derived":
                index.setdefault(d["fact_kind"], []).append(n)
        return index

    @functools.cached_property
    def _candidates_by_source(self) -> dict[str, list[str]]:
        index: dict[str, list[str]] = {}
        for n in self.derived_facts("candidate"):
            index.setdefault(self.source_node(self.fact(n)), []).append(self.fact(n)["target"])
        return index

    def conclusion_words(self, f: Any) -> str:
        return describe_conclusion(f, self.w)

    def certainty(self, firing: str, proposal: Any) -> Certainty:
        rule = self.kb.by_id[proposal["rule"]]
        weight = 1.0 if proposal["line"] == "request" else GRADE_WEIGHT.get(rule.grade, GRADE_WEIGHT["L"])
        factor = round((rule.certainty or 1.0) * weight, 6)
        premise = min((self.fact(n).get("cf", 1.0) for n in self.inputs_of(firing)), default=1.0)
        return Certainty(factor, premise, round(evidence_factor(self.kb, proposal), 6))

    def segment_of(self, target: str) -> Any:
        return next((s for s in self.plan.segments if target in s.targets), None)

    def delivered_on(self, modality: str) -> list[str]:
        """The planned targets a modality reaches: its segment offers it, the target's cap and area allow it."""
        mod = self.v.modalities[modality]
        out = []
        for t in self.plan.targets:
            seg = self.segment_of(t.id)
            cap = t.pressure_cap or self.plan.pressure_cap
            if seg is None or modality not in seg.modalities or self.v.rank(mod.lowest) > self.v.rank(cap):
                continue
            if not self.v.applies(modality, t.id):
                continue
            out.append(t.id)
        return out

    def source_node(self, f: Any) -> str:
        return f"case:{f['source_kind']}:{f['source_index']}"

    def mechanism_steps(self, source: str, benefits: Iterable[str]) -> tuple[Step, ...]:
        """The firings on a case fact that indicated a mechanism serving one of the benefits."""
        wanted = set(benefits)
        steps = []
        for firing, _ in edges_of(self.g, source, ("activates",)):
            mechs = [self.fact(n) for n, _ in edges_of(self.g, firing, ("concludes",))
                     if self.g.nodes[n]["fact_kind"] == "mechanism"]
            mechs = [m for m in mechs if self.v.mechanisms[m["name"]]["benefit"] in wanted]
            if mechs:
                names = or_list([self.w.label(m["name"]).lower() for m in mechs], "and")
                steps.append((self.g.nodes[firing]["order"], self.step(firing, f"indicates {names}")))
        return tuple(s for _, s in sorted(steps, key=lambda x: x[0]))

    def candidates_from(self, source: str) -> list[str]:
        return list(self._candidates_by_source.get(source, ()))

    def status_steps(self) -> tuple[Step, ...]:
        return self.steps_for(self.derived_of_item(plan_node("status")), self.conclusion_words)

    # -- why ------------------------------------------------------------------------------------------------
    def why(self, kind: str, ident: str) -> Explanation:
        if kind == "modality":
            return self.why_modality(ident)
        if kind in ("target", "area"):
            return self.why_site(kind, ident)
        if kind == "minutes":
            return self.why_minutes()
        return self.why_status(self.plan.status if ident == "status" else ident)

    def why_modality(self, modality: str) -> Explanation:
        planned = next((m for m in self.plan.modalities if m.id == modality), None)
        if planned is None:
            return self.why_not_modality(modality, asked="why")
        label = self.w.label(modality)
        delivered = set(self.delivered_on(modality))
        chains = []
        proposals = []
        for node in self.derived_of_item(plan_node("modality", modality), "proposal"):
            p = self.fact(node)
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
        counted, _ = combine(self.kb, proposals)
        combo = mycin(f for _, f in counted)
        if combo is not None:
            combo = Combination(counted, combo.steps, combo.result)
        elif proposals:  # only requested: a request is not evidence and keeps its own factor
            combo = Combination(tuple((p["rule"], float(p["certainty"])) for p in proposals[:1]), (),
                                planned.certainty)
        mod = self.v.modalities[modality]
        cap = ("nothing caps pressure" if self.plan.pressure_cap == "deep"
               else f"the plan's pressure cap is {self.plan.pressure_cap}")
        details = [f"delivered at {planned.pressure} pressure (its range {mod.lowest} to {mod.highest}; {cap})"]
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

    def target_words(self, target: str) -> str:
        t = next((t for t in self.plan.targets if t.id == target), None)
        return self.w.plain(target) + side_note(t.side if t else None)

    def why_site(self, kind: str, ident: str) -> Explanation:
        targets = [t for t in self.plan.targets if t.id == ident or (kind == "area" and t.area == ident)]
        if not targets:
            return self.why_not_site(kind, ident, asked="why")
        steps: list[Step] = []
        details = []
        made: dict[str, list[Any]] = {}  # firing -> the candidate facts it made for these targets
        for t in targets:
            item = plan_node("target", t.id)
            for node in self.derived_of_item(item, "candidate"):
                for firing in self.firings_of(node):
                    made.setdefault(firing, []).append(self.fact(node))
            narrowed = self.derived_of_item(item, "block")
            steps += self.steps_for(narrowed, lambda f, t=t: f"narrows {self.w.plain(t.id)} to the {t.side} side: "
                                    + self.conclusion_words(f))
            if t.pressure_cap is not None:
                steps += self.steps_for(self.derived_of_item(item, "cap"), self.conclusion_words)
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
        names = ", ".join(self.target_words(t.id) for t in targets)
        summary = (f"the {label} is in the plan: {names}" if kind == "area" and targets[0].id != ident
                   else f"{names} is a {targets[0].role} target of the plan")
        return Explanation("why", ident, kind, label, "recommended", summary, tuple(chains), tuple(steps),
                           details=tuple(details))

    def why_status(self, status: str) -> Explanation:
        plan, w = self.plan, self.w
        words = _status(plan.status)
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
            details.append(f"also raised: {_status(other)} ({rule}); the most severe status wins")
        for c in plan.clearances_required:
            details.append(f"missing clearance: {c} - {self.v.clearances[c]}")
        details += self.lifted()
        for r in plan.referrals:
            details.append(f"referral ({r.urgency}): {self.v.referrals[r.to]}")
        steps = list(dict.fromkeys(steps))
        if status != plan.status:
            summary = f"the status is {words}, not {_status(status)}"
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

    def has(self, kind: str, fields: Any) -> bool:
        return any(F.KIND_OF[type(f)] == kind and pattern_matches(fields, f) for f in self.case_facts)

    def why_minutes(self) -> Explanation:
        plan, case, w = self.plan, self.result.case, self.w
        if not plan.treats:
            status = self.why_status(plan.status)
            return Explanation("why", "minutes", "minutes", "session minutes", "no_treatment",
                               f"0 minutes: the status is {_status(plan.status)}, so nothing is treated",
                               steps=status.steps, details=status.details)
        ordered = case.prescription.max_minutes
        limits = self.derived_of_item(plan_node("minutes"), "limit")
        details = [f"ceiling {plan.minutes_ceiling} minutes: " + (
            f"the prescription allows {ordered}" if ordered else "30 when the prescription sets no length")
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

    # -- why not -------------------------------------------------------------------------------------------
    def why_not(self, kind: str, ident: str) -> Explanation:
        if kind == "modality":
            return self.why_not_modality(ident)
        if kind in ("target", "area"):
            return self.why_not_site(kind, ident)
        return replace(self.why(kind, ident), question="why_not")

    def recommended(self, kind: str, ident: str, what: str) -> Explanation:
        return Explanation("why_not", ident, kind, self.w.label(ident) if kind == "modality" else self.w.plain(ident),
                           "recommended", f"{what}: recommended, it is in the plan", see_also=f"--why {ident}")

    def why_not_modality(self, modality: str, asked: str = "why_not") -> Explanation:
        plan, w = self.plan, self.w
        label = w.label(modality)
        planned = next((m for m in plan.modalities if m.id == modality), None)
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
                summary = f"{label}: blocked " + _reasons(steps)
                verdict = "blocked"
            else:
                steps = self.steps_for(self.derived_of_item(item, "cap"), self.conclusion_words)
                lowest = self.v.modalities[modality].lowest
                summary = (f"{label}: priced out - its lowest pressure is {lowest}, above the {plan.pressure_cap} "
                           "pressure cap set " + _reasons(steps))
                verdict = "priced_out"
            return Explanation(asked, modality, "modality", label, verdict, summary, steps=steps + proposers,
                               details=tuple(details))
        if proposers and not plan.treats:
            steps = self.status_steps()
            summary = (f"{label}: proposed, but nothing is treated today - the status is "
                       f"{_status(plan.status)} ({', '.join(s.rule.rule_id for s in steps)})")
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
            out.append(f"and nothing is treated today: the status is {_status(self.plan.status)}")
        return out

    def why_not_site(self, kind: str, ident: str, asked: str = "why_not") -> Explanation:
        plan, outcome, w = self.plan, self.result.outcome, self.w
        label = w.plain(ident)
        in_plan = [t for t in plan.targets if t.id == ident or (kind == "area" and t.area == ident)]
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
        for t in considered:
            if t in outcome.blocked_targets:
                details.append(f"{w.plain(t)}: lies in a blocked area ({', '.join(outcome.blocked_targets[t])})")
            elif t in dropped:
                details.append(f"{w.plain(t)}: the {w.plain(dropped[t])} group was left out: no time "
                               f"(ceiling {plan.minutes_ceiling} minutes)")
            elif t in outcome.undeliverable:
                details.append(f"{w.plain(t)}: {outcome.undeliverable[t]}")
            elif not plan.treats:
                details.append(f"{w.plain(t)}: nothing is treated today (status {_status(plan.status)})")
            elif t not in {p.id for p in plan.targets}:
                details.append(f"{w.plain(t)}: covered by the more specific targets in "
                               f"{w.site(self.v.area_of(t))}")
        if in_plan:
            details.append("still treated: " + ", ".join(self.target_words(t.id) for t in in_plan))
        if steps:
            summary = f"{label}: no work there, set " + _reasons(steps)
            verdict = "blocked"
        elif any(t in dropped for t in considered):
            summary, verdict = f"{label}: left out for time", "dropped_for_time"
        elif any(t in outcome.undeliverable for t in considered):
            summary, verdict = f"{label}: no recommended modality can be delivered there", "undeliverable"
        elif considered and not plan.treats:
            status = self.status_steps()
            steps = list(status)
            summary = f"{label}: nothing is treated today - the status is {_status(plan.status)}"
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

    # -- counterfactuals ----------------------------------------------------------------------------------
    def counterfactuals(self, rules: Iterable[RuleSpec], concludes: Any) -> tuple[Counterfactual, ...]:
        """What each rule would conclude (``concludes(rule)``) and what the case lacks for it;
        the rules closest to firing come first."""
        out = []
        for rule in {r.id: r for r in rules}.values():
            missing: list[str] = []
            met: list[str] = []
            in_the_way: list[str] = []
            for kind, fields in rule.positive:
                (met if self.has(kind, fields) else missing).append(self.w.describe_pattern(kind, fields))
            for kind, fields in rule.negative:
                for f in self.case_facts:
                    if F.KIND_OF[type(f)] == kind and pattern_matches(fields, f):
                        in_the_way.append(self.w.describe_fact(kind, f, list(fields or {})))
            in_the_way += [f"a documented {gate} clearance" for gate in rule.clearance_gates
                           if self.has("clearance", {"name": gate})]
            p = rule.then.propose
            line = "" if p is None or not rule.certainty else f" ({LINE_WORDS[p.line]}, certainty {rule.certainty:.2f})"
            out.append(Counterfactual(self.evidence(rule), concludes(rule) + line, tuple(missing), tuple(met),
                                      tuple(in_the_way)))
        order = {r.id: r.order for r in self.kb.rules}
        return tuple(sorted(out, key=lambda c: (len(c.missing) + len(c.in_the_way), order[c.rule.rule_id])))
        return tuple(out)


def _status(status: str) -> str:
    """'refer urgently', 'treat with precautions'."""
    return STATUS_PHRASES.get(status, status.replace("_", " "))


def _merge(conclusions: Iterable[str]) -> str:
    """'blocks A', 'blocks B', 'caps ...' -> 'blocks A and B; caps ...'."""
    by_verb: dict[str, list[str]] = {}
    for text in dict.fromkeys(conclusions):
        verb, _, rest = text.partition(" ")
        by_verb.setdefault(verb, []).append(rest)
    return "; ".join(f"{verb} {or_list(rests, 'and')}" if verb in ("blocks", "proposes") else
                     "; ".join(f"{verb} {r}" for r in rests) for verb, rests in by_verb.items())


def _reasons(steps: Iterable[Step]) -> str:
    """'by contra-anticoagulant because medications include warfarin (anticoagulant); and by ...'."""
    return "; and ".join(f"by {s.rule.rule_id} because {or_list(s.because, 'and')}" for s in steps)


def _values(cond: Any) -> list[Any]:
    if isinstance(cond, dict):
        return list(cond.get("in", [cond["eq"]] if "eq" in cond else []))
    return [] if cond is None else [cond]


