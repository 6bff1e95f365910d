"""Property tests: every plan of every generated valid case keeps the invariants of contract §2
and the safety rules of clinical-knowledge §4.

Cases come from :mod:`tests.strategies` (valid by construction); a safety property adds the
fact it is about (an anticoagulant, a red flag, a pregnancy...) to an otherwise arbitrary
case, so that the rule is tested against every combination hypothesis can find.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import jsonschema
import pytest
from hypothesis import HealthCheck, event, example, given, settings
from hypothesis import strategies as st

from medmassage_rules.cases.schema import case_schema
from medmassage_rules.planning.certainty import GRADE_WEIGHT, CaseScope, rule_grade
from medmassage_rules.planning.plan import NO_TREATMENT, SITE_APPLICABILITY
from medmassage_rules.planning.targets import SIDELESS_AREAS

from ..helpers import assert_plan_shape
from ..strategies import KB, V, build, case_dicts, plan, without_contradiction

SETTINGS = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
PAIR_SETTINGS = settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
SAFETY_SETTINGS = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])

BOTH = frozenset({"left", "right"})
NMT_TPT_DEEP = {"deep_tissue", "trigger_point_therapy", "neuromuscular_therapy"}
RED_FLAGS = ("saddle_anesthesia", "bowel_bladder_dysfunction", "headache_red_flags", "vascular_tos_signs",
             "exertional_chest_pain")


def covered(side: str | None) -> frozenset[str]:
    """The sides a target or block covers: no side, or bilateral, covers both."""
    return BOTH if side in (None, "bilateral") else frozenset({side})


def rank(pressure: str) -> int:
    return V.rank(pressure)


def severity(status: str) -> int:
    """0 for the most severe status."""
    return V.severity_rank(status)


def target_cap(plan: dict, target: dict) -> str:
    return target.get("pressure_cap", plan["pressure_cap"])


def named_rules(plan: dict) -> set[str]:
    named = set(plan.get("status_because", ())) | set(plan.get("pressure_cap_because", ()))
    for item in (*plan["modalities"], *plan["targets"], *plan["blocked"]["modalities"],
                 *plan["blocked"]["areas"], *plan["referrals"]):
        named.update(item["because"])
    return named


def caps_on(plan: dict, area: str, side: str | None) -> list[str]:
    """Every area cap in force on a target (an axial area's cap covers both sides)."""
    return [c["pressure"] for c in plan["caps"] if c.get("area") == area
            and (area in V.axial_areas or covered(c["side"]) & covered(side))]


def restricted(result: Any, target: dict) -> bool:
    """Whether a rule limits the modalities allowed on the target's area."""
    return any(type(f).__name__ == "Restrict" and f["area"] == target["area"] for f in result.facts)


def assert_work(p: dict, targets: dict[str, dict]) -> None:
    """Contract §5 (v2): each work pair on tissue its modality applies to, at a pressure within
    the modality's range, the plan's cap and every cap on its area; a segment's targets and
    modalities are exactly those of its work."""
    for s in p["session"]["segments"]:
        work = s["work"]
        assert work, s
        assert list(dict.fromkeys(w["target"] for w in work)) == s["targets"], s
        assert sorted({w["modality"] for w in work}) == sorted(s["modalities"]), s
        for w in work:
            spec = V.modalities[w["modality"]]
            assert V.applies(w["modality"], w["target"]), w
            assert rank(spec.lowest) <= rank(w["pressure"]) <= rank(spec.highest), w
            assert rank(w["pressure"]) <= rank(p["pressure_cap"]), w
            for cap in caps_on(p, V.area_of(w["target"]), w["side"]):
                assert rank(w["pressure"]) <= rank(cap), (w, cap)
            for c in p["caps"]:  # and every cap on the target itself, on its side (case-format §6)
                if c.get("target") == w["target"] and covered(c["side"]) & covered(w["side"]):
                    assert rank(w["pressure"]) <= rank(c["pressure"]), (w, c)
            assert w["side"] in {t["side"] for t in p["targets"] if t["id"] == w["target"]}, w
    delivered = {(w["modality"], w["pressure"]) for s in p["session"]["segments"] for w in s["work"]}
    for m in p["modalities"]:  # a modality's pressure is the highest it is delivered at
        assert m["pressure"] == max((pr for mid, pr in delivered if mid == m["id"]), key=rank), m


# -- the invariants of contract §2 -----------------------------------------------------------------

def assert_invariants(data: dict[str, Any]) -> dict:
    """Plan the case and check every invariant of contract §2; returns the plan's JSON form."""
    result = plan(data)
    case = result.case
    p = result.plan.to_dict()
    assert_plan_shape(p, V)
    mods = p["modalities"]
    blocked_mods = {b["id"] for b in p["blocked"]["modalities"]}

    # modalities by certainty, highest first, ties by id; none both given and blocked
    assert mods == sorted(mods, key=lambda m: (-m["certainty"], m["id"]))
    assert len({m["id"] for m in mods}) == len(mods)
    assert not ({m["id"] for m in mods} & blocked_mods)

    # pressures within the modality's range and the plan's cap; a target's cap within the plan's
    for m in mods:
        spec = V.modalities[m["id"]]
        assert rank(spec.lowest) <= rank(m["pressure"]) <= rank(spec.highest), m
        assert rank(m["pressure"]) <= rank(p["pressure_cap"]), m
    for t in p["targets"]:
        assert rank(target_cap(p, t)) <= rank(p["pressure_cap"]), t

    # no target in a blocked area; a block on an axial area holds on both sides, and a block of
    # the area a target is worked through (iliopsoas through the abdomen) blocks the target
    for t in p["targets"]:
        for b in p["blocked"]["areas"]:
            if b["id"] == t["area"]:
                assert t["area"] not in V.axial_areas, (t, b)
                assert not covered(t["side"]) & covered(b["side"]), (t, b)
            assert b["id"] != V.approach_areas.get(t["id"]), (t, b)

    # every `because` names a rule of the knowledge base that fired for this case (or the
    # planner's own site-applicability rule)
    fired = {f.rule_id for f in result.trace}
    named = named_rules(p) - {SITE_APPLICABILITY}
    assert named <= set(KB.by_id)
    assert named <= fired
    for b in p["blocked"]["modalities"]:
        if b["reason"] == "no target it applies to":
            assert SITE_APPLICABILITY in b["because"], b

    # the most severe status wins; a clearance the case gives is never asked for
    for rule_id in fired:
        then = KB.by_id[rule_id].then
        if then.block_all is not None:
            assert severity(p["status"]) <= severity(then.block_all.status), rule_id
        if then.require is not None:
            assert severity(p["status"]) <= severity("needs_clearance"), rule_id
    assert not set(p["clearances_required"]) & set(case.clearances)

    # the most restrictive whole-body cap wins
    for rule_id in p["pressure_cap_because"]:
        assert KB.by_id[rule_id].then.cap.pressure == p["pressure_cap"]
    assert (p["pressure_cap"] == "deep") == (not p["pressure_cap_because"])

    # certainty follows the evidence: each proposing rule's factor weighed by the grade it counts at
    # for this case (L outside its source's population, clinical-v2.1 §6.1), once per source,
    # combined as x + y - xy; a request is not evidence (only requested: 0.5)
    scope = CaseScope.of(case)
    for m in mods:
        per_source: dict[str, float] = {}
        for rule_id in m["because"]:
            rule = KB.by_id[rule_id]
            if rule.then.propose.line != "request":
                factor = rule.certainty * GRADE_WEIGHT[rule_grade(KB, rule_id, scope).grade]
                per_source[rule.citation] = max(per_source.get(rule.citation, 0.0), factor)
        combined = 0.0
        for factor in per_source.values():
            combined = combined + factor - combined * factor
        assert m["certainty"] == pytest.approx(combined if per_source else 0.5, abs=1e-4), m
        assert m["requested"] == (m["id"] in case.prescription.modalities), m
        assert (m["grade"] is None) == (not per_source), m

    # a target has a side when its diagnosis or finding has one (a one-sided block, or a one-sided
    # restriction such as a recent surgery's on the other side, may narrow a bilateral one), and only then
    sides = {d.side for d in case.diagnoses} | {f.side for f in case.findings}
    if sides == {None}:
        narrowed = {b["id"] for b in p["blocked"]["areas"] if b["side"] in ("left", "right")}
        for t in p["targets"]:
            one_sided = (any(KB.by_id[r].then.restrict_modalities is not None for r in t["because"])
                         or t["id"] in {c.get("target") for c in p["caps"] if c["side"] in ("left", "right")})
            assert t["side"] is None or t["area"] in narrowed or one_sided, t
    elif None not in sides:
        for t in p["targets"]:
            assert t["side"] is not None or t["area"] in SIDELESS_AREAS, t  # the abdomen is worked as one
            if len(sides) == 1 and sides != {"bilateral"}:
                assert t["side"] in sides or t["area"] in SIDELESS_AREAS, t

    session = p["session"]
    status = p["status"]
    event(f"status {status}")
    if status == "defer":  # deferred: the plan says when to reassess
        assert any("reassess" in a for a in p["advisories"]), p["advisories"]
    if status in NO_TREATMENT:
        assert mods == [] and p["targets"] == [] and session["segments"] == []
        assert session["total_minutes"] == 0
        if status == "needs_clearance":
            assert p["clearances_required"]
        if status in ("refer", "refer_urgent"):
            assert p["referrals"]
        if status == "refer_urgent":
            assert any(r["urgency"] == "urgent" for r in p["referrals"])
        return p

    # a treatable plan: segments of 15..30 minutes within the ceiling, one per group
    segments = session["segments"]
    assert mods and p["targets"] and segments
    assert session["total_minutes"] == sum(s["minutes"] for s in segments)
    assert all(15 <= s["minutes"] <= 30 for s in segments), segments
    ceiling = case.prescription.max_minutes or 60  # v2.1 §5.1: the evidence dose, at most 60
    assert session["total_minutes"] <= ceiling

    # targets are exactly the targets of the segments; each segment's modalities are deliverable
    targets = {t["id"]: t for t in p["targets"]}
    scheduled = {tid for s in segments for tid in s["targets"]}
    assert scheduled == set(targets), (scheduled, list(targets))
    # once each; a target split by a one-sided target cap (clinical-v2.1 §4.2) once per side
    assert len({(t["id"], t["side"]) for t in p["targets"]}) == len(p["targets"])
    split = {t["id"] for t in p["targets"]} - {t["id"] for t in p["targets"] if t["side"] not in ("left", "right")}
    assert all(sum(t["id"] == tid for t in p["targets"]) == 1 or tid in split for tid in targets)
    assert_work(p, targets)
    by_id = {m["id"]: m for m in mods}
    for s in segments:
        assert s["modalities"], s
        for tid in s["targets"]:
            assert V.group_of(tid) == s["group"], (tid, s)
        for mid in s["modalities"]:
            spec = V.modalities[mid]
            assert mid in by_id, (mid, s)
            reachable = [targets[tid] for tid in s["targets"]
                         if rank(spec.lowest) <= rank(target_cap(p, targets[tid]))
                         and V.applies(mid, tid)]
            assert reachable, (mid, s)
    for mid, m in by_id.items():
        places = [targets[tid] for s in segments if mid in s["modalities"] for tid in s["targets"]]
        assert places, mid
        assert rank(m["pressure"]) <= max(rank(target_cap(p, t)) for t in places), m

    # a requested modality that nothing blocks is given wherever a scheduled target can take it
    for mid in dict.fromkeys(case.prescription.modalities):
        spec = V.modalities[mid]
        takers = [t for t in p["targets"] if rank(spec.lowest) <= rank(target_cap(p, t))
                  and V.applies(mid, t["id"]) and not restricted(result, t)]
        if mid not in blocked_mods and takers:
            assert mid in by_id, (mid, takers)

    if len(case.diagnoses) == 1:
        assert_first_line_and_primary_targets(p, result, fired)

    # an endangerment site in an area that holds a target gets its advisory
    areas = {t["area"] for t in p["targets"]}
    for site, area in V.endangerment_sites.items():
        if area in areas:
            assert f"{V.label(site)}: avoid deep pressure at the site itself" in p["advisories"], site

    # treat_with_precautions iff something is blocked or a cap is below deep
    precautions = (bool(blocked_mods) or bool(p["blocked"]["areas"]) or bool(p["blocked"]["targets"])
                   or p["pressure_cap"] != "deep"
                   or any(target_cap(p, t) != "deep" for t in p["targets"])
                   or any(type(f).__name__ == "Restrict" for f in result.facts))
    assert status == ("treat_with_precautions" if precautions else "treat")
    return p


def _from_diagnosis(rule_id: str) -> bool:
    spec = KB.by_id[rule_id]
    return bool(spec.positive) and spec.positive[0][0] == "diagnosis"


def assert_first_line_and_primary_targets(p: dict, result: Any, fired: set[str]) -> None:
    """Clinical-knowledge §3 for a treatable single-diagnosis case: its first-line modalities are
    given wherever one of its targets can take them, unless blocked or priced out; its primary
    targets are in the plan unless blocked, left out for time or out of reach of every modality."""
    blocked_mods = {b["id"] for b in p["blocked"]["modalities"]}
    given_ids = {m["id"] for m in p["modalities"]}
    own_targets = [t for t in p["targets"]
                   if any(KB.by_id[r].then.targets and _from_diagnosis(r) for r in t["because"])]
    for rule_id in sorted(r for r in fired if _from_diagnosis(r)):
        then = KB.by_id[rule_id].then
        if then.propose is not None and then.propose.line == "first":
            limit = then.propose.pressure or "deep"
            for mid in then.propose.modalities:
                spec = V.modalities[mid]
                takers = [t for t in own_targets
                          if rank(spec.lowest) <= min(rank(target_cap(p, t)), rank(limit))
                          and V.applies(mid, t["id"]) and not restricted(result, t)]
                if mid not in blocked_mods and takers:
                    assert mid in given_ids, (rule_id, mid, takers)
        for action in then.targets:
            if action.role != "primary":
                continue
            for tid in action.ids:
                blocked_area = ({V.area_of(tid), V.approach_areas.get(tid)} & {b["id"] for b in p["blocked"]["areas"]}
                                or tid in result.outcome.blocked_targets)
                no_time = any(" left out: " in a and V.label(V.group_of(tid)) in a for a in p["advisories"])
                assert (tid in {t["id"] for t in p["targets"]} or blocked_area or no_time
                        or tid in result.outcome.undeliverable), (rule_id, tid)


@SETTINGS
@given(case_dicts())
def test_every_plan_keeps_the_invariants(data: dict[str, Any]) -> None:
    assert_invariants(data)


def test_generated_cases_are_mostly_treatable() -> None:
    """The generator must not test only referrals: a good share of its cases are treated."""
    statuses: list[str] = []

    # A statistical check of the generator itself: derandomized, so it never flickers.
    @settings(max_examples=150, database=None, deadline=None, derandomize=True,
              suppress_health_check=[HealthCheck.too_slow])
    @given(case_dicts())
    def collect(data: dict[str, Any]) -> None:
        statuses.append(plan(data).plan.status)

    collect()
    treated = [s for s in statuses if s not in NO_TREATMENT]
    assert len(treated) >= 0.3 * len(statuses), statuses
    assert {"treat", "treat_with_precautions"} <= set(statuses)
    assert len(set(statuses)) >= 5, set(statuses)


# -- evidence and dose (clinical-v2 §4, §5) -----------------------------------------------------

@SETTINGS
@given(case_dicts())
@example({"id": "moved", "diagnoses": [{"condition": "fibromyalgia"}, {"condition": "scoliosis_back_pain"}],
          "findings": [{"finding": "paresthesia", "area": "shoulder"}],
          "prescription": {"modalities": [], "exclude_modalities": [], "focus_areas": ["shoulder"]}})
def test_a_request_never_raises_certainty(data: dict[str, Any]) -> None:
    """A prescription's request is not evidence: asking for a modality the rules propose leaves
    its certainty where the evidence put it."""
    base = plan(data).plan
    proposed = [m for m in base.modalities if m.grade is not None]
    if not proposed:
        return
    rx = dict(data.get("prescription") or {})
    rx["modalities"] = sorted({*rx.get("modalities", ()), *(m.id for m in proposed)})
    result = plan({**data, "prescription": rx})
    again = {m.id: m for m in result.plan.modalities}
    for m in (m for m in proposed if m.id in again):
        assert again[m.id].requested, m.id
        counted = {c.rule for c in result.outcome.certainty[m.id].counted}
        assert "rx-requested-modality" not in counted and counted <= set(again[m.id].because), counted
        evidence = [r for r in again[m.id].because if r != "rx-requested-modality"]
        if set(evidence) != set(m.because):
            # A request may bring its focus area into the session and move time away from the
            # targets of other rules: only the rules that still deliver the modality count (§6.3).
            event("the request moved the session")
            continue
        assert again[m.id].certainty == m.certainty, (m.id, m.certainty, again[m.id].certainty)


@SETTINGS
@given(case_dicts())
def test_a_session_uses_its_minutes_when_a_primary_group_has_work(data: dict[str, Any]) -> None:
    """Further segments go to the primary groups until under 15 minutes are left, and no advisory
    says "no time" while the plan's minutes are under its ceiling."""
    p = plan(data).plan
    if not p.treats:
        return
    if any(t.role == "primary" for t in p.targets):
        assert p.minutes_ceiling - p.total_minutes < 15, (p.total_minutes, p.minutes_ceiling)
    if p.total_minutes < p.minutes_ceiling:
        assert not [a for a in p.advisories if "no time" in a], p.advisories


_SCHEMA = case_schema(V)


@SAFETY_SETTINGS
@given(case_dicts())
def test_schema_accepts_every_generated_case(data: dict[str, Any]) -> None:
    jsonschema.Draft202012Validator(_SCHEMA).validate(data)


# -- safety rules of clinical-knowledge §4 ------------------------------------------------------

def with_extra(data: dict[str, Any], extra: dict[str, Any]) -> dict[str, Any]:
    """The case with ``extra`` added: list fields are extended, mappings merged, None removes."""
    out = dict(data)
    for key, value in extra.items():
        if value is None:
            out.pop(key, None)
        elif key == "without_clearances":
            out["clearances"] = [c for c in out.get("clearances", []) if c not in value]
        elif isinstance(value, list):
            out[key] = [*out.get(key, []), *value]
        elif isinstance(value, dict):
            out[key] = {**out.get(key, {}), **value}
        else:
            out[key] = value
    return out


@dataclass(frozen=True)
class Safety:
    name: str
    extra: st.SearchStrategy[dict[str, Any]]
    check: Callable[[dict, dict[str, Any]], None]


def _anticoagulant(p: dict, data: dict) -> None:
    assert not {m["id"] for m in p["modalities"]} & NMT_TPT_DEEP
    assert rank(p["pressure_cap"]) <= rank("moderate")


def _refer_urgent(p: dict, data: dict) -> None:
    assert p["status"] == "refer_urgent"
    assert any(r["urgency"] == "urgent" for r in p["referrals"])


def _pregnancy(p: dict, data: dict) -> None:
    assert "abdominal_massage" not in {m["id"] for m in p["modalities"]}
    assert not [t for t in p["targets"] if t["area"] == "abdomen"]
    assert rank(p["pressure_cap"]) <= rank("moderate")
    if any(h.get("high_risk") for h in data["history"] if h["item"] == "pregnancy") \
            and "obstetric" not in data["clearances"]:
        assert p["status"] in NO_TREATMENT


def _at_least(status: str) -> Callable[[dict, dict], None]:
    def check(p: dict, data: dict) -> None:
        assert severity(p["status"]) <= severity(status), p["status"]
    return check


def _platelets_critical(p: dict, data: dict) -> None:
    assert severity(p["status"]) <= severity("refer")
    assert p["referrals"]


def _excluded(p: dict, data: dict) -> None:
    given_ids = {m["id"] for m in p["modalities"]}
    blocked = {b["id"]: b["because"] for b in p["blocked"]["modalities"]}
    for mod in data["prescription"]["exclude_modalities"]:
        assert mod not in given_ids
        assert "rx-excluded-modality" in blocked[mod]
        if mod in data["prescription"].get("modalities", []):
            assert "rx-requested-modality" in blocked[mod]


def _fragility_fracture(p: dict, data: dict) -> None:
    assert p["pressure_cap"] == "light"
    assert "deep_tissue" not in {m["id"] for m in p["modalities"]}


def _known_dvt(p: dict, data: dict) -> None:
    assert "manual_lymphatic_drainage" not in {m["id"] for m in p["modalities"]}
    assert p["pressure_cap"] == "light"
    if "physician" not in data["clearances"]:
        assert p["status"] in NO_TREATMENT


def _malignancy_cleared(p: dict, data: dict) -> None:
    assert p["pressure_cap"] == "light"
    assert "oncology" not in p["clearances_required"]
    area = data["history"][-1].get("area")
    if area is not None:
        assert area in {b["id"] for b in p["blocked"]["areas"]}
        side = data["history"][-1].get("side")
        assert not [t for t in p["targets"] if t["area"] == area and covered(t["side"]) & covered(side)]


def _chemotherapy(p: dict, data: dict) -> None:
    assert p["pressure_cap"] == "light"
    assert p["session"]["total_minutes"] <= 30
    if "oncology" not in data["clearances"]:
        assert "oncology" in p["clearances_required"] and p["status"] in NO_TREATMENT


def _older_or_frail(p: dict, data: dict) -> None:
    assert rank(p["pressure_cap"]) <= rank("moderate")
    assert p["session"]["total_minutes"] <= 30


def _fibromyalgia(p: dict, data: dict) -> None:
    """Light pressure is the precaution; v2 no longer shortens the session (trials gave 60-90 minutes)."""
    assert p["pressure_cap"] == "light"
    assert not {m["id"] for m in p["modalities"]} & NMT_TPT_DEEP


def _migraine_attack(p: dict, data: dict) -> None:
    assert p["pressure_cap"] == "light"
    assert p["session"]["total_minutes"] <= 15


def _acute_ankle_sprain(p: dict, data: dict) -> None:
    side = data["diagnoses"][-1].get("side")
    assert [b for b in p["blocked"]["areas"] if b["id"] == "ankle_foot" and b["side"] == side]
    assert not [t for t in p["targets"] if t["area"] == "ankle_foot" and covered(t["side"]) & covered(side)]
    assert p["session"]["total_minutes"] <= 30


def _no_abdominal_work(p: dict, data: dict) -> None:
    assert "abdominal_massage" not in {m["id"] for m in p["modalities"]}
    assert not [t for t in p["targets"] if t["area"] == "abdomen"]


def _hematology(p: dict, data: dict) -> None:
    assert p["pressure_cap"] == "light"
    if "hematology" not in data["clearances"]:
        assert severity(p["status"]) <= severity("needs_clearance")


def _area_cap(pressure: str, index: int = -1, kind: str = "history") -> Callable[[dict, dict], None]:
    """Every target in the area of the added item (its side, or any side) is capped at ``pressure``;
    an item without an area caps every target."""
    def check(p: dict, data: dict) -> None:
        item = data[kind][index]
        area, side = item.get("area"), item.get("side")
        for t in p["targets"]:
            if area is None or (t["area"] == area and covered(t["side"]) & covered(side)):
                assert rank(target_cap(p, t)) <= rank(pressure), (t, item)
    return check


def _area_blocked(kind: str = "history", whole_group: bool = False,
                  no_site: tuple[str, ...] | None = None) -> Callable[[dict, dict], None]:
    """No target lies in the area of the added item (or in its area group) on the item's side (on
    both sides of an axial area); an item without an area blocks ``no_site`` (default: every area)."""
    def check(p: dict, data: dict) -> None:
        item = data[kind][-1]
        area, side = item.get("area") or (item.get("target") and V.area_of(item["target"])), item.get("side")
        if area is None and no_site is not None:  # a default site: both sides
            places, side = set(no_site), None
        elif area is None:
            places = set(V.areas)
        else:
            places = set(V.areas_in_group(V.areas[area])) if whole_group else {area}
        for t in p["targets"]:
            sides = covered(None) if t["area"] in V.axial_areas else covered(side)
            assert not (t["area"] in places and covered(t["side"]) & sides), (t, item)
    return check


def _checks(*checks: Callable[[dict, dict], None]) -> Callable[[dict, dict], None]:
    def check(p: dict, data: dict) -> None:
        for one in checks:
            one(p, data)
    return check


def _referral(to: str, urgency: str) -> Callable[[dict, dict], None]:
    def check(p: dict, data: dict) -> None:
        assert {"to": to, "urgency": urgency} in [{"to": r["to"], "urgency": r["urgency"]} for r in p["referrals"]]
    return check


def _cap_at_most(pressure: str) -> Callable[[dict, dict], None]:
    def check(p: dict, data: dict) -> None:
        assert rank(p["pressure_cap"]) <= rank(pressure), p["pressure_cap"]
    return check


def _unless_clearance(clearance: str, check: Callable[[dict, dict], None]) -> Callable[[dict, dict], None]:
    def gated(p: dict, data: dict) -> None:
        if clearance not in data["clearances"]:
            check(p, data)
    return gated


def _no_modality(mid: str) -> Callable[[dict, dict], None]:
    def check(p: dict, data: dict) -> None:
        assert mid not in {m["id"] for m in p["modalities"]}
    return check


def _progressive_weakness(p: dict, data: dict) -> None:
    back = {d["condition"] for d in data["diagnoses"]} & {"piriformis_syndrome", "pseudo_sciatica", "low_back_pain"}
    _at_least("refer_urgent" if back else "refer")(p, data)


def _names(*ids: str) -> st.SearchStrategy[str]:
    return st.sampled_from(ids)


def _vitals(field: str, low: float, high: float) -> st.SearchStrategy[dict[str, Any]]:
    numbers = st.floats(low, high) if isinstance(low, float) else st.integers(low, high)
    return st.fixed_dictionaries({"vitals": st.fixed_dictionaries({field: numbers})})


def _history(**fields: Any) -> st.SearchStrategy[dict[str, Any]]:
    """One history item; a field drawn as None is left out."""
    item = st.fixed_dictionaries(fields).map(lambda d: {k: v for k, v in d.items() if v is not None})
    return item.map(lambda d: {"history": [d]})


def _finding(names: st.SearchStrategy[str]) -> st.SearchStrategy[dict[str, Any]]:
    return names.map(lambda f: {"findings": [{"finding": f}]})


def _diagnosis(**fields: Any) -> st.SearchStrategy[dict[str, Any]]:
    return st.fixed_dictionaries({"diagnoses": st.tuples(st.fixed_dictionaries(fields)).map(list)})


ANTICOAGULANTS = tuple(sorted(n for n, c in V.medications.items() if c in ("anticoagulant", "antiplatelet")))
CHEMOTHERAPY = tuple(sorted(n for n, c in V.medications.items() if c == "chemotherapy"))
OPTIONAL_SIDE = st.none() | st.sampled_from(V.sides)
AREAS = st.sampled_from(tuple(V.areas))

SAFETY = [
    Safety("anticoagulant or antiplatelet: no deep work, cap moderate",
           _names(*ANTICOAGULANTS, "anticoagulant", "antiplatelet").map(lambda m: {"medications": [m]}),
           _anticoagulant),
    Safety("red-flag finding: refer urgently", _finding(_names(*RED_FLAGS)), _refer_urgent),
    Safety("suspected DVT without vascular clearance: refer urgently",
           st.one_of(_finding(st.just("unilateral_calf_swelling")), _history(item=st.just("suspected_dvt")))
           .map(lambda e: {**e, "without_clearances": ["vascular"]}), _refer_urgent),
    Safety("unstable angina, decompensated heart failure: refer urgently",
           st.one_of(_history(item=st.just("unstable_angina")),
                     _history(item=st.just("heart_failure"), decompensated=st.just(True))), _refer_urgent),
    Safety("recent MI: cardiology clearance (v2: not an emergency referral by itself)",
           _history(item=st.just("recent_myocardial_infarction"), days_since=st.none() | st.integers(0, 400)),
           _unless_clearance("cardiology", _at_least("needs_clearance"))),
    Safety("pregnancy: no abdominal work, cap moderate",
           _history(item=st.just("pregnancy"), high_risk=st.booleans(), weeks=st.integers(0, 45)), _pregnancy),
    Safety("fever: defer or more severe", _vitals("temperature_c", 38.0, 45.0), _at_least("defer")),
    Safety("acute infection or contagious skin condition: defer or more severe",
           _history(item=_names("acute_infection", "contagious_skin_condition")), _at_least("defer")),
    Safety("uncontrolled hypertension: refer or more severe",
           st.one_of(_vitals("systolic", 180, 320), _vitals("diastolic", 110, 220),
                     _history(item=st.just("uncontrolled_hypertension"))), _at_least("refer")),
    Safety("platelets under 20: refer or more severe",
           st.floats(0, 19.99).map(lambda x: {"labs": {"platelets_k": x}}), _platelets_critical),
    Safety("platelets 20 to 50: cap light, hematology clearance",
           st.floats(20, 49.99).map(lambda x: {"labs": {"platelets_k": x}}), _hematology),
    Safety("excluded modalities never appear, even when requested",
           st.lists(st.sampled_from(tuple(V.modalities)), min_size=1, max_size=3, unique=True).flatmap(
               lambda mods: st.fixed_dictionaries({"prescription": st.fixed_dictionaries({
                   "exclude_modalities": st.just(mods),
                   "modalities": st.lists(st.sampled_from(mods), max_size=2)})})), _excluded),
    Safety("osteoporosis with a fragility fracture: cap light",
           _history(item=st.just("osteoporosis"), fragility_fracture=st.just(True)), _fragility_fracture),
    Safety("known DVT: no lymphatic drainage, cap light, physician clearance, its limb blocked",
           _history(item=st.just("known_dvt"), area=st.none() | st.sampled_from(tuple(V.areas)), side=OPTIONAL_SIDE),
           # v2 "sites not given": a clot of unknown site blocks the lower limbs, both sides
           _checks(_known_dvt, _area_blocked(whole_group=True, no_site=V.areas_in_group("lower_extremity")))),
    Safety("oncology clearance lifts only the requirement of an active malignancy",
           _history(item=st.just("malignancy"), active=st.just(True),
                    area=st.none() | _names("chest", "abdomen", "thigh"), side=OPTIONAL_SIDE)
           .map(lambda e: {**e, "clearances": ["oncology"]}), _malignancy_cleared),
    Safety("chemotherapy: cap light, 30 minutes, oncology clearance",
           _names(*CHEMOTHERAPY, "chemotherapy").map(lambda m: {"medications": [m]}), _chemotherapy),
    Safety("age 75 or over, or frail: cap moderate, 30 minutes",
           st.one_of(st.integers(75, 120).map(lambda a: {"patient": {"age": a}}),
                     st.just({"patient": {"frail": True}})), _older_or_frail),
    Safety("fibromyalgia: cap light, no deep work",
           _diagnosis(condition=st.just("fibromyalgia")), _fibromyalgia),
    Safety("migraine attack in progress: cap light, 15 minutes",
           _diagnosis(condition=st.just("migraine")).map(
               lambda e: {**e, "findings": [{"finding": "migraine_attack_in_progress"}]}), _migraine_attack),
    Safety("acute ankle sprain: its ankle is blocked",
           st.one_of(_diagnosis(condition=st.just("ankle_sprain"), side=OPTIONAL_SIDE),
                     _diagnosis(condition=st.just("ankle_sprain"), side=OPTIONAL_SIDE, acuity=st.just("acute")),
                     _diagnosis(condition=st.just("ankle_sprain"), side=OPTIONAL_SIDE, onset_days=st.integers(0, 3))),
           _acute_ankle_sprain),
    Safety("aortic aneurysm, bowel obstruction, abdominal surgery: no abdominal work",
           _history(item=_names("abdominal_aortic_aneurysm", "bowel_obstruction", "recent_abdominal_surgery")),
           _no_abdominal_work),
    Safety("peripheral neuropathy or varicose veins: light pressure on that area",
           _history(item=_names("peripheral_neuropathy", "varicose_veins"),
                    area=st.none() | _names("lower_leg", "ankle_foot", "forearm", "neck"), side=OPTIONAL_SIDE),
           _area_cap("light")),
    Safety("lymphedema: light pressure on the limb",
           _diagnosis(condition=_names("lymphedema", "post_surgical_edema"),
                      area=_names("upper_arm", "forearm", "thigh", "lower_leg"), side=OPTIONAL_SIDE),
           _area_cap("light", kind="diagnoses")),
    Safety("renal failure: no lymphatic drainage, physician clearance",
           _history(item=st.just("renal_failure")),
           _checks(_no_modality("manual_lymphatic_drainage"),
                   _unless_clearance("physician", _at_least("needs_clearance")))),
    Safety("cellulitis: its area blocked, no lymphatic drainage",
           _history(item=st.just("cellulitis"), area=st.none() | AREAS, side=OPTIONAL_SIDE),
           _checks(_no_modality("manual_lymphatic_drainage"), _area_blocked())),
    Safety("open wound, skin infection, implanted port: its area blocked",
           _history(item=_names("open_wound", "skin_infection", "implanted_port"), area=st.none() | AREAS,
                    side=OPTIONAL_SIDE), _area_blocked()),
    Safety("recent surgery or fracture: its area blocked unless the surgeon clears it",
           _history(item=_names("recent_surgery", "recent_fracture"), area=st.none() | AREAS, side=OPTIONAL_SIDE,
                    days_since=st.none() | st.integers(0, 41)), _unless_clearance("surgeon", _area_blocked())),
    Safety("local inflammation: its area blocked",
           st.fixed_dictionaries({"findings": st.tuples(st.fixed_dictionaries(
               {"finding": st.just("local_inflammation"), "area": AREAS, "side": OPTIONAL_SIDE})).map(list)}),
           _area_blocked(kind="findings")),
    Safety("focal bone tenderness: its area blocked, routine referral",
           st.fixed_dictionaries({"findings": st.tuples(st.fixed_dictionaries(
               {"finding": st.just("focal_bone_tenderness"), "area": AREAS, "side": OPTIONAL_SIDE})).map(list)}),
           _checks(_area_blocked(kind="findings"), _referral("physician", "routine"))),
    Safety("progressive weakness: refer, urgently with sciatica or low back pain",
           _finding(st.just("progressive_weakness")),
           _progressive_weakness),
    Safety("carpal tunnel with thenar atrophy: refer for surgical evaluation",
           _diagnosis(condition=st.just("carpal_tunnel_syndrome"), side=OPTIONAL_SIDE).map(
               lambda e: {**e, "findings": [{"finding": "muscle_atrophy", "target": "thenar_muscles"}]}),
           _checks(_at_least("refer"), _referral("surgeon", "routine"))),
    Safety("pseudo-angina needs a cardiac clearance",
           _diagnosis(condition=st.just("pseudo_angina")),
           _unless_clearance("cardiac", _at_least("needs_clearance"))),
    Safety("dyspnea with edema: refer urgently",
           st.just({"findings": [{"finding": "dyspnea"}, {"finding": "edema"}]}), _refer_urgent),
    Safety("compensated heart failure: no lymphatic drainage unless a cardiologist clears it",
           _history(item=st.just("heart_failure"), decompensated=st.none() | st.just(False)),
           _unless_clearance("cardiology", _no_modality("manual_lymphatic_drainage"))),
    Safety("corticosteroids, thrombocytopenia or platelets 50 to 150: cap moderate",
           st.one_of(_names("prednisone", "long_term_corticosteroid").map(lambda m: {"medications": [m]}),
                     _history(item=st.just("thrombocytopenia")).map(lambda e: {**e, "labs": None}),
                     st.floats(50, 149.99).map(lambda x: {"labs": {"platelets_k": x}})),
           _cap_at_most("moderate")),
]


@pytest.mark.parametrize("rule", SAFETY, ids=lambda r: r.name)
@SAFETY_SETTINGS
@given(data=case_dicts(), extra=st.data())
def test_safety_rule(rule: Safety, data: dict[str, Any], extra: st.DataObject) -> None:
    data = without_contradiction(with_extra(data, extra.draw(rule.extra, label="added")))
    data.setdefault("clearances", [])
    data.setdefault("history", [])
    data.setdefault("prescription", {})
    p = assert_invariants(data)
    event(f"status {p['status']}")
    rule.check(p, data)


@PAIR_SETTINGS
@given(case_dicts(), st.lists(st.sampled_from(tuple(V.clearances)), min_size=1, unique=True))
def test_a_clearance_never_lifts_a_cap(data: dict[str, Any], clearances: list[str]) -> None:
    """Clearances lift requirements (and named blocks), never a pressure cap: the cap is the
    same with or without them, whatever the status (precedence 4 and 8)."""
    before = plan(data).plan
    after = assert_invariants(with_extra(data, {"clearances": clearances}))
    assert after["pressure_cap"] == before.pressure_cap
    assert not set(after["clearances_required"]) & set(clearances)
    assert set(after["clearances_required"]) <= set(before.clearances_required)


@PAIR_SETTINGS
@given(case_dicts(), st.floats(38.0, 45.0))
def test_a_no_treatment_plan_still_reports_the_cap_of_its_case(data: dict[str, Any], fever: float) -> None:
    """Fever defers treatment but leaves the cap the case implies unchanged (precedence 8)."""
    treated = plan(data).plan
    deferred = assert_invariants(with_extra(data, {"vitals": {"temperature_c": fever}}))
    assert severity(deferred["status"]) <= severity("defer")
    assert deferred["pressure_cap"] == treated.pressure_cap


@SAFETY_SETTINGS
@given(case_dicts())
def test_validated_cases_round_trip(data: dict[str, Any]) -> None:
    """A validated case, dumped and validated again, is the same case."""
    case = build(data)
    dumped = case.model_dump(exclude_none=True)
    assert build(dumped) == case
