"""Resolution: the conclusions of one run become one plan.

The precedence rules of clinical-knowledge §4: the most severe status wins, a block beats any
request, the most restrictive cap wins, area caps narrow where a modality is used, a modality
is delivered only on tissue it applies to, and a case with nothing left to treat is deferred
with a reassessment advisory. The caps, blocks and referrals are read in ``limits``, the
targets and their modalities placed in ``targets``; here the plan is assembled: its status,
schedule, planned modalities and advisories.
"""

from __future__ import annotations

import difflib
from collections import defaultdict

from ..cases.models import Case
from ..intake.medications import load_drugs
from ..kb.knowledge_base import KnowledgeBase
from ..kb.vocabulary import NO_TREATMENT
from .advisory_kinds import ACTION, DELIVERY, STATUS, RuleAdvisories, beside_treatment_only, intake_notes
from .certainty import CaseScope, ModalityCertainty, modality_certainty
from .limits import Limits
from .plan import (
    SITE_APPLICABILITY,
    BlockedModality,
    Plan,
    PlannedModality,
    PlannedTarget,
    Segment,
    Work,
)
from .results import Conclusions, Outcome
from .session_time import SEGMENT_MIN, GroupNeed, allocate, evidence_dose, session_ceiling
from .targets import INTRAORAL_ADVISORY, INTRAORAL_REASON, Targets, TargetState

NO_TARGET_IT_APPLIES_TO = "no target it applies to"


class Resolver:
    """Resolves the conclusions of one run into a plan (one instance per case)."""

    def __init__(self, kb: KnowledgeBase, case: Case, c: Conclusions):
        self.kb = kb
        self.v = kb.vocabulary
        self.case = case
        self.c = c
        self.order = kb.rule_order
        self.limits = Limits(kb, c)
        self.targets = Targets(self.limits)
        self.ids = self.limits.ids
        self.advisories: list[str] = []
        self.no_site_targets: dict[str, list[str]] = {}
        self.certainties: dict[str, ModalityCertainty] = {}

    def resolve(self) -> tuple[Plan, Outcome]:
        c, case = self.c, self.case
        cap, cap_because = self.limits.cap()
        blocks, priced = self.limits.blocked_modalities(cap)
        states = self.targets.candidates()
        candidate_ids = set(states)
        proposed = {p["modality"] for p in c["proposal"]}
        self.no_site_targets = self.targets.inapplicable(states, proposed - set(blocks) - set(priced))
        no_site: dict[str, tuple[str, ...]] = {m: (SITE_APPLICABILITY,) for m in self.no_site_targets}
        blocked_mods = self.unavailable_modalities(cap, blocks, priced, no_site)
        blocked_areas = self.limits.blocked_areas(blocks)
        referrals = self.limits.referrals()
        required = tuple(sorted({f["clearance"] for f in c["requirement"]}))
        severe = [(f["status"], f["rule"]) for f in c["block"] if f["kind"] == "all"]
        if required:
            severe += [("needs_clearance", f["rule"]) for f in c["requirement"]]
        rule_notes = RuleAdvisories.of(self.kb, c["advisory"])  # clinical-v2.1 §7: delivery ones only if it treats
        self.advisories += rule_notes.always
        notes = intake_notes(case)
        self.advisories += [text for text, _ in notes]
        kinds = {**rule_notes.kinds, **dict(notes)}  # each advisory's kind, for the plan (§7)
        for clearance in required:
            self.advisories.append(f"needs {clearance} clearance: {self.v.clearances[clearance]}")
        dose = evidence_dose(((d.condition, d.effective_acuity) for d in case.diagnoses),
                             {k: d.dose_minutes for k, d in self.kb.doses.items()})
        ceiling = session_ceiling(case.prescription.max_minutes, dose, (f["minutes"] for f in c["limit"]))

        not_covered = tuple(getattr(case, "not_covered", ()))
        unchecked = self.unchecked_medications()
        self.advisories += unchecked
        kinds.update(dict.fromkeys(unchecked, ACTION))
        outside = not case.diagnoses  # only codes the knowledge base treats as no diagnosis (§8)
        if outside:
            severe.append(("defer", ""))
            uncovered = [*not_covered, *((code, text) for _, code, text, _, _ in case.read_as)]
            self.advisories.append("the case lies outside the knowledge base: no rule covers "
                                   + ", ".join(f"{code} ({text})" for code, text in dict.fromkeys(uncovered))
                                   + "; plan the session by clinical judgement or refer back to the physician")
        blocked_targets = self.targets.apply_area_blocks(states, blocked_areas)
        self.targets.drop_subsumed_areas(states)
        self.targets.apply_caps(states, cap)
        available = proposed - set(blocks) - set(priced) - set(no_site)
        had_targets = bool(states)
        undeliverable = self.targets.assign_modalities(states, available)
        undeliverable.update({t: INTRAORAL_REASON for t in self.targets.intraoral if t not in undeliverable})
        single_blocks = self.targets.single_blocks(candidate_ids)
        stopped, stopped_notes = self.targets.stopped_modalities(states, available)
        self.advisories += stopped_notes
        blocked_mods = sorted([*blocked_mods, *stopped], key=lambda b: b.id)
        available -= {b.id for b in stopped}

        if not states:  # nothing left to treat: defer, unless something more severe applies
            severe += [("defer", r) for r in sorted({r for rules in blocked_targets.values() for r in rules})]
            if not any(kind == "defer" for kind, _ in severe):
                severe.append(("defer", ""))
            if not any(f["kind"] == "all" for f in c["block"]) and not outside:
                self.advisories.append(self.nothing_to_treat(blocked_targets, undeliverable, had_targets))
        status = self.v.most_severe([s for s, _ in severe]) if severe else "treat"
        status_because = self.ids(r for s, r in severe if s == status and r)

        outcome_time: dict[str, tuple[str, ...]] = {}
        segments: list[Segment] = []
        targets: list[PlannedTarget] = []
        modalities: list[PlannedModality] = []
        if status not in NO_TREATMENT:
            segments, outcome_time = self.schedule(states, ceiling)
            scheduled_ids = {t for s in segments for t in s.targets}
            scheduled = {k for k, s in states.items() if s.id in scheduled_ids}  # state keys (a split target: two)
            targets = self.planned_targets(states, segments)
            modalities = self.planned_modalities(states, scheduled)
            # a restriction of an area to some modalities blocks the others there: a precaution; a
            # target cap is one only where it lowered a pressure (clinical-v2.1 §4.2)
            precautions = (blocked_mods or blocked_areas or single_blocks or cap != "deep"
                           or c.by_kind.get("restrict")
                           or any(t.pressure_cap not in (None, "deep") for t in targets))
            status = "treat_with_precautions" if precautions else "treat"
            first_delivery = len(self.advisories)  # from here on: how to deliver this session
            self.advisories += rule_notes.shown(True, sum(s.minutes for s in segments), dose)
            self.advisories += self.left_out(states, segments, outcome_time, modalities, ceiling)
            self.advisories += self.unplanned_focus_areas(targets)
            self.advisories += self.endangerment(targets)
            self.advisories += [INTRAORAL_ADVISORY] if "diagnosis" in {k for ks in self.targets.intraoral.values()
                                                                       for k in ks} else []
            self.advisories += self.caveats(modalities)
            kinds.update({a: DELIVERY for a in self.advisories[first_delivery:] if a not in kinds})
        delivered = {m.id for m in modalities}
        unplanned_notes = self.unplanned_target_notes(targets)
        advisories = tuple(dict.fromkeys(a for a in self.advisories if a not in unplanned_notes))
        plan = Plan(
            case_id=case.id, status=status, status_because=status_because,
            modalities=tuple(modalities), targets=tuple(targets),
            blocked_modalities=tuple(blocked_mods), blocked_areas=blocked_areas,
            pressure_cap=cap, pressure_cap_because=cap_because,
            total_minutes=sum(s.minutes for s in segments), minutes_ceiling=ceiling,
            segments=tuple(segments), clearances_required=required,
            referrals=tuple(r for r in referrals  # exercise first (§5.2): beside a treatment only
                            if status not in NO_TREATMENT or not beside_treatment_only(self.kb, r.because)),
            advisories=advisories, advisory_kinds=tuple(kinds.get(a, STATUS) for a in advisories),
            caps=(*self.limits.area_caps(), *self.limits.target_caps(candidate_ids)), blocked_targets=single_blocks,
            not_covered=not_covered,
            unrecognised_medications=tuple(getattr(case, "unrecognised_medications", ())),
        )
        outcome = Outcome(priced_out=priced, dropped_for_time=outcome_time, undeliverable=undeliverable,
                          blocked_targets=blocked_targets,
                          not_delivered=tuple(sorted(available - delivered)), certainty=dict(self.certainties))
        return plan, outcome

    # -- status and advisories ------------------------------------------------------------------
    def unavailable_modalities(self, cap: str, blocks: dict[str, set[str]], priced: dict[str, tuple[str, ...]],
                               no_site: dict[str, tuple[str, ...]]) -> list[BlockedModality]:
        """The modalities blocked, priced out by the cap, or applying to no target; a requested one
        is named in an advisory."""
        request_rules = {p["modality"]: p["rule"] for p in self.c["proposal"] if p["line"] == "request"}
        blocked_mods = []
        for mod in sorted(set(blocks) | set(priced) | set(no_site)):
            why = blocks.get(mod) or priced.get(mod) or no_site[mod]
            because = set(why)
            reason = "blocked" if mod in blocks else "priced_out" if mod in priced else NO_TARGET_IT_APPLIES_TO
            if mod in request_rules:
                because.add(request_rules[mod])
                how = {"blocked": "blocked", "priced_out": f"priced out by the {cap} pressure cap",
                       NO_TARGET_IT_APPLIES_TO: self.no_target_words(mod)}[reason]
                self.advisories.append(f"requested {self.v.label(mod)} is not given: {how} "
                                       f"({', '.join(self.ids(why))}); "
                                       "a request never overrides a contraindication or an exclusion")
            blocked_mods.append(BlockedModality(mod, self.ids(because), reason))
        return blocked_mods

    def left_out(self, states: dict[str, TargetState], segments: list[Segment],
                 outcome_time: dict[str, tuple[str, ...]], modalities: list[PlannedModality],
                 ceiling: int) -> list[str]:
        """An area group the session had no time for, with the modalities lost with it."""
        v = self.v
        out = []
        total = sum(s.minutes for s in segments)
        delivered_now = {m.id for m in modalities}
        for group, left_out in outcome_time.items():
            lost = sorted({m for s in states.values() if s.id in left_out for m in s.modalities} - delivered_now)
            also = f"; {', '.join(v.label(m) for m in lost)} not given" if lost else ""
            short = ("no time" if total >= ceiling else
                     f"the {ceiling - total} minutes left are under one {SEGMENT_MIN}-minute segment")
            out.append(f"{v.label(group)} left out: {short} ({', '.join(v.label(t) for t in left_out)}){also}")
        return out

    def unplanned_focus_areas(self, targets: list[PlannedTarget]) -> list[str]:
        """A focus area of the prescription that holds no target of the plan, in area order."""
        v = self.v
        planned_areas = {t.area for t in targets}
        return [f"focus area {v.label(area)}: no target of this plan lies there "
                "(no rule for these diagnoses works it, or it is blocked)"
                for area in sorted(set(self.case.prescription.focus_areas), key=list(v.areas).index)
                if area not in planned_areas]

    def unchecked_medications(self) -> list[str]:
        """A medication the knowledge base could not classify is named, with a close known name."""
        names = tuple(getattr(self.case, "unrecognised_medications", ()))
        if not names:
            return []
        table = load_drugs()
        known = sorted({*self.v.medications, *table.drugs})
        codes = {m.name: m.atc for m in self.case.medications if not isinstance(m, str) and m.atc}
        out = []
        for name in names:
            close = difflib.get_close_matches(name.lower(), known, n=1, cutoff=0.8)
            hint = f" (did you mean {close[0]}?)" if close else ""
            under = table.classes_under(codes[name]) if name in codes else ()
            if under:
                hint += f" (ATC group {codes[name]} includes {' and '.join(under)} drugs)"
            out.append(f"medication not checked: {name}{hint} is not in the knowledge base's drug table; "
                       "confirm its class (an anticoagulant, a corticosteroid, chemotherapy?) before treating")
        return out

    def no_target_words(self, modality: str) -> str:
        """Why a modality reaches no target, in clinical words."""
        mod = self.v.modalities[modality]
        tissues = " or ".join(self.v.label(t) for t in mod.applies_to) or "any tissue"
        sites = "; ".join(f"{self.v.label(t)} is {self.v.label(self.v.tissue_of(t))}"
                          for t in self.no_site_targets.get(modality, ()))
        return f"no target it applies to: {mod.label} works on {tissues}" + (f", and {sites}" if sites else "")

    def nothing_to_treat(self, blocked: dict[str, tuple[str, ...]], undeliverable: dict[str, str],
                         had_targets: bool) -> str:
        """Why a plan with no target left is deferred, and when to reassess."""
        if blocked and not had_targets:
            rules = self.ids(r for rs in blocked.values() for r in rs)
            return ("nothing can be treated today: every candidate target lies in a blocked area "
                    f"({', '.join(rules)}); reassess when those areas can be treated or a clearance lifts the block")
        if undeliverable:
            rules = self.ids(r for stopped in self.targets.stopped_at.values() for rs in stopped.values() for r in rs)
            by_reason: dict[str, list[str]] = defaultdict(list)
            for t, reason in sorted(undeliverable.items()):  # by id: the same words whatever the input order
                by_reason[reason].append(self.v.label(t))
            why = "; ".join(f"{', '.join(targets)}: {reason}" for reason, targets in by_reason.items())
            because = "; ".join(f"{self.kb.by_id[r].description} ({r})" for r in rules if r in self.kb.by_id)
            return (f"nothing can be treated today: {why}"
                    + (f". Set by: {because}" if because else "")
                    + "; reassess when that restriction ends or a clearance lifts it")
        return ("nothing can be treated today: the case gives no target to treat (e.g. the muscles holding "
                "trigger points); reassess with a fuller examination")

    # -- the session ----------------------------------------------------------------------------
    def schedule(self, states: dict[str, TargetState],
                 ceiling: int) -> tuple[list[Segment], dict[str, tuple[str, ...]]]:
        v, case = self.v, self.case
        focus = set(case.prescription.focus_areas)
        own_areas = {d.area for d in case.diagnoses if d.area}
        needs: dict[str, dict[str, bool]] = defaultdict(lambda: dict(focus=False, primary=False, chronic=False,
                                                                     finding=False, own_area=False))
        for state in states.values():
            need = needs[v.areas[state.area]]
            need["focus"] |= state.area in focus
            need["primary"] |= bool(state.primary_of)
            need["chronic"] |= any(case.diagnoses[i].effective_acuity == "chronic" for i in state.primary_of)
            need["finding"] |= "finding" in state.roles
            need["own_area"] |= state.area in own_areas
        alloc = allocate([GroupNeed(g, **n) for g, n in needs.items()], ceiling, v.area_groups)
        target_rank = self.targets.site_rank
        mod_rank = {m: i for i, m in enumerate(v.modalities)}
        members_of = {g: sorted((s for s in states.values() if v.areas[s.area] == g),
                                key=lambda s: (target_rank[s.id], s.key)) for g in v.area_groups}
        segments = []
        # Segments run in the order the groups were given time (focus and primary work first).
        for group, minutes in alloc:
            members = members_of[group]
            work = tuple(Work(s.id, s.side, mod, s.modalities[mod]) for s in members
                         for mod in sorted(s.modalities, key=mod_rank.__getitem__))
            mods = tuple(sorted({w.modality for w in work}, key=mod_rank.__getitem__))
            segments.append(Segment(minutes, group, tuple(dict.fromkeys(s.id for s in members)), mods, work))
        given = {g for g, _ in alloc}
        dropped = {g: tuple(dict.fromkeys(s.id for s in members_of[g])) for g in v.area_groups
                   if members_of[g] and g not in given}
        return segments, dropped

    def planned_targets(self, states: dict[str, TargetState], segments: list[Segment]) -> list[PlannedTarget]:
        """The scheduled targets, in session order, once each (a target split by a one-sided target cap:
        once per side). Its own cap is shown when an area cap holds there or a target cap lowered it."""
        order = {tid: i for i, tid in enumerate(dict.fromkeys(t for segment in segments for t in segment.targets))}
        chosen = sorted((s for s in states.values() if s.id in order), key=lambda s: (order[s.id], s.key))
        return [PlannedTarget(s.id, s.area, s.side, s.role, self.ids(s.because),
                              s.cap if s.area_capped or s.cap_lowered else None)
                for s in chosen]

    def unplanned_target_notes(self, targets: list[PlannedTarget]) -> set[str]:
        """The advisories of target-cap rules (sternocleidomastoid by pincer grip) whose targets the plan
        does not work: not shown."""
        planned = {t.id for t in targets}
        out = set()
        for f in self.c["advisory"]:
            rule = self.kb.by_id.get(f["rule"])
            capped = {site for g in self.c["cap"] if g["rule"] == f["rule"] and g.get("target")
                      for site in (g["target"], g["area"])}  # the target, or its area worked as a whole
            if rule is not None and rule.then.cap is not None and rule.then.cap.targets and not planned & capped:
                out.add(f["text"])
        return out

    def planned_modalities(self, states: dict[str, TargetState], scheduled: set[str]) -> list[PlannedModality]:
        pressure: dict[str, str] = {}
        for tid in scheduled:
            for mod, p in states[tid].modalities.items():
                if mod not in pressure or self.v.rank(p) > self.v.rank(pressure[mod]):
                    pressure[mod] = p
        benefit_rank = {b: i for i, b in enumerate(self.v.benefits)}
        scope = CaseScope.of(self.case)
        out = []
        for mod, p in pressure.items():
            # only delivered evidence counts (clinical-v2.1 §6.3): the rules whose proposal reached
            # a scheduled target the modality is given on
            delivering = {r for tid in scheduled for r in states[tid].given_by.get(mod, ())
                          if mod in states[tid].modalities}
            props = [f for f in self.c["proposal"] if f["modality"] == mod and f["rule"] in delivering]
            mc = modality_certainty(self.kb, mod, self.c["proposal"], delivering, scope)
            self.certainties[mod] = mc
            evidence = [f for f in props if f["line"] != "request"]
            benefits = sorted({b for f in evidence for b in f["benefits"]}, key=benefit_rank.__getitem__)
            because = self.ids({f["rule"] for f in props})
            out.append(PlannedModality(mod, p, mc.value, tuple(benefits), because, mc.requested, mc.grade,
                                       mc.extrapolated_from))
        return sorted(out, key=lambda m: (-m.certainty, m.id))

    def endangerment(self, targets: list[PlannedTarget]) -> list[str]:
        areas = {t.area for t in targets}
        return [f"{self.v.label(site)}: avoid deep pressure at the site itself"
                for site, area in self.v.endangerment_sites.items() if area in areas]

    def caveats(self, modalities: list[PlannedModality]) -> list[str]:
        served = {b for m in modalities for b in m.benefits}
        return [c.text for c in self.kb.caveats if served & set(c.benefits)]
