"""`batch --baseline` misses nothing: every plan field compared, the rules involved named,
counts per kind of change, the same in the text summary, the JSON summary and the JUnit file."""

from __future__ import annotations

import json
import shutil
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest

from medmassage_rules.batch.baseline import FIELDS, Comparison, Signature, rule_hashes
from medmassage_rules.cases.loading import iter_cases
from medmassage_rules.kb.loading import load_knowledge_base
from medmassage_rules.planning.pipeline import plan_case

from ..conftest import FACTS, ROOT
from ..helpers import invoke

PUBLIC = sorted(FACTS.glob("p*.yaml"))
CAP_LINE = "      block_areas: {ids: [abdomen]}\n      cap: {pressure: moderate}"


def _what_the_plan_does(plan: dict[str, Any]) -> dict[str, Any]:
    """Everything but the wording, certainty and order: an oracle written apart from baseline.py."""
    work = {(w["target"], w["side"], w["modality"], w["pressure"])
            for s in plan["session"]["segments"] for w in s["work"]}
    return {"status": plan["status"], "modalities": {m["id"] for m in plan["modalities"]},
            "targets": {(t["id"], t["side"]) for t in plan["targets"]}, "work": work,
            "cap": plan["pressure_cap"],
            "caps": {(c.get("area") or c.get("target"), c["side"], c["pressure"]) for c in plan["caps"]},
            "blocked": ({b["id"] for b in plan["blocked"]["modalities"]},
                        {(b["id"], b["side"]) for b in plan["blocked"]["areas"]}),
            "clearances": set(plan["clearances_required"]),
            "referrals": {(r["to"], r["urgency"]) for r in plan["referrals"]},
            "minutes": plan["session"]["total_minutes"]}


@pytest.fixture(scope="module")
def lighter_pregnancy_cap(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, dict[str, Any], Path]:
    """The public cases before and after the pregnancy cap is lowered from moderate to light."""
    tmp = tmp_path_factory.mktemp("cap")
    before = tmp / "before.jsonl"
    assert invoke("batch", *PUBLIC, "--report", before).exit_code in (0, 1)
    rules = tmp / "rules"
    shutil.copytree(ROOT / "rules", rules)
    contra = rules / "contraindications.yaml"
    text = contra.read_text()
    assert text.count(CAP_LINE) == 1
    contra.write_text(text.replace(CAP_LINE, CAP_LINE.replace("moderate", "light")))
    junit = tmp / "junit.xml"
    result = invoke("batch", *PUBLIC, "--rules", rules, "--baseline", before, "--format", "json",
                    "--junit", junit)
    text_result = invoke("batch", *PUBLIC, "--rules", rules, "--baseline", before)
    return rules, junit, {"json": json.loads(result.stdout)["baseline"], "text": text_result.stdout}, before


def test_every_plan_that_does_something_else_is_listed(lighter_pregnancy_cap) -> None:
    rules, _, diffs, _ = lighter_pregnancy_cap
    old_kb, new_kb = load_knowledge_base(), load_knowledge_base(rules)
    expected = set()
    for path in PUBLIC:
        for loaded in iter_cases(path, old_kb.vocabulary):
            assert loaded.case is not None
            plans = [_what_the_plan_does(plan_case(loaded.case, kb).plan.to_dict()) for kb in (old_kb, new_kb)]
            if plans[0] != plans[1]:
                expected.add(loaded.case.id)
    diff = diffs["json"]
    assert len(expected) >= 3                     # p11, p20, p28: pregnant patients
    assert {c["case_id"] for c in diff["changed"]} == expected
    # a pressure change is shown even where no modality dropped out
    p28 = next(c for c in diff["changed"] if c["case_id"] == "p28-dyspnea-wrist-fracture-pregnancy-aspirin")
    assert p28["changes"]["pressure_cap"] == {"before": "moderate", "after": "light"}
    assert "modalities" not in p28["changes"]


def test_the_rule_whose_content_changed_is_named(lighter_pregnancy_cap) -> None:
    _, _, diffs, _ = lighter_pregnancy_cap
    diff = diffs["json"]
    for change in diff["changed"]:
        assert {"id": "contra-pregnancy", "how": "edited"} in change["rules"], change
    assert diff["rules_involved"] == [{"id": "contra-pregnancy", "how": "edited", "cases": len(diff["changed"])}]
    assert "contra-pregnancy (edited" in diffs["text"]


def test_counts_per_kind_agree_in_json_text_and_junit(lighter_pregnancy_cap) -> None:
    _, junit, diffs, _ = lighter_pregnancy_cap
    diff = diffs["json"]
    counted: dict[str, int] = {}
    for change in diff["changed"]:
        for kind in change["changes"]:
            counted[kind] = counted.get(kind, 0) + 1
    assert diff["changes_by_kind"] == counted
    assert counted["pressure_cap"] == len(diff["changed"])
    assert "changes by kind: " + ", ".join(f"{k} {n}" for k, n in counted.items()) in diffs["text"]
    suite = next(s for s in ET.parse(junit).getroot() if s.get("name") == "medmassage baseline")
    props = {p.get("name"): p.get("value") for p in suite.iter("property")}
    assert {k.removeprefix("changed."): int(v) for k, v in props.items()
            if k.startswith("changed.")} == counted
    assert props["rule.contra-pregnancy"].startswith("edited in ")
    assert {c.get("name") for c in suite.iter("testcase")} == {c["case_id"] for c in diff["changed"]}


def test_report_rows_name_the_rules_that_fired_with_their_hash(lighter_pregnancy_cap, kb) -> None:
    *_, before = lighter_pregnancy_cap
    hashes = rule_hashes(kb)
    rows = [json.loads(line) for line in before.read_text().splitlines()]
    p11 = next(r for r in rows if r["case_id"] == "p11-pregnancy-low-back")
    assert p11["rules"]["contra-pregnancy"] == hashes["contra-pregnancy"]
    for row in rows:
        assert list(row["rules"]) == sorted(row["rules"])
        assert all(hashes[rule] == h for rule, h in row["rules"].items())


def test_a_rule_that_stops_firing_is_named(tmp_path: Path) -> None:
    p01 = FACTS / "p01-cts-mild-right.yaml"
    before = tmp_path / "before.jsonl"
    invoke("batch", p01, "--report", before)
    fired = json.loads(before.read_text())["rules"]
    rules = tmp_path / "rules"
    shutil.copytree(ROOT / "rules", rules)
    conditions = rules / "conditions.yaml"
    text = conditions.read_text()
    conditions.write_text(text.replace("ids: [forearm_flexors, pronator_teres, flexor_retinaculum]",
                                       "ids: [forearm_flexors, flexor_retinaculum]", 1))
    diff = json.loads(invoke("batch", p01, "--rules", rules, "--baseline", before, "--format", "json").stdout)
    change = diff["baseline"]["changed"][0]
    assert change["changes"]["targets"]["before"] == ["flexor_retinaculum", "forearm_flexors", "pronator_teres"]
    edited = [r["id"] for r in change["rules"] if r["how"] == "edited"]
    assert len(edited) == 1 and edited[0] in fired


def test_a_side_or_a_pressure_alone_is_a_change_and_a_dropped_target_only_one() -> None:
    plan = json.loads(invoke("recommend", FACTS / "p01-cts-mild-right.yaml", "--format", "json").stdout)
    base = Signature.of_plan(plan, {"r": "1"})
    moved = json.loads(json.dumps(plan))
    moved["targets"][0]["side"] = "left"
    harder = json.loads(json.dumps(plan))
    harder["session"]["segments"][0]["work"][0]["pressure"] = "light"
    dropped = json.loads(json.dumps(plan))
    gone = dropped["targets"].pop()["id"]
    for segment in dropped["session"]["segments"]:
        segment["work"] = [w for w in segment["work"] if w["target"] != gone]
    comparison = Comparison("b", {"moved": base, "harder": base, "dropped": base, "same": base})
    comparison.observe("moved", "x", Signature.of_plan(moved, {"r": "1"}))
    comparison.observe("harder", "x", Signature.of_plan(harder, {"r": "2"}))
    comparison.observe("dropped", "x", Signature.of_plan(dropped, {"r": "1", "s": "3"}))
    comparison.observe("same", "x", Signature.of_plan(plan, {"r": "1"}))
    result = {c.case_id: c for c in comparison.result().changed}
    assert set(result) == {"moved", "harder", "dropped"}
    assert [d[0] for d in result["moved"].differences] == ["sides"]
    assert [d[0] for d in result["harder"].differences] == ["pressures"]
    assert result["harder"].rules == (("r", "edited"),)
    assert [d[0] for d in result["dropped"].differences] == ["targets"]
    assert result["dropped"].rules == (("s", "fires now"),)
    assert set(FIELDS) >= {"status", "modalities", "targets", "sides", "pressures", "pressure_cap", "caps",
                           "blocks", "clearances", "referrals", "minutes"}


def test_an_older_report_without_rules_still_compares() -> None:
    plan = json.loads(invoke("recommend", FACTS / "p11-pregnancy-low-back.yaml", "--format", "json").stdout)
    old = Signature.of_row({"case_id": "x", "plan": plan})
    assert old.rules is None
    comparison = Comparison("b", {"x": old})
    lighter = json.loads(json.dumps(plan))
    lighter["pressure_cap"] = "light"
    comparison.observe("x", "x", Signature.of_plan(lighter, {"contra-pregnancy": "abc"}))
    change = comparison.result().changed[0]
    assert change.differences == (("pressure_cap", "moderate", "light"),) and change.rules == ()


def test_an_edit_that_changes_no_plan_is_named_apart(tmp_path: Path) -> None:
    before = tmp_path / "before.jsonl"
    invoke("batch", *PUBLIC, "--report", before)
    rules = tmp_path / "rules"
    shutil.copytree(ROOT / "rules", rules)
    contra = rules / "contraindications.yaml"
    text = contra.read_text()
    old = "description: Pregnancy - no abdominal work, moderate pressure at most"
    assert text.count(old) == 1
    contra.write_text(text.replace(old, old + " (reworded)"))
    junit = tmp_path / "junit.xml"
    result = invoke("batch", *PUBLIC, "--rules", rules, "--baseline", before, "--format", "json", "--junit", junit)
    diff = json.loads(result.stdout)["baseline"]
    assert diff["changed"] == [] and diff["changes_by_kind"] == {}
    quiet = diff["rules_without_plan_change"]
    assert [(q["id"], q["how"]) for q in quiet] == [("contra-pregnancy", "edited")] and quiet[0]["cases"] >= 3
    suite = next(s for s in ET.parse(junit).getroot() if s.get("name") == "medmassage baseline")
    props = {p.get("name"): p.get("value") for p in suite.iter("property")}
    assert props["rule_without_plan_change.contra-pregnancy"] == f"edited in {quiet[0]['cases']} cases"
    text_out = invoke("batch", *PUBLIC, "--rules", rules, "--baseline", before).stdout
    assert "rules that changed no plan: contra-pregnancy (edited" in text_out
