"""The expectation checker of contract §3: does a plan meet a case's ``expect`` block?"""

from __future__ import annotations

from ..cases.models import Expectation
from ..kb.vocabulary import Vocabulary
from ..planning.plan import Plan


def _list(items: object) -> str:
    return "[" + ", ".join(str(i) for i in items) + "]"  # type: ignore[attr-defined]


def _code(code: str) -> str:
    """An ICD-10-CM code compared as written in any case, with or without its dot."""
    return code.replace(".", "").strip().upper()


def check_expectations(expect: Expectation, plan: Plan, vocab: Vocabulary) -> list[str]:
    """Every expectation that fails, each as "which expectation failed and what the plan had"."""
    failures: list[str] = []
    modality_ids = [m.id for m in plan.modalities]

    if expect.status is not None and plan.status not in expect.status:
        wanted = expect.status[0] if len(expect.status) == 1 else "one of " + _list(expect.status)
        failures.append(f"status: expected {wanted}, plan has {plan.status}")

    if expect.modalities is not None:
        m = expect.modalities
        for mod in m.include:
            if mod not in modality_ids:
                failures.append(f"modalities.include: {mod} not recommended (plan has {_list(modality_ids)})")
        for group in m.include_any:
            if not set(group) & set(modality_ids):
                failures.append(f"modalities.include_any: none of {_list(group)} recommended "
                                f"(plan has {_list(modality_ids)})")
        for mod in m.exclude:
            if mod in modality_ids:
                failures.append(f"modalities.exclude: {mod} is recommended")

    if expect.targets is not None:
        t = expect.targets
        plan_targets = [(x.id, x.area) for x in plan.targets]
        shown = _list(tid for tid, _ in plan_targets)

        def present(site: str) -> bool:
            if site in vocab.areas:
                return any(tid == site or area == site for tid, area in plan_targets)
            return any(tid == site for tid, _ in plan_targets)

        for site in t.include:
            if not present(site):
                failures.append(f"targets.include: {site} not among the targets (plan has {shown})")
        for site in t.exclude:
            if present(site):
                failures.append(f"targets.exclude: {site} is targeted (plan has {shown})")
        work = [w for s in plan.segments for w in s.work]
        for site, most in t.pressure.items():
            over = sorted({f"{w.modality} at {w.pressure} on {w.target}" for w in work
                           if (w.target == site or vocab.area_of(w.target) == site)
                           and vocab.rank(w.pressure) > vocab.rank(most)})
            if over:
                failures.append(f"targets.pressure: {site} expected at most {most}, plan has {_list(over)}")

    if expect.minutes is not None:
        lo, hi = expect.minutes.min, expect.minutes.max
        total = plan.total_minutes
        if (lo is not None and total < lo) or (hi is not None and total > hi):
            failures.append(f"minutes: expected {'' if lo is None else lo}..{'' if hi is None else hi}, "
                            f"plan has {total}")

    if expect.pressure_cap is not None and vocab.rank(plan.pressure_cap) > vocab.rank(expect.pressure_cap):
        failures.append(f"pressure_cap: expected at most {expect.pressure_cap}, plan has {plan.pressure_cap}")

    for clearance in expect.clearances_required:
        if clearance not in plan.clearances_required:
            failures.append(f"clearances_required: {clearance} not listed "
                            f"(plan has {_list(plan.clearances_required)})")

    had = _list(f"{r.to} ({r.urgency})" for r in plan.referrals) if plan.referrals else "none"
    if isinstance(expect.referral, bool) and bool(plan.referrals) != expect.referral:
        failures.append(f"referral: expected {'a referral' if expect.referral else 'no referral'}, plan has {had}")
    elif expect.referral is not None and not isinstance(expect.referral, bool):
        want = expect.referral
        if not any((want.to is None or r.to == want.to) and (want.urgency is None or r.urgency == want.urgency)
                   for r in plan.referrals):
            wanted = " ".join(x for x in (want.urgency, f"to {want.to}" if want.to else None) if x)
            failures.append(f"referral: expected a referral {wanted}, plan has {had}")

    codes = {_code(code) for code, _ in plan.not_covered}
    for code in expect.not_covered:
        if _code(code) not in codes:
            failures.append(f"not_covered: {code} not listed (plan has {_list(c for c, _ in plan.not_covered)})")

    unrecognised = {name.lower() for name in plan.unrecognised_medications}
    for name in expect.unrecognised_medications:
        if name not in unrecognised:
            failures.append(f"unrecognised_medications: {name} not listed "
                            f"(plan has {_list(plan.unrecognised_medications)})")

    return failures
