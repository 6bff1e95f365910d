"""Checks of one rule spec against the vocabulary and the registries of fields and operators.

Every problem is a :class:`~medmassage_rules.errors.Problem` with a stable ``code``, the
rule it is about and the place inside the rule (``when[0]: diagnosis.condition``).
"""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError

from ..errors import NO_VALUE, Problem, key_text, shown
from .condition_operators import LIST_OPERATORS, MODIFIERS, NUMERIC_OPERATORS, OPERATORS
from .fact_types import BOOLEAN_FIELDS, DOMAINS, FIELDS, INPUT_KINDS, NUMERIC_FIELDS
from .rule_specs import RuleSpec, SiteRef
from .vocabulary import Vocabulary

EVIDENCE_FIELDS = ("grade", "citation")


def pydantic_problems(exc: ValidationError, source: str, prefix: str = "", rule: str | None = None,
                      evidence: bool = False) -> list[Problem]:
    """The problems pydantic found in one spec; ``evidence``: a grade or citation problem has its own code."""
    out = []
    for err in exc.errors(include_url=False):
        loc = err["loc"]
        path = ".".join(key_text(p) for p in loc)
        kind = err["type"]
        if kind == "extra_forbidden":
            code, msg = "unknown_field", "unknown field"
        else:
            code, msg = ("missing_field" if kind == "missing" else "invalid_value"), err["msg"]
        if evidence and loc and loc[0] in EVIDENCE_FIELDS:
            code = f"{'missing' if kind == 'missing' else 'invalid'}_{loc[0]}"
        out.append(Problem(source, f"{prefix}: {path}" if prefix else path, code, msg, rule=rule))
    return out


def _pattern_shape(pattern: dict[str, Any]) -> str | None:
    """What is wrong with the shape of one ``when`` pattern (None: it is one)."""
    if len(pattern) != 1:
        return "not_a_pattern"
    kind, fields = next(iter(pattern.items()))
    if kind == "not":
        if not isinstance(fields, dict) or len(fields) != 1:
            return "not_one_pattern"
        kind, fields = next(iter(fields.items()))
    if fields is not None and not isinstance(fields, dict):
        return "not_a_mapping"
    return None


class RuleChecker:
    """Semantic checks of one rule against the vocabulary and the registries."""

    def __init__(self, vocab: Vocabulary):
        self.vocab = vocab
        self.sites = {**vocab.targets, **vocab.areas}
        self._found: list[Problem] = []
        self._rule: RuleSpec | None = None

    def domain(self, name: str) -> Any:
        if name == "sites":
            return self.sites
        return getattr(self.vocab, name)

    def add(self, path: str, code: str, message: str, value: object = NO_VALUE) -> None:
        assert self._rule is not None
        self._found.append(Problem(self._rule.source, path, code, message, value, rule=self._rule.id))

    def shape(self, rule: RuleSpec) -> list[Problem]:
        """Problems of the patterns' shape: a rule with one is not kept (its patterns cannot be read)."""
        self._rule, self._found = rule, []
        messages = {"not_a_pattern": "a pattern is one mapping {kind: {field: condition}}",
                    "not_one_pattern": "not: takes one pattern"}
        for i, pattern in enumerate(rule.when):
            code = _pattern_shape(pattern)
            if code == "not_a_mapping":
                kind, fields = next(iter(pattern.items()))
                if kind == "not":
                    kind, fields = next(iter(fields.items()))
                self.add(f"when[{i}]", code, f"{key_text(kind)}: fields must be a mapping", fields)
            elif code is not None:
                self.add(f"when[{i}]", code, messages[code], pattern)
        return self._found

    def check(self, rule: RuleSpec) -> list[Problem]:
        """Every problem of a rule whose patterns have the shape of patterns (see :meth:`shape`)."""
        self._rule, self._found = rule, []
        add = self.add
        v = self.vocab
        for benefit in rule.benefits:
            if benefit not in v.benefits:
                add("benefits", "unknown_id", f"unknown benefit id {shown(benefit)}")
        if rule.then.propose is not None and rule.then.propose.line != "request" and not rule.benefits:
            add("", "no_benefit", "a rule that proposes a modality must name the benefit(s) it serves")
        for i, pattern in enumerate(rule.when):
            self._pattern(pattern, f"when[{i}]")
        self._actions(rule, len(rule.positive))
        for gate in rule.clearance_gates:
            if gate not in v.clearances:
                add("", "unknown_id", f"unknown clearance id {shown(gate)}")
        scoped = rule.scoped_gate
        if scoped is not None and scoped.scope not in v.clearance_scopes:
            add("unless_clearance.for", "unknown_id", f"unknown id {shown(scoped.scope)} (a condition, finding, "
                "history item, blood_pressure or joint)")
        if rule.grade == "X":
            add("", "x_graded_rule", "a rule graded X cannot be a reason; write it as a caveat instead")
        return self._found

    def _pattern(self, pattern: dict[str, Any], where: str) -> None:
        kind, fields = next(iter(pattern.items()))
        if kind == "not":
            kind, fields = next(iter(fields.items()))
        if kind not in INPUT_KINDS:
            self.add(where, "unknown_kind", f"unknown fact kind {shown(kind)} (known: {', '.join(INPUT_KINDS)})")
            return
        for name, cond in (fields or {}).items():
            if name not in FIELDS[kind]:
                self.add(f"{where}: {kind}.{key_text(name)}", "unknown_field", "unknown field")
                continue
            self._condition(kind, name, cond, f"{where}: {kind}.{name}")

    def _condition(self, kind: str, name: str, cond: Any, where: str) -> None:
        values: list[Any] = []
        add = self.add
        if isinstance(cond, dict):
            for op, arg in cond.items():
                if op in MODIFIERS:
                    if not isinstance(arg, bool):
                        add(where, "not_a_boolean", f"{op} takes true or false")
                    continue
                if op not in OPERATORS:
                    add(where, "unknown_operator", f"unknown operator {shown(op)} (known: {', '.join(OPERATORS)})")
                elif op in LIST_OPERATORS:
                    if not isinstance(arg, list) or not arg:
                        add(where, "not_a_list", f"{op} takes a non-empty list")
                    else:
                        values += arg
                elif op in NUMERIC_OPERATORS:
                    if name not in NUMERIC_FIELDS or isinstance(arg, bool) or not isinstance(arg, (int, float)):
                        add(where, "not_a_number", f"{op} needs a numeric field and a number")
                elif op == "present":
                    if not isinstance(arg, bool):
                        add(where, "not_a_boolean", "present takes true or false")
                else:
                    values.append(arg)
        elif isinstance(cond, list):
            add(where, "list_without_in", "a list of values needs the operator 'in'")
        else:
            values.append(cond)
        unhashable = [x for x in values if isinstance(x, (list, dict))]
        for x in unhashable:
            add(where, "not_a_scalar", "a value to compare with is one id, number or true or false", x)
        values = [x for x in values if not isinstance(x, (list, dict))]
        if name in BOOLEAN_FIELDS:
            for x in values:
                if not isinstance(x, bool):
                    add(where, "not_a_boolean", f"expects true or false, not {shown(x)}")
        domain = DOMAINS.get(name)
        if kind == "medication" and name == "name":
            domain = "medications"
        if kind == "clearance" and name == "name":
            domain = "clearances"
        if domain is not None:
            known = self.domain(domain)
            for x in values:
                if x not in known:
                    add(where, "unknown_id", f"unknown id {shown(x)}")

    def _actions(self, rule: RuleSpec, n_pos: int) -> None:
        v = self.vocab
        t = rule.then
        add = self.add

        def index_ok(index: int | None, label: str) -> None:
            if index is not None and not 0 <= index < n_pos:
                add(label, "index_out_of_range", f"pattern index {shown(index)} out of range (rule has {n_pos})")

        def modality_source(index: int | None, label: str) -> None:
            """``*_from`` for a modality must point at a pattern whose facts carry a modality."""
            if index is not None and 0 <= index < n_pos and "modality" not in FIELDS.get(rule.positive[index][0], ()):
                add(label, "no_modality_source", f"pattern {index} is a {rule.positive[index][0]}, which names no "
                    "modality (use a request or exclusion pattern)")

        def site_ok(ref: SiteRef, label: str) -> None:
            for ident in ref.ids:
                if ident not in self.sites:
                    add(label, "unknown_id", f"unknown target or area id {shown(ident)}")
            index_ok(ref.site_from, f"{label}.site_from")
            for i in ref.side_from:
                index_ok(i, f"{label}.side_from")

        for mech in t.mechanisms:
            if mech not in v.mechanisms:
                add("mechanisms", "unknown_id", f"unknown mechanism id {shown(mech)}")
        for i, target in enumerate(t.targets):
            site_ok(target, f"targets[{i}]")
            if target.side == "opposite" and not target.side_from:
                add(f"targets[{i}]", "no_side_source", "side opposite needs side_from")
            if not target.ids and target.site_from is None:
                add(f"targets[{i}]", "no_site", "give ids or site_from")
            if target.role == "finding":
                source = target.site_from or 0
                kind, fields = rule.positive[source] if 0 <= source < n_pos else ("", {})
                finding = (fields or {}).get("finding")
                names = finding.get("in", []) if isinstance(finding, dict) else [finding]
                names = names if isinstance(names, list) else [names]
                red = [x for x in names if isinstance(x, (list, dict)) or x not in v.indicator_findings]
                if kind != "finding" or red:
                    add(f"targets[{i}]", "not_an_indicator", "only mechanism-indicator findings add targets")
        if t.propose is not None:
            p = t.propose
            for m in p.modalities:
                if m not in v.modalities:
                    add("propose", "unknown_id", f"unknown modality id {shown(m)}")
            if not p.modalities and p.modality_from is None:
                add("propose", "no_modality", "give modalities or modality_from")
            index_ok(p.modality_from, "propose.modality_from")
            modality_source(p.modality_from, "propose.modality_from")
            if p.pressure is not None and p.pressure not in v.pressures:
                add("propose", "unknown_pressure", f"unknown pressure {shown(p.pressure)}")
        if t.block_all is not None:
            if t.block_all.status not in v.statuses or t.block_all.status in ("treat", "treat_with_precautions",
                                                                             "needs_clearance"):
                add("block_all", "not_a_blocking_status", "status must be refer_urgent, refer or defer, "
                    f"not {shown(t.block_all.status)}")
            elif t.block_all.status.startswith("refer") and t.referral is None:
                add("", "no_referral", f"block_all to {t.block_all.status} needs a referral")
        if t.block_modalities is not None:
            for m in t.block_modalities.modalities:
                if m not in v.modalities:
                    add("block_modalities", "unknown_id", f"unknown modality id {shown(m)}")
            index_ok(t.block_modalities.modality_from, "block_modalities.modality_from")
            modality_source(t.block_modalities.modality_from, "block_modalities.modality_from")
        if t.block_areas is not None:
            site_ok(t.block_areas, "block_areas")
        if t.block_targets is not None:
            site_ok(t.block_targets, "block_targets")
            for ident in t.block_targets.ids:
                if ident not in v.targets:
                    add("block_targets", "not_a_target", f"{shown(ident)} is not a target")
            if not t.block_targets.ids:
                add("block_targets", "no_site", "give the ids of the targets")
        if t.cap is not None:
            site_ok(t.cap, "cap")
            for ident in t.cap.targets:
                if ident not in self.sites:
                    add("cap.targets", "unknown_id", f"unknown target or area id {shown(ident)}")
            if t.cap.targets and (t.cap.ids or t.cap.site_from is not None or t.cap.everywhere):
                add("cap", "target_cap_with_areas",
                    "a target cap names its targets only (no ids, site_from or everywhere)")
            if t.cap.pressure not in v.pressures:
                add("cap", "unknown_pressure", f"unknown pressure {shown(t.cap.pressure)}")
        if t.restrict_modalities is not None:
            site_ok(t.restrict_modalities, "restrict_modalities")
            for m in t.restrict_modalities.modalities:
                if m not in v.modalities:
                    add("restrict_modalities", "unknown_id", f"unknown modality id {shown(m)}")
            if not t.restrict_modalities.ids and t.restrict_modalities.site_from is None:
                add("restrict_modalities", "no_site", "give ids or site_from")
        if t.drainage_zone is not None:
            site_ok(t.drainage_zone, "drainage_zone")
            if not t.drainage_zone.ids and t.drainage_zone.site_from is None:
                add("drainage_zone", "no_site", "give ids or site_from")
        if t.referral is not None:
            if t.referral.to not in v.referrals:
                add("referral", "unknown_id", f"unknown referral id {shown(t.referral.to)}")
        if t.require is not None:
            others = t.model_dump(exclude_defaults=True, exclude={"require", "advisory"})
            if others:
                add("", "require_with_others", "a rule that requires a clearance may hold only require and "
                    "advisory, so that the clearance lifts only the requirement")
        if not t.model_dump(exclude_defaults=True):
            add("then", "concludes_nothing", "the rule concludes nothing")
