"""Checks of one rule spec against the vocabulary and the registries of fields and operators."""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError

from .fact_types import BOOLEAN_FIELDS, DOMAINS, FIELDS, INPUT_KINDS, NUMERIC_FIELDS
from .operators import LIST_OPERATORS, MODIFIERS, NUMERIC_OPERATORS, OPERATORS
from .rule_specs import RuleSpec, SiteRef
from .vocabulary import Vocabulary


def _pydantic_problems(exc: ValidationError, where: str) -> list[str]:
    out = []
    for err in exc.errors(include_url=False):
        path = ".".join(str(p) for p in err["loc"])
        msg = "unknown field" if err["type"] == "extra_forbidden" else err["msg"]
        out.append(f"{where}: {path}: {msg}")
    return out


class _Checker:
    """Semantic checks of one rule against the vocabulary and the registries."""

    def __init__(self, vocab: Vocabulary):
        self.vocab = vocab
        self.sites = {**vocab.targets, **vocab.areas}

    def domain(self, name: str) -> Any:
        if name == "sites":
            return self.sites
        return getattr(self.vocab, name)

    def check(self, rule: RuleSpec, where: str) -> list[str]:
        problems: list[str] = []
        add = problems.append
        v = self.vocab
        for benefit in rule.benefits:
            if benefit not in v.benefits:
                add(f"{where}: benefits: unknown benefit id {benefit!r}")
        if rule.then.propose is not None and rule.then.propose.line != "request" and not rule.benefits:
            add(f"{where}: a rule that proposes a modality must name the benefit(s) it serves")
        for i, pattern in enumerate(rule.when):
            problems += self._pattern(pattern, f"{where}: when[{i}]")
        n_pos = len(rule.positive)
        problems += self._actions(rule, where, n_pos)
        for gate in rule.clearance_gates:
            if gate not in v.clearances:
                add(f"{where}: unknown clearance id {gate!r}")
        scoped = rule.scoped_gate
        if scoped is not None and scoped.scope not in v.clearance_scopes:
            add(f"{where}: unless_clearance.for: unknown id {scoped.scope!r} (a condition, finding, "
                "history item or blood_pressure)")
        if rule.grade == "X":
            add(f"{where}: a rule graded X cannot be a reason; write it as a caveat instead")
        return problems

    def _pattern(self, pattern: dict[str, Any], where: str) -> list[str]:
        if len(pattern) != 1:
            return [f"{where}: a pattern is one mapping {{kind: {{field: condition}}}}"]
        kind, fields = next(iter(pattern.items()))
        if kind == "not":
            if not isinstance(fields, dict) or len(fields) != 1:
                return [f"{where}: not: takes one pattern"]
            kind, fields = next(iter(fields.items()))
        if kind not in INPUT_KINDS:
            return [f"{where}: unknown fact kind {kind!r} (known: {', '.join(INPUT_KINDS)})"]
        if fields is None:
            fields = {}
        if not isinstance(fields, dict):
            return [f"{where}: {kind}: fields must be a mapping"]
        problems = []
        for name, cond in fields.items():
            if name not in FIELDS[kind]:
                problems.append(f"{where}: {kind}.{name}: unknown field")
                continue
            problems += self._condition(kind, name, cond, f"{where}: {kind}.{name}")
        return problems

    def _condition(self, kind: str, name: str, cond: Any, where: str) -> list[str]:
        values: list[Any] = []
        problems = []
        if isinstance(cond, dict):
            for op, arg in cond.items():
                if op in MODIFIERS:
                    if not isinstance(arg, bool):
                        problems.append(f"{where}: {op} takes true or false")
                    continue
                if op not in OPERATORS:
                    problems.append(f"{where}: unknown operator {op!r} (known: {', '.join(OPERATORS)})")
                elif op in LIST_OPERATORS:
                    if not isinstance(arg, list) or not arg:
                        problems.append(f"{where}: {op} takes a non-empty list")
                    else:
                        values += arg
                elif op in NUMERIC_OPERATORS:
                    if name not in NUMERIC_FIELDS or isinstance(arg, bool) or not isinstance(arg, (int, float)):
                        problems.append(f"{where}: {op} needs a numeric field and a number")
                elif op == "present":
                    if not isinstance(arg, bool):
                        problems.append(f"{where}: present takes true or false")
                else:
                    values.append(arg)
        elif isinstance(cond, list):
            problems.append(f"{where}: a list of values needs the operator 'in'")
        else:
            values.append(cond)
        if name in BOOLEAN_FIELDS:
            problems += [f"{where}: expects true or false, not {x!r}" for x in values if not isinstance(x, bool)]
        domain = DOMAINS.get(name)
        if kind == "medication" and name == "name":
            domain = "medications"
        if kind == "clearance" and name == "name":
            domain = "clearances"
        if domain is not None:
            known = self.domain(domain)
            problems += [f"{where}: unknown id {x!r}" for x in values if x not in known]
        return problems

    def _actions(self, rule: RuleSpec, where: str, n_pos: int) -> list[str]:
        v = self.vocab
        t = rule.then
        problems: list[str] = []
        add = problems.append

        def index_ok(index: int | None, label: str) -> None:
            if index is not None and not 0 <= index < n_pos:
                add(f"{where}: {label}: pattern index {index} out of range (rule has {n_pos})")

        def modality_source(index: int | None, label: str) -> None:
            """``*_from`` for a modality must point at a pattern whose facts carry a modality."""
            if index is not None and 0 <= index < n_pos and "modality" not in FIELDS.get(rule.positive[index][0], ()):
                add(f"{where}: {label}: pattern {index} is a {rule.positive[index][0]}, which names no modality "
                    "(use a request or exclusion pattern)")

        def site_ok(ref: SiteRef, label: str) -> None:
            for ident in ref.ids:
                if ident not in self.sites:
                    add(f"{where}: {label}: unknown target or area id {ident!r}")
            index_ok(ref.site_from, f"{label}.site_from")
            for i in ref.side_from:
                index_ok(i, f"{label}.side_from")

        for mech in t.mechanisms:
            if mech not in v.mechanisms:
                add(f"{where}: mechanisms: unknown mechanism id {mech!r}")
        for i, target in enumerate(t.targets):
            site_ok(target, f"targets[{i}]")
            if target.side == "opposite" and not target.side_from:
                add(f"{where}: targets[{i}]: side opposite needs side_from")
            if not target.ids and target.site_from is None:
                add(f"{where}: targets[{i}]: give ids or site_from")
            if target.role == "finding":
                kind, fields = rule.positive[target.site_from or 0] if n_pos else ("", {})
                finding = fields.get("finding") if isinstance(fields, dict) else None
                names = finding.get("in", []) if isinstance(finding, dict) else [finding]
                red = [x for x in names if x not in v.indicator_findings]
                if kind != "finding" or red:
                    add(f"{where}: targets[{i}]: only mechanism-indicator findings add targets")
        if t.propose is not None:
            p = t.propose
            for m in p.modalities:
                if m not in v.modalities:
                    add(f"{where}: propose: unknown modality id {m!r}")
            if not p.modalities and p.modality_from is None:
                add(f"{where}: propose: give modalities or modality_from")
            index_ok(p.modality_from, "propose.modality_from")
            modality_source(p.modality_from, "propose.modality_from")
            if p.pressure is not None and p.pressure not in v.pressures:
                add(f"{where}: propose: unknown pressure {p.pressure!r}")
        if t.block_all is not None:
            if t.block_all.status not in v.statuses or t.block_all.status in ("treat", "treat_with_precautions",
                                                                             "needs_clearance"):
                add(f"{where}: block_all: status must be refer_urgent, refer or defer, "
                    f"not {t.block_all.status!r}")
            elif t.block_all.status.startswith("refer") and t.referral is None:
                add(f"{where}: block_all to {t.block_all.status} needs a referral")
        if t.block_modalities is not None:
            for m in t.block_modalities.modalities:
                if m not in v.modalities:
                    add(f"{where}: block_modalities: unknown modality id {m!r}")
            index_ok(t.block_modalities.modality_from, "block_modalities.modality_from")
            modality_source(t.block_modalities.modality_from, "block_modalities.modality_from")
        if t.block_areas is not None:
            site_ok(t.block_areas, "block_areas")
        if t.cap is not None:
            site_ok(t.cap, "cap")
            if t.cap.pressure not in v.pressures:
                add(f"{where}: cap: unknown pressure {t.cap.pressure!r}")
        if t.restrict_modalities is not None:
            site_ok(t.restrict_modalities, "restrict_modalities")
            for m in t.restrict_modalities.modalities:
                if m not in v.modalities:
                    add(f"{where}: restrict_modalities: unknown modality id {m!r}")
            if not t.restrict_modalities.ids and t.restrict_modalities.site_from is None:
                add(f"{where}: restrict_modalities: give ids or site_from")
        if t.drainage_zone is not None:
            site_ok(t.drainage_zone, "drainage_zone")
            if not t.drainage_zone.ids and t.drainage_zone.site_from is None:
                add(f"{where}: drainage_zone: give ids or site_from")
        if t.referral is not None:
            if t.referral.to not in v.referrals:
                add(f"{where}: referral: unknown referral id {t.referral.to!r}")
        if t.require is not None:
            others = t.model_dump(exclude_defaults=True, exclude={"require", "advisory"})
            if others:
                add(f"{where}: a rule that requires a clearance may hold only require and advisory, "
                    "so that the clearance lifts only the requirement")
        if not t.model_dump(exclude_defaults=True):
            add(f"{where}: then: the rule concludes nothing")
        return problems

