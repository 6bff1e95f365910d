"""Comparing a batch with an earlier report: what a knowledge-base edit did to every case.

A case is matched by its ``case_id``. It has *changed* when any field of what its plan does
differs (:data:`FIELDS`): the status, the recommended modalities, the targets, the side of a
target kept in both, the pressure of a (target, side, modality) pair delivered in both, the
plan's pressure cap, the caps in force, the blocked modalities and areas, the clearances
required, the referrals, and the total minutes. A case that became invalid, or valid again,
changes its status to or from None. Order within the lists is not compared (a certainty shift
that only reorders them is not a change of what the plan does); a side or a pressure is
compared only where the target or the pair is in both plans, so that a dropped target counts
as a change of targets and not again as a change of sides and pressures.

Each report row names the rules that fired on its case with each rule's content hash
(:func:`rule_hashes`). A changed case names the rules involved: those that fire now and did not,
that no longer fire, or that fired in both with a different content; a rule edited (or firing
otherwise) in cases whose plans did not change is counted apart, so that an edit that changed
nothing is seen too. A baseline written before rows carried their rules names none. Cases only
in the new batch are *added*, cases only in the baseline *removed*. A duplicate id's row is not
compared (the batch refuses it), and an invalid case only counts as changed when the baseline
has it.
"""

from __future__ import annotations

import hashlib
import json
import sys
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import CaseError, Problem
from ..files.reading import iter_raw_lines, parse_json_line
from ..kb.knowledge_base import KnowledgeBase

FIELDS = ("status", "modalities", "targets", "sides", "pressures", "pressure_cap", "caps", "blocks",
          "clearances", "referrals", "minutes")
_KEYED = frozenset({"sides", "pressures"})  # compared only on the keys both plans have (see the module doc)
_HASH_CACHE: dict[int, tuple[KnowledgeBase, dict[str, str]]] = {}


def rule_hashes(kb: KnowledgeBase) -> dict[str, str]:
    """Each rule's content hash: 12 hex digits of the SHA-256 of its canonical JSON form.

    Everything the rule says counts (conditions, actions, description, grade, citation,
    salience); where it is written (its file and place) does not, so moving a rule is no edit.
    """
    cached = _HASH_CACHE.get(id(kb))
    if cached is not None and cached[0] is kb:
        return cached[1]
    hashes = {}
    for rule in kb.rules:
        content = rule.model_dump(mode="json", by_alias=True, exclude={"source", "order"})
        text = json.dumps(content, sort_keys=True, ensure_ascii=False, default=str)
        hashes[rule.id] = hashlib.sha256(text.encode("utf-8")).hexdigest()[:12]
    _HASH_CACHE[id(kb)] = (kb, hashes)
    return hashes


def fired_rules(rule_ids: Iterable[str], kb: KnowledgeBase) -> dict[str, str]:
    """The report row's ``rules``: every rule that fired, once, in id order, with its content hash."""
    hashes = rule_hashes(kb)
    return {rule_id: hashes[rule_id] for rule_id in sorted(set(rule_ids)) if rule_id in hashes}


def _ids(items: Iterable[str]) -> tuple[str, ...]:
    return tuple(sorted({sys.intern(str(i)) for i in items}))


def _side(side: Any) -> str:
    return "both sides" if side is None else str(side)


@dataclass(frozen=True, slots=True)
class Signature:
    """What a baseline comparison looks at in one plan (status None: the case was invalid).

    Every field is a sorted tuple of short texts (``sides``: ``target: side``; ``pressures``:
    ``target (side) modality: pressure``) so that a difference reads as it is.
    ``rules`` is None when the row did not say which rules fired.
    """

    status: str | None
    modalities: tuple[str, ...] = ()
    targets: tuple[str, ...] = ()
    sides: tuple[str, ...] = ()
    pressures: tuple[str, ...] = ()
    pressure_cap: str | None = None
    caps: tuple[str, ...] = ()
    blocks: tuple[str, ...] = ()
    clearances: tuple[str, ...] = ()
    referrals: tuple[str, ...] = ()
    minutes: int | None = None
    rules: tuple[tuple[str, str], ...] | None = None

    @classmethod
    def of_plan(cls, plan: dict[str, Any], rules: dict[str, str] | None = None) -> Signature:
        """The signature of a plan in its JSON form (contract §2); KeyError/TypeError when malformed."""
        blocked = plan.get("blocked") or {}
        work = [w for s in plan["session"]["segments"] for w in s.get("work", ())]
        return cls(
            status=sys.intern(plan["status"]),
            modalities=_ids(m["id"] for m in plan["modalities"]),
            targets=_ids(t["id"] for t in plan["targets"]),
            sides=_ids(f"{t['id']}: {_side(t.get('side'))}" for t in plan["targets"]),
            pressures=_ids(f"{w['target']} ({_side(w.get('side'))}) {w['modality']}: {w['pressure']}"
                           for w in work),
            pressure_cap=plan.get("pressure_cap"),
            caps=_ids(f"{c.get('area') or c.get('target')} ({_side(c.get('side'))}): {c['pressure']}"
                      for c in plan.get("caps", ())),
            blocks=_ids([*(f"modality {b['id']}" for b in blocked.get("modalities", ())),
                         *(f"area {b['id']} ({_side(b.get('side'))})" for b in blocked.get("areas", ()))]),
            clearances=_ids(plan.get("clearances_required", ())),
            referrals=_ids(f"{r['to']} ({r['urgency']})" for r in plan.get("referrals", ())),
            minutes=plan["session"]["total_minutes"],
            rules=None if rules is None else tuple(sorted(rules.items())))

    @classmethod
    def of_row(cls, row: dict[str, Any]) -> Signature:
        """The signature of a report row (contract §4); raises ValueError on a malformed row."""
        plan = row.get("plan")
        rules = row.get("rules")
        if rules is not None and not (isinstance(rules, dict)
                                      and all(isinstance(v, str) for v in rules.values())):
            raise ValueError("rules is not an object of rule id to content hash")
        if plan is None:
            return cls(None, rules=None if rules is None else tuple(sorted(rules.items())))
        if not isinstance(plan, dict):
            raise ValueError("plan is neither an object nor null")
        try:
            return cls.of_plan(plan, rules)
        except (KeyError, TypeError, AttributeError) as exc:
            raise ValueError(f"plan lacks {exc}") from None


def _key(entry: str) -> str:
    """What a side or a pressure entry is about (``target`` or ``target (side) modality``)."""
    return entry.rsplit(": ", 1)[0]


def _differences(before: Signature, now: Signature) -> tuple[tuple[str, Any, Any], ...]:
    found = []
    for name in FIELDS:
        old, new = getattr(before, name), getattr(now, name)
        if name in _KEYED and before.status is not None and now.status is not None:
            # only what both plans have: a side of a target in both, a pressure of a pair in both
            shared = {_key(e) for e in old} & {_key(e) for e in new}
            old, new = (tuple(e for e in old if _key(e) in shared and e not in new),
                        tuple(e for e in new if _key(e) in shared and e not in old))
        if old != new:
            found.append((name, old, new))
    return tuple(found)


def _rules_involved(before: Signature, now: Signature) -> tuple[tuple[str, str], ...]:
    """(rule id, how): ``fires now``, ``no longer fires`` or ``edited``; none when a side is unknown."""
    if before.rules is None or now.rules is None:
        return ()
    old, new = dict(before.rules), dict(now.rules)
    out = [(rule, "fires now") for rule in new if rule not in old]
    out += [(rule, "no longer fires") for rule in old if rule not in new]
    out += [(rule, "edited") for rule in old if rule in new and old[rule] != new[rule]]
    return tuple(sorted(out))


@dataclass(frozen=True)
class Change:
    """One case whose plan differs from the baseline: (field, before, after) for each difference,
    and the rules involved, (rule id, how)."""

    case_id: str
    source: str
    differences: tuple[tuple[str, Any, Any], ...]
    rules: tuple[tuple[str, str], ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {"case_id": self.case_id, "source": self.source,
                "changes": {name: {"before": _shown(old), "after": _shown(new)}
                            for name, old, new in self.differences},
                "rules": [{"id": rule, "how": how} for rule, how in self.rules]}

    def __str__(self) -> str:
        parts = [f"{name} {_text(old)} -> {_text(new)}" for name, old, new in self.differences]
        text = f"{self.case_id}: {'; '.join(parts)}"
        if self.rules:
            text += "; rules: " + ", ".join(f"{rule} ({how})" for rule, how in self.rules)
        return text


def _shown(value: Any) -> Any:
    return list(value) if isinstance(value, tuple) else value


def _text(value: Any) -> str:
    if isinstance(value, tuple):
        return "[" + ", ".join(value) + "]"
    return "invalid" if value is None else str(value)


@dataclass(frozen=True)
class BaselineDiff:
    """The outcome of a comparison with a baseline report.

    ``kinds``: for each field of :data:`FIELDS` (and ``rules``), how many changed cases differ in
    it, in the order of :data:`FIELDS`; ``rules``: each rule involved and in how many changed cases.
    """

    baseline: str
    compared: int
    changed: tuple[Change, ...]
    added: tuple[str, ...]
    removed: tuple[str, ...]
    quiet: tuple[tuple[str, str, int], ...] = ()   # (rule, how, cases) where no plan changed

    @property
    def kinds(self) -> tuple[tuple[str, int], ...]:
        counts = Counter(name for change in self.changed for name, _, _ in change.differences)
        return tuple((name, counts[name]) for name in FIELDS if counts[name])

    @property
    def rules(self) -> tuple[tuple[str, str, int], ...]:
        """(rule id, how, changed cases), most cases first."""
        counts = Counter(involved for change in self.changed for involved in change.rules)
        return tuple((rule, how, n) for (rule, how), n in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])))

    def to_dict(self) -> dict[str, Any]:
        return {"baseline": self.baseline, "compared": self.compared,
                "changed": [c.to_dict() for c in self.changed],
                "added": list(self.added), "removed": list(self.removed),
                "changes_by_kind": dict(self.kinds),
                "rules_involved": [{"id": rule, "how": how, "cases": n} for rule, how, n in self.rules],
                "rules_without_plan_change": [{"id": rule, "how": how, "cases": n} for rule, how, n in self.quiet]}

    def lines(self) -> list[str]:
        """The comparison as text lines (the summary table's and JUnit's)."""
        out = [f"compared with {self.baseline}: {self.compared} cases matched, {len(self.changed)} changed, "
               f"{len(self.added)} added, {len(self.removed)} removed"]
        if self.kinds:
            out.append("  changes by kind: " + ", ".join(f"{name} {n}" for name, n in self.kinds))
        if self.rules:
            out.append("  rules involved: " + ", ".join(f"{rule} ({how}, {n} case{'s' if n != 1 else ''})"
                                                        for rule, how, n in self.rules))
        if self.quiet:
            out.append("  rules that changed no plan: " + ", ".join(
                f"{rule} ({how}, {n} case{'s' if n != 1 else ''})" for rule, how, n in self.quiet))
        out += [f"  changed  {c}" for c in self.changed]
        out += [f"  added    {case_id}" for case_id in self.added]
        out += [f"  removed  {case_id}" for case_id in self.removed]
        return out


def _rows(path: Path) -> Iterator[tuple[str, dict[str, Any]]]:
    """The rows of a baseline report; every problem names the file as the baseline, not as a case."""
    source = str(path)

    def refused(where: str, why: str) -> CaseError:
        return CaseError([Problem(where, "", "bad_baseline",
                              f"--baseline is not a batch report (a --report file): {why}")])

    if not path.is_file():
        raise refused(source, "no such file")
    try:
        for number, raw in iter_raw_lines(path):
            where = f"{source}:{number}"
            try:
                row = parse_json_line(raw, number, where)
            except CaseError as exc:
                raise refused(where, "; ".join(p.message for p in exc.problems)) from None
            if not isinstance(row, dict) or "case_id" not in row or "plan" not in row:
                raise refused(where, "the row has no case_id or plan")
            yield where, row
    except CaseError as exc:
        if all("--baseline" in p.message for p in exc.problems):
            raise
        raise refused(source, "; ".join(p.message for p in exc.problems)) from None


def load_baseline(path: str | Path) -> dict[str, Signature]:
    """The signature of every case of an earlier report (JSON Lines rows of contract §4).

    Only the small signatures are kept, not the plans. A row without a case id cannot be
    matched and is skipped; when an id repeats, its first row counts (as in the batch).
    """
    signatures: dict[str, Signature] = {}
    for where, row in _rows(Path(path)):
        case_id = row["case_id"]
        if not isinstance(case_id, str) or case_id in signatures:
            continue
        try:
            signatures[sys.intern(case_id)] = Signature.of_row(row)
        except ValueError as exc:
            raise CaseError([Problem(where, "plan", "bad_baseline",
                                     f"--baseline row is not a plan of contract §2: {exc}")]) from None
    return signatures


class Comparison:
    """Compares the cases of a batch, as they finish, with a loaded baseline."""

    def __init__(self, baseline: str, signatures: dict[str, Signature]):
        self.baseline = baseline
        self.pending = dict(signatures)  # what has not been seen yet: the removed cases at the end
        self.compared = 0
        self.changed: list[Change] = []
        self.added: list[str] = []
        self.quiet: Counter[tuple[str, str]] = Counter()

    def observe(self, case_id: str, source: str, now: Signature) -> None:
        """Compare one case of the batch. An invalid case (``now.status`` None) the baseline
        does not know is not *added*: there is no plan to add."""
        before = self.pending.pop(case_id, None)
        if before is None:
            if now.status is not None:
                self.added.append(case_id)
            return
        self.compared += 1
        differences = _differences(before, now)
        involved = _rules_involved(before, now)
        if differences:
            self.changed.append(Change(case_id, source, differences, involved))
        else:
            self.quiet.update(involved)

    def result(self) -> BaselineDiff:
        quiet = tuple((rule, how, n) for (rule, how), n in sorted(self.quiet.items(), key=lambda kv: (-kv[1], kv[0])))
        return BaselineDiff(self.baseline, self.compared, tuple(self.changed), tuple(self.added),
                            tuple(self.pending), quiet)

