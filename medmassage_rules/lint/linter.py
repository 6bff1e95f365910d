"""``kb lint``: verify a knowledge base, in the spirit of the Drools Verifier.

Every problem the loader finds (unknown ids, duplicate rule ids, a missing grade or
citation, an unknown citation key) becomes a lint error naming the file and rule, under the
check its code belongs to (:data:`~medmassage_rules.lint.findings.LOAD_CHECKS`); then the
rules that load are analysed as sets of facts (:mod:`~medmassage_rules.kb.pattern_matching`):

- **never fires** (error): a condition no value satisfies (``lt: 20`` with ``ge: 50``, an ``in``
  list of ids none of which exists), contradictory conditions on the one labs, vitals or patient
  record, a negated pattern that matches whatever a positive one matches, a rule gated by the
  very clearance it needs;
- **redundant** (warning): a rule whose conclusions another rule draws whenever it fires;
- **conflict** (error): a proposal or target that a block (or a cap, or a no-treatment status)
  firing whenever it does always removes;
- **gap**: a condition with no path to a modality (error); a condition, finding, history item,
  medication class or modality no rule uses (warning, unless the knowledge base lists it under
  ``lint: {unused_ok: {term: reason}}``);
- **evidence** (:mod:`~medmassage_rules.lint.evidence`): an H grade on a source that is not a guideline or
  systematic review (error); a reference with no identifier and no stated reason, or a description
  naming an acuity the rule does not test (warnings).

Errors make ``kb lint`` exit 1; warnings are printed and exit 0. Nothing here prints.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..errors import Problem, RuleDefinitionError
from ..intake.check import intake_problems
from ..kb.graph import build_knowledge_graph, edges_of, treatment_modalities
from ..kb.loading import KnowledgeFiles, read_knowledge_base
from ..kb.pattern_matching import SINGLE_KINDS, Universe
from ..kb.rule_specs import RuleSpec
from ..kb.wording import Words, or_list
from .evidence import evidence_problems
from .findings import ERROR, WARNING, LintFinding, LintReport, lint_lines
from .rule_index import GeneralIndex, identical_groups

__all__ = ["ERROR", "WARNING", "LintFinding", "LintReport", "lint_knowledge_base", "lint_lines"]
Pattern = tuple[str, Any]


def lint_knowledge_base(rules_dir: str | Path | None = None, evidence: bool = False) -> LintReport:
    """Lint a knowledge-base folder (the shipped one by default); ``evidence``: also the claims
    beyond their source's finding and the references with no population (``kb lint --evidence``)."""
    try:
        files = read_knowledge_base(rules_dir)
    except RuleDefinitionError as exc:  # no folder or no usable vocabulary: nothing more to analyse
        root = Path(rules_dir) if rules_dir is not None else Path("rules")
        return LintReport(root, 0, tuple(LintFinding(ERROR, p) for p in exc.problems))
    return LintReport(files.root, len(files.rules), tuple(_Linter(files, evidence).run()))


# -- analyses of the rules that loaded ----------------------------------------------------------------------
class _Linter:
    def __init__(self, files: KnowledgeFiles, with_evidence: bool = False):
        self.files = files
        self.with_evidence = with_evidence
        self.v = files.vocabulary
        self.words = Words(files.vocabulary)
        self.rules = [r for r in files.rules if r.id not in files.faulty]
        self.universe = Universe(self.v, [p for r in self.rules for p in (*r.positive, *r.negative)])
        self.known = Universe(self.v, [])
        self.findings: list[LintFinding] = []

    def add(self, severity: str, check: str, code: str, rule: RuleSpec | None, message: str) -> None:
        problem = (Problem(rule.source, "", code, message, rule=rule.id) if rule is not None
                   else Problem("knowledge base", "", code, message))
        self.findings.append(LintFinding(severity, problem, check))

    def run(self) -> list[LintFinding]:
        self.findings = [LintFinding(ERROR, p) for p in self.files.problems]
        for rule in self.files.rules:
            if rule.id in self.files.faulty:
                self.unknown_only(rule)
        live = [r for r in self.rules if not self.never_fires(r)]
        self.redundant(live)
        self.conflicts(live)
        self.gaps(live)
        self.tissues(live)
        self.joins(self.rules)
        self.evidence()
        self.intake()
        return self.findings

    # -- joins that grow with the case: unconstrained or symmetric same-kind patterns ---------------
    def joins(self, rules: list[RuleSpec]) -> None:
        """Two positive patterns of one kind that can match one pair of facts both ways round fire
        twice on swapped bindings; with no condition at all they match every pair (n^k growth)."""
        for rule in rules:
            by_kind: dict[str, list[dict[str, Any]]] = {}
            for kind, fields in rule.positive:
                by_kind.setdefault(kind, []).append(dict(fields or {}))
            for kind, patterns in by_kind.items():
                if len(patterns) < 2:
                    continue
                loose = sum(1 for fields in patterns if not fields)
                twins = len(patterns) - len({repr(sorted(f.items(), key=str)) for f in patterns})
                if loose:
                    self.add(WARNING, "unconstrained-join", "unconstrained_join", rule,
                             f"{len(patterns)} {kind} patterns, {loose} with no condition: the rule matches every "
                             f"combination of the case's {kind} facts (grows as n^{len(patterns)})")
                elif twins:
                    self.add(WARNING, "symmetric-join", "symmetric_join", rule,
                             f"two {kind} patterns with the same conditions match one pair of facts both ways "
                             "round: the rule fires twice on swapped bindings")

    # -- the intake tables (rules/intake): codes and drugs -------------------------------------------
    def intake(self) -> None:
        self.findings += [LintFinding(ERROR, p, "intake") for p in intake_problems(self.files.root / "intake", self.v)]

    # -- evidence: grades that match their sources, traceable references, no X reason --------------------
    def evidence(self) -> None:
        f = self.files
        self.findings += evidence_problems(list(f.rules), f.references, f.reference_meta,
                                           f.vocabulary if self.with_evidence else None)

    # -- never fires -------------------------------------------------------------------------------
    def unknown_only(self, rule: RuleSpec) -> None:
        """An ``in`` list none of whose ids exists can match nothing (the loader names each id)."""
        for i, pattern in enumerate(rule.when):
            kind, fields = next(iter(pattern.items()))
            if kind == "not" or not isinstance(fields, dict):
                continue
            for name, cond in fields.items():
                values = cond.get("in") if isinstance(cond, dict) else None
                if not isinstance(values, list) or not values or any(isinstance(x, (list, dict)) for x in values):
                    continue  # not a list of ids: the loader names what is wrong with it
                known = set(self.known.values(kind, name)) - {None}
                if known and not set(values) & known:
                    self.add(ERROR, "never-fires", "unknown_ids_only", rule,
                             f"can never fire: when[{i}] {kind}.{name} is in "
                             f"[{', '.join(map(str, values))}], none of which is in the vocabulary")

    def never_fires(self, rule: RuleSpec) -> bool:
        before = len(self.findings)
        u, w = self.universe, self.words
        for i, (kind, fields) in enumerate(rule.positive):
            for name in u.empty_fields(kind, fields):
                self.add(ERROR, "never-fires", "unsatisfiable", rule, f"can never fire: no {kind} can satisfy "
                         f"'{w.condition(name, fields[name])}' ({kind}.{name} in pattern {i})")
        for kind in SINGLE_KINDS:
            same = [f for k, f in rule.positive if k == kind]
            if len(same) > 1:
                for name, allowed in u.joint(kind, same).items():
                    if not allowed:
                        self.add(ERROR, "never-fires", "contradictory_patterns", rule,
                                 f"can never fire: its patterns on the one {kind} "
                                 f"record contradict each other on {name}")
        negatives = [*rule.negative, *(("clearance", {"name": g}) for g in rule.clearance_gates
                                       if rule.scoped_gate is None or g != rule.scoped_gate.id)]
        scoped = rule.scoped_gate
        if scoped is not None:
            named = {} if scoped.id == "any" else {"name": scoped.id}
            negatives.append(("clearance", {"scope": scoped.scope, **named}))
        for kind, fields in rule.positive:
            for n_kind, n_fields in negatives:
                if n_kind == kind and u.implies(kind, fields, n_fields):
                    gate = kind == "clearance" and (n_fields or {}).get("name") in rule.clearance_gates
                    why = (f"it needs the {n_fields['name']} clearance that also lifts it" if gate else
                           f"'{w.describe_pattern(kind, fields)}' and its negation 'not "
                           f"{w.describe_pattern(n_kind, n_fields)}' match the same facts")
                    self.add(ERROR, "never-fires", "gated_by_its_clearance" if gate else "negated_pattern", rule,
                             f"can never fire: {why}")
        return len(self.findings) > before

    # -- redundancy and conflicts ------------------------------------------------------------------------
    def fires_whenever(self, general: RuleSpec, specific: RuleSpec, aligned: bool = False) -> bool:
        """``general`` fires on every case on which ``specific`` fires (``aligned``: pattern by pattern)."""
        u = self.universe
        if len(general.positive) > len(specific.positive) and aligned:
            return False
        for i, (kind, fields) in enumerate(general.positive):
            candidates = [specific.positive[i]] if aligned else specific.positive
            if not any(k == kind and u.implies(kind, f, fields) for k, f in candidates):
                return False
        for kind, fields in general.negative:
            if not any(k == kind and u.implies(kind, fields, f) for k, f in specific.negative):
                return False
        if general.scoped_gate is not None and general.scoped_gate != specific.scoped_gate:
            return False  # a clearance given for X lifts the general rule, not the specific one
        return set(general.clearance_gates) <= set(specific.clearance_gates)

    def redundant(self, rules: list[RuleSpec]) -> None:
        """Identical rules are reported once per group; then each distinct rule against the ones that
        may subsume it (:class:`~medmassage_rules.lint.rule_index.GeneralIndex`)."""
        distinct = []
        for first, *copies in identical_groups(rules):
            distinct.append(first)
            if len(copies) == 1:
                self.add(WARNING, "redundant", "same_rule", copies[0], f"same conditions and conclusions as "
                         f"{first.id}: one of the two can go")
            elif copies:
                more = f", … (+{len(copies) - 5} more)" if len(copies) > 5 else ""
                names = ", ".join(c.id for c in copies[:5]) + more
                self.add(WARNING, "redundant", "same_rule", first, f"{len(copies)} rules have the same conditions "
                         f"and conclusions as this one ({names}): keep one")
        index = GeneralIndex(self.universe, distinct)
        for a in distinct:
            for b in index.candidates(a):
                if a.then != b.then or not self.fires_whenever(b, a, aligned=True):
                    continue
                if self.fires_whenever(a, b, aligned=True):
                    if a.order > b.order:
                        self.add(WARNING, "redundant", "same_rule", a, f"same conditions and conclusions as {b.id}: "
                                 "one of the two can go")
                else:
                    self.add(WARNING, "redundant", "subsumed", a, f"subsumed by {b.id}: it fires whenever this rule "
                             "does and concludes the same")

    def conflicts(self, rules: list[RuleSpec]) -> None:
        v = self.v
        index = GeneralIndex(self.universe, [r for r in rules if _stops_or_limits(r)])
        for p in rules:
            proposed = p.then.propose.modalities if p.then.propose is not None else ()
            targets = [(site, t) for t in p.then.targets for site in t.ids]
            if not proposed and not targets:
                continue
            for b in index.candidates(p):
                if not self.fires_whenever(b, p):
                    continue
                t = b.then
                if t.block_all is not None:
                    self.add(ERROR, "conflict", "stopped_by", p,
                             f"whatever it proposes or targets is moot: {b.id} stops all "
                             f"treatment ({t.block_all.status}) whenever this rule fires")
                    continue
                blocked = set(t.block_modalities.modalities) if t.block_modalities is not None else set()
                for mod in proposed:
                    if mod in blocked:
                        self.add(ERROR, "conflict", "blocked_by", p,
                                 f"proposes {v.label(mod)}, but {b.id} blocks it whenever "
                                 "this rule fires: the proposal can never reach a plan")
                    elif (t.cap is not None and not t.cap.ids and t.cap.site_from is None and not t.cap.targets
                          and mod in v.modalities and v.rank(v.modalities[mod].lowest) > v.rank(t.cap.pressure)):
                        self.add(ERROR, "conflict", "capped_by", p,
                                 f"proposes {v.label(mod)}, but {b.id} caps pressure at "
                                 f"{t.cap.pressure} whenever this rule fires, below its lowest pressure")
                if t.block_areas is not None and t.block_areas.site_from is None:
                    areas = {v.area_of(s) for s in t.block_areas.ids}
                    hit = [site for site, action in targets if v.area_of(site) in areas
                           and self.same_side(v.area_of(site), action, t.block_areas)]
                    if hit:
                        names = or_list([f"the {self.words.plain(x)}" for x in hit], "and")
                        where = or_list(sorted({f"the {self.words.plain(v.area_of(x))}" for x in hit}), "and")
                        self.add(ERROR, "conflict", "area_blocked_by", p,
                                 f"targets {names}, but {b.id} blocks {where} whenever "
                                 "this rule fires")

    def same_side(self, area: str, target: Any, block: Any) -> bool:
        """Whether a block surely covers the side of a target in its area: an axial area, a block on both
        sides, or a target and a block that take their side from the same patterns."""
        if area in self.v.axial_areas or not block.side_from:
            return True
        return target.side is None and tuple(target.side_from) == tuple(block.side_from)

    # -- gaps ----------------------------------------------------------------------------------------
    def gaps(self, rules: list[RuleSpec]) -> None:
        graph = build_knowledge_graph(self.v, rules, self.files.references, self.files.caveats)
        for condition in self.v.conditions:
            if not treatment_modalities(graph, f"condition:{condition}"):
                self.add(ERROR, "gap", "no_path_to_modality", None,
                         f"condition {condition}: no rule that can fire leads it to a "
                         "modality")
        allowed = self.files.unused_ok
        for kind, ids in (("condition", self.v.conditions), ("finding", self.v.findings),
                          ("history", self.v.history), ("medication_class", self.v.medication_classes),
                          ("modality", self.v.modalities)):
            for ident in ids:
                users = self.users(graph, kind, ident)
                if users and ident in allowed:
                    self.add(WARNING, "unused-term", "stale_unused_ok", None,
                             f"lint.unused_ok lists {kind.replace('_', ' ')} {ident}, "
                             f"but {or_list(sorted(users)[:3], 'and')} use it: drop it from the list")
                elif not users and ident not in allowed:
                    self.add(WARNING, "unused-term", "unused_term", None,
                             f"{kind.replace('_', ' ')} {ident}: no rule uses it "
                             "(a case may name it, but it changes nothing)")

    def tissues(self, rules: list[RuleSpec]) -> None:
        """Site-aware delivery (vocabulary ``tissues``, ``applies_to``, ``target_tissues``, ``area_tissues``):
        a tissue no modality applies to leaves its targets untreatable; a target a rule names that no
        modality applies to can never be worked."""
        v = self.v
        reachable = {t for m in v.modalities.values() for t in (m.applies_to or v.tissues)}
        for tissue in v.tissues:
            if tissue not in reachable:
                self.add(WARNING, "gap", "untreatable_tissue", None, f"tissue {tissue}: no modality applies to it "
                         "(modalities.*.applies_to), so no target of that tissue can be worked")
        for rule in rules:
            for action in rule.then.targets:
                for site in action.ids:
                    if v.tissue_of(site) not in reachable:
                        self.add(ERROR, "gap", "untreatable_target", rule,
                                 f"targets the {self.words.plain(site)} ({v.tissue_of(site)}), "
                                 "which no modality applies to")

    def users(self, graph: Any, kind: str, ident: str) -> set[str]:
        node = f"{kind}:{ident}"
        types = ("proposes", "blocks") if kind == "modality" else ()
        rules = {d["rule"] for _, d in edges_of(graph, node, types, out=False)}
        rules |= {r.split(":", 1)[1] for r, _ in edges_of(graph, node, ("triggers", "absent"))}
        if kind == "medication_class":
            for name, _ in edges_of(graph, node, ("is_a",), out=False):
                rules |= {r.split(":", 1)[1] for r, _ in edges_of(graph, name, ("triggers", "absent"))}
        return rules


def _stops_or_limits(rule: RuleSpec) -> bool:
    """A rule that can take away what another proposes: a stop, a block or a cap."""
    t = rule.then
    return any(x is not None for x in (t.block_all, t.block_modalities, t.block_areas, t.cap))
