"""Properties of clinical-v2.1 §5.1, §7 and §8, whatever else a generated case holds: the minutes never
above 60 without a prescribed length nor above the prescription; no delivery advisory on a plan that
does not treat; a code means the same under ``diagnoses`` or ``history`` (the same plan limits)."""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from medmassage_rules.errors import CaseError
from medmassage_rules.planning.plan import Plan

from ..strategies import KB, case_dicts, plan, planned

SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
# codes the map reads as history items (some also as a condition), with and without laterality
HISTORY_CODES = ("E11.42", "E11.40", "E10.42", "I50.9", "I50.21", "I50.33", "I50.22", "Z85.3", "O26.89", "O86.4",
                 "O99.89", "Z33.1", "O09.523", "O26.71", "D69.6", "M81.0", "N18.3", "I82.431", "C50.912",
                 "L03.116", "I83.91", "G62.9")
ADVISING = [rule for rule in KB.rules if rule.then.advisory]
DELIVERY_TEXTS = ({r.then.advisory for r in ADVISING if r.advisory_kind == "delivery"}
                  - {r.then.advisory for r in ADVISING if r.advisory_kind != "delivery"})
PLANNER_DELIVERY = ("evidence caveat:", "left out:")



def limits(p: Plan) -> tuple[Any, ...]:
    """Everything a plan limits: status, caps, blocks, clearances, referrals, the ceiling and the work pressures."""
    work = sorted({(w.target, w.side, w.modality, w.pressure) for s in p.segments for w in s.work}, key=repr)
    return (p.status, p.pressure_cap, tuple(sorted(repr(c) for c in p.caps)),
            tuple(sorted((b.id, b.reason) for b in p.blocked_modalities)),
            tuple(sorted(((b.id, b.side) for b in p.blocked_areas), key=repr)), p.clearances_required,
            tuple(sorted((r.to, r.urgency) for r in p.referrals)), p.minutes_ceiling, p.total_minutes, tuple(work))


@SETTINGS
@given(case_dicts())
def test_minutes_never_above_sixty_nor_the_prescription(data: dict[str, Any]) -> None:
    p = planned(data).plan
    prescribed = data.get("prescription", {}).get("max_minutes")
    assert p.total_minutes <= p.minutes_ceiling <= (prescribed if prescribed is not None else 60)


@SETTINGS
@given(case_dicts())
def test_no_delivery_advisory_on_a_plan_that_does_not_treat(data: dict[str, Any]) -> None:
    p = planned(data).plan
    if p.treats:
        return
    assert not DELIVERY_TEXTS & set(p.advisories), DELIVERY_TEXTS & set(p.advisories)
    assert not any(a.startswith(PLANNER_DELIVERY) or a.endswith("avoid deep pressure at the site itself")
                   for a in p.advisories)


@SETTINGS
@given(case_dicts(), st.sampled_from(HISTORY_CODES))
def test_a_code_gives_the_same_plan_limits_under_diagnoses_or_history(data: dict[str, Any], code: str) -> None:
    as_diagnosis = {**data, "diagnoses": [*data["diagnoses"], {"icd10": code}]}
    as_history = {**data, "history": [*data.get("history", []), {"icd10": code}]}
    try:
        under_diagnoses = plan(as_diagnosis).plan
    except CaseError:
        refused = True
    else:
        refused = False
    if refused:  # e.g. a pregnancy code with sex male: refused wherever it is entered
        try:
            plan(as_history)
        except CaseError:
            return
        raise AssertionError("refused under diagnoses only")
    under_history = plan(as_history).plan
    assert limits(under_diagnoses) == limits(under_history)
