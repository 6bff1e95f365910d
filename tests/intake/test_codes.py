"""ICD-10-CM codes in cases (case-format §5): the shipped index, the map, laterality,
contradictions, codes outside the knowledge base, and the cost of loading."""

from __future__ import annotations

import gzip
import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from medmassage_rules.cases.loading import validate_case
from medmassage_rules.errors import CaseError
from medmassage_rules.intake import codes
from medmassage_rules.intake.check import intake_problems

from ..conftest import FACTS, ROOT
from ..helpers import assert_refused, invoke

INDEX = codes.load_index()


def case(*diagnoses: dict, **more: object) -> dict:
    return {"id": "t", "diagnoses": list(diagnoses), **more}


def problems(data: dict, vocab) -> list[str]:
    with pytest.raises(CaseError) as caught:
        validate_case(data, "c.yaml", vocab)
    return [str(p) for p in caught.value.problems]


# -- the shipped index is the package's code set ----------------------------------------------------
@pytest.fixture(scope="module")
def package():
    import simple_icd_10_cm  # the test extra installs it; imported only here (1.6 s)
    return simple_icd_10_cm


def test_the_build_script_reproduces_the_shipped_index(package) -> None:
    spec = importlib.util.spec_from_file_location("build_icd10_index", ROOT / "scripts" / "build_icd10_index.py")
    assert spec is not None and spec.loader is not None
    build = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(build)
    lines = build.build_lines()
    shipped = gzip.decompress((ROOT / "rules" / "intake" / codes.INDEX_FILE).read_bytes()).decode()
    header = [line for line in lines if line.startswith("#")]
    body = sorted((line for line in lines if not line.startswith("#")), key=lambda line: line.split("\t", 1)[0])
    assert shipped == "\n".join(header + body) + "\n", "rerun scripts/build_icd10_index.py"


def test_every_package_code_is_valid_in_the_index_and_nothing_else(package) -> None:
    # chapters are numbers and blocks ranges ("C00-C96"); a block named after its one category is that category
    expected = {c for c in package.get_all_codes(with_dots=True) if not package.is_chapter(c) and "-" not in c}
    assert INDEX.valid_codes() == expected


@pytest.mark.slow
@settings(max_examples=300, deadline=None)
@given(st.data())
def test_descriptions_and_seventh_characters_match_the_package(package, data) -> None:
    code = data.draw(st.sampled_from(sorted(INDEX.valid_codes())))
    found = INDEX.get(code)
    assert found is not None and found.description == " ".join(package.get_description(code).split())
    assert found.lineage[1:2] == (package.get_parent(code),) or package.get_parent(code) == code[:3]


# -- normalisation, validity, laterality --------------------------------------------------------------
@pytest.mark.parametrize("raw", ["G56.01", "G5601", "g56.01", " g5601 "])
def test_with_or_without_the_dot_in_any_case(raw: str) -> None:
    assert INDEX.get(raw).code == "G56.01"


@pytest.mark.parametrize(("code", "side"), [
    ("G56.01", "right"), ("G56.02", "left"), ("G56.03", "bilateral"), ("G56.00", None), ("G56.0", None),
    ("M25.561", "right"),          # pain in right knee: the sixth character
    ("S82.102A", "left"),          # a seventh-character code takes its leaf's side
    ("S92.065A", "left"),          # nondisplaced fractures use 4-6 for the sides
    ("H40.1131", "bilateral"),     # glaucoma, bilateral
    ("C50.912", "left"), ("I82.4Z1", "right"),
    ("I50.811", None),             # acute right heart failure names no side of the body
    ("I44.7", None),               # left bundle-branch block
    ("T81.6", None),               # foreign substance accidentally left during a procedure
])
def test_the_side_is_the_one_the_code_names(code: str, side: str | None) -> None:
    assert INDEX.get(code).side == side


@pytest.mark.parametrize("raw", ["C00-C96", "2", "G56.04", "XYZ", "M54.5X", "G5"])
def test_blocks_chapters_and_non_codes_are_not_codes(raw: str) -> None:
    assert INDEX.get(raw) is None


def test_a_header_code_is_valid_and_prefixes_cover_it(vocab) -> None:
    assert INDEX.get("M54.5").description == "Low back pain"
    got = validate_case(case({"icd10": "M54.5"}), "c.yaml", vocab)
    assert got.diagnoses[0].condition == "low_back_pain"


# -- cases ----------------------------------------------------------------------------------------------
def test_a_code_gives_the_condition_and_the_side(vocab) -> None:
    got = validate_case(case({"icd10": "g5602", "acuity": "chronic"}), "c.yaml", vocab)
    d = got.diagnoses[0]
    assert (d.condition, d.side, d.icd10) == ("carpal_tunnel_syndrome", "left", "G56.02")
    assert got.not_covered == ()


def test_a_condition_and_side_that_agree_with_the_code_are_accepted(vocab) -> None:
    got = validate_case(case({"condition": "carpal_tunnel_syndrome", "side": "right", "icd10": "G56.01"}),
                        "c.yaml", vocab)
    assert got.diagnoses[0].side == "right"


@pytest.mark.parametrize(("entry", "path", "fragment"), [
    ({"icd10": "G56.01", "side": "left"}, "diagnoses[0].side", "contradicts icd10 G56.01"),
    ({"icd10": "G56.03", "side": "right"}, "diagnoses[0].side", "which is bilateral"),
    ({"icd10": "G56.01", "condition": "neck_pain"}, "diagnoses[0].condition", "which is carpal_tunnel_syndrome"),
    ({"icd10": "G56.04"}, "diagnoses[0].icd10", "did you mean G56.03, G56.02, G56.01?"),
    ({"icd10": "not a code"}, "diagnoses[0].icd10", "not a valid ICD-10-CM code"),
    ({"icd10": "C00-C96"}, "diagnoses[0].icd10", "not a valid ICD-10-CM code"),
])
def test_contradictions_and_invalid_codes_are_refused(vocab, entry: dict, path: str, fragment: str) -> None:
    lines = problems(case(entry), vocab)
    assert len(lines) == 1 and lines[0].startswith(f"c.yaml: {path}: ") and fragment in lines[0], lines


def test_a_condition_given_with_an_unmapped_code_is_used_as_given(vocab) -> None:
    got = validate_case(case({"condition": "neck_pain", "icd10": "L40.0"}), "c.yaml", vocab)
    assert got.diagnoses[0].condition == "neck_pain" and got.not_covered == ()


def test_a_valid_code_outside_the_knowledge_base_is_not_covered(vocab) -> None:
    got = validate_case(case({"icd10": "L40.0"}, {"icd10": "G56.01"}), "c.yaml", vocab)
    assert [d.condition for d in got.diagnoses] == ["carpal_tunnel_syndrome"]
    assert got.not_covered == (("L40.0", "Psoriasis vulgaris"),)


def test_the_public_uncovered_case(vocab) -> None:
    from medmassage_rules.cases.loading import load_case

    got = load_case(FACTS / "p25-uncovered-code.yaml", vocab)
    assert got.diagnoses == [] and got.not_covered == (("L40.0", "Psoriasis vulgaris"),)


def test_a_problem_after_a_set_aside_entry_names_its_index_in_the_file(vocab) -> None:
    lines = problems(case({"icd10": "L40.0"}, {"condition": "neck_pian"}), vocab)
    assert len(lines) == 1 and lines[0].startswith("c.yaml: diagnoses[1].condition: "), lines


def test_no_diagnosis_and_no_code_is_still_refused(vocab) -> None:
    lines = problems(case(), vocab)
    assert len(lines) == 1 and "diagnoses" in lines[0] and "at least 1 item" in lines[0]


@pytest.mark.parametrize(("code", "expected"), [
    ("C50.912", {"item": "malignancy", "area": "chest", "side": "left", "active": True}),
    ("I82.401", {"item": "known_dvt", "area": "lower_leg", "side": "right"}),
    ("I82.431", {"item": "known_dvt", "area": "knee", "side": "right"}),
    ("Z3A.24", {"item": "pregnancy", "weeks": 24}),
    ("O09.523", {"item": "pregnancy", "high_risk": True}),
    ("D69.6", {"item": "thrombocytopenia"}),
    ("M80.051A", {"item": "osteoporosis", "fragility_fracture": True, "side": "right"}),
    ("I50.21", {"item": "heart_failure", "decompensated": True}),
    ("I50.22", {"item": "heart_failure", "decompensated": False}),
    ("Z85.3", {"item": "malignancy", "active": False}),
    ("D45", {"item": "malignancy"}),
    ("L03.116", {"item": "cellulitis", "area": "lower_leg", "side": "left"}),
    ("S82.101A", {"item": "recent_fracture", "area": "knee", "side": "right"}),
    ("S82.62XD", {"item": "recent_fracture", "area": "ankle_foot", "side": "left"}),
    ("S72.001A", {"item": "recent_fracture", "area": "hip_gluteal", "side": "right"}),
    ("S32.010A", {"item": "recent_fracture", "area": "lower_back", "side": None}),
    ("S61.412A", {"item": "open_wound", "area": "wrist_hand", "side": "left"}),
])
def test_history_codes(vocab, code: str, expected: dict) -> None:
    got = validate_case(case({"condition": "neck_pain"}, history=[{"icd10": code}]), "c.yaml", vocab)
    item = got.history[0]
    assert {k: getattr(item, k) for k in expected} == expected


def test_the_case_itself_names_the_site_over_the_map(vocab) -> None:
    got = validate_case(case({"condition": "neck_pain"}, history=[{"icd10": "C50.912", "area": "axilla"}]),
                        "c.yaml", vocab)
    assert (got.history[0].area, got.history[0].side) == ("axilla", "left")


def test_a_sequela_is_no_recent_fracture(vocab) -> None:
    got = validate_case(case({"condition": "neck_pain"}, history=[{"icd10": "S82.101S"}]), "c.yaml", vocab)
    assert got.history == [] and got.not_covered == (("S82.101S", "Unspecified fracture of upper end of right "
                                                                   "tibia, sequela"),)


def test_a_benign_neoplasm_is_not_a_malignancy(vocab) -> None:
    got = validate_case(case({"condition": "neck_pain"}, history=[{"icd10": "D17.1"}]), "c.yaml", vocab)
    assert got.history == [] and got.not_covered[0][0] == "D17.1"


def test_a_contradicting_history_item_is_refused(vocab) -> None:
    lines = problems(case({"condition": "neck_pain"}, history=[{"icd10": "I82.401", "item": "varicose_veins"}]),
                     vocab)
    assert len(lines) == 1 and lines[0].startswith("c.yaml: history[0].item: "), lines


def test_the_command_line_refuses_a_contradiction_with_one_line(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    path.write_text("id: x\ndiagnoses:\n  - {icd10: G56.01, side: left}\n", encoding="utf-8")
    result = invoke("recommend", path)
    lines = assert_refused(result.exit_code, result.stdout, result.stderr, path)
    assert lines == [f"error: {path}: diagnoses[0].side: contradicts icd10 G56.01 (Carpal tunnel syndrome, "
                     "right upper limb), which is right (got 'left')"]


# -- the map ------------------------------------------------------------------------------------------
def test_the_shipped_tables_have_no_problem(vocab) -> None:
    assert intake_problems(ROOT / "rules" / "intake", vocab) == []


def test_lint_finds_an_invalid_key_an_unknown_term_and_an_unreached_condition(vocab, tmp_path: Path) -> None:
    (tmp_path / codes.MAP_FILE).write_text(
        "conditions:\n  G56.0: carpal_tunnel_syndrome\n  G56.9X: carpal_tunnel_syndrome\n"
        "history:\n  I82.4: {item: known_clot}\n", encoding="utf-8")
    found = intake_problems(tmp_path, vocab)
    messages = [str(p) for p in found]
    assert {p.code for p in found} == {"not_an_icd10_code", "unknown_id", "unreached_condition"}
    assert any("'G56.9X' is not a valid ICD-10-CM code" in m for m in messages)
    assert any("unknown history item id 'known_clot'" in m for m in messages)
    assert any("condition neck_pain is reached by no ICD-10-CM code" in m for m in messages)


def test_the_most_specific_key_wins() -> None:
    code_map = codes.load_code_map()
    assert code_map.history_item(INDEX.get("I82.431")).attributes["area"] == "knee"
    assert code_map.history_item(INDEX.get("I82.491")).attributes["area"] == "lower_leg"
    assert code_map.history_item(INDEX.get("C18.9")).attributes == {"area": "abdomen"}
    assert code_map.history_item(INDEX.get("C43.9")).attributes == {}


@settings(max_examples=200, deadline=None)
@given(st.sampled_from(sorted(c for c in INDEX._rows if "-" not in c and not c.isdigit())))
def test_every_spelling_of_a_code_reads_the_same(code: str) -> None:
    bare = code.replace(".", "")
    assert INDEX.get(bare.lower()) == INDEX.get(code) == INDEX.get(f" {code.lower()} ")


# -- cost: the index is read only for a case with a code; the package never at run time --------------
def test_the_index_loads_only_when_a_case_holds_a_code() -> None:
    script = (
        "import sys\n"
        "from medmassage_rules.kb.loading import load_knowledge_base\n"
        "from medmassage_rules.cases.loading import load_case\n"
        "from medmassage_rules.intake import codes\n"
        "v = load_knowledge_base().vocabulary\n"
        f"load_case({str(FACTS / 'p05-fibromyalgia-warfarin.yaml')!r}, v)\n"
        "before = codes.load_index.cache_info().currsize\n"
        f"load_case({str(FACTS / 'p23-icd10-and-intake-meds.yaml')!r}, v)\n"
        "print(before, codes.load_index.cache_info().currsize, 'simple_icd_10_cm' in sys.modules)\n")
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert out.stdout.split() == ["0", "1", "False"], out.stderr


SIDED_MAPPED = sorted(c for c in INDEX._rows if "-" not in c and not c.isdigit() and INDEX.get(c).side
                      and codes.load_code_map().condition(INDEX.get(c)) is not None)


@settings(max_examples=100, deadline=None)
@given(st.sampled_from(SIDED_MAPPED), st.sampled_from(["left", "right", "bilateral"]))
def test_a_given_side_is_accepted_exactly_when_the_code_names_it(vocab, code: str, side: str) -> None:
    found = INDEX.get(code)
    entry = {"icd10": code, "side": side, "area": "forearm"}  # an area, for the conditions that need one
    if side == found.side:
        assert validate_case(case(entry), "c.yaml", vocab).diagnoses[0].side == side
    else:
        lines = problems(case(entry), vocab)
        assert lines == [f"c.yaml: diagnoses[0].side: contradicts icd10 {found.code} ({found.description}), "
                         f"which is {found.side} (got '{side}')"]


# -- clinical-v2.1 §8: a code means the same wherever it is entered --------------------------------------
@pytest.mark.parametrize(("code", "expected"), [
    ("O26.89", {"item": "pregnancy"}),          # chapter 15, any block but the puerperium
    ("O00.101", {"item": "pregnancy"}),
    ("O80", {"item": "pregnancy"}),
    ("O99.89", {"item": "pregnancy"}),
    ("O9A.111", {"item": "pregnancy"}),
    ("Z33.1", {"item": "pregnancy"}),
    ("O14.03", {"item": "pregnancy", "high_risk": True}),
    ("O86.4", {"item": "postpartum"}),          # O85-O92: the puerperium
    ("O90.89", {"item": "postpartum"}),
    ("O87.1", {"item": "postpartum"}),
    ("E11.42", {"item": "peripheral_neuropathy"}),
    ("E11.40", {"item": "peripheral_neuropathy"}),
    ("I50.9", {"item": "heart_failure", "decompensated": False}),
    ("I50.43", {"item": "heart_failure", "decompensated": True}),
    ("Z85.038", {"item": "malignancy", "active": False}),
])
def test_v21_history_codes_read_the_same_under_diagnoses(vocab, code: str, expected: dict) -> None:
    under_history = validate_case(case({"condition": "neck_pain"}, history=[{"icd10": code}]), "c.yaml", vocab)
    under_diagnoses = validate_case(case({"condition": "neck_pain"}, {"icd10": code}), "c.yaml", vocab)
    for got in (under_history, under_diagnoses):
        item = got.history[-1]
        assert {k: getattr(item, k) for k in expected} == expected
        assert got.not_covered == ()
    assert [d.condition for d in under_diagnoses.diagnoses] == ["neck_pain"]
    assert under_diagnoses.read_as == (("diagnoses", under_diagnoses.history[-1].icd10,
                                        INDEX.get(code).description, "history item", expected["item"]),)


def test_a_diagnosis_code_read_as_a_history_item_keeps_its_site_and_days(vocab) -> None:
    got = validate_case(case({"condition": "neck_pain"}, {"icd10": "I82.431", "onset_days": 9}), "c.yaml", vocab)
    item = got.history[0]
    assert (item.item, item.area, item.side, item.days_since) == ("known_dvt", "knee", "right", 9)


def test_an_acute_heart_failure_under_diagnoses_is_decompensated(vocab) -> None:
    got = validate_case(case({"condition": "neck_pain"}, {"icd10": "I50.9", "acuity": "acute"}), "c.yaml", vocab)
    assert got.history[0].decompensated is True


def test_a_condition_code_under_history_counts_as_a_diagnosis(vocab) -> None:
    got = validate_case(case({"condition": "neck_pain"}, history=[{"icd10": "M17.12", "days_since": 400}]),
                        "c.yaml", vocab)
    assert [(d.condition, d.side, d.onset_days) for d in got.diagnoses] == [
        ("neck_pain", None, None), ("knee_osteoarthritis", "left", 400)]
    assert got.history == [] and got.not_covered == ()


def test_an_inactive_condition_under_history_is_not_counted(vocab) -> None:
    got = validate_case(case({"condition": "neck_pain"}, history=[{"icd10": "M17.12", "active": False}]),
                        "c.yaml", vocab)
    assert [d.condition for d in got.diagnoses] == ["neck_pain"] and got.not_covered == ()
    assert got.read_as[0][3].startswith("condition, inactive")


@pytest.mark.parametrize(("code", "item"), [("O26.71", "pregnancy"), ("O26.73", "postpartum")])
def test_a_code_meaning_both_counts_as_both(vocab, code: str, item: str) -> None:
    for data in (case({"icd10": code}), case({"condition": "neck_pain"}, history=[{"icd10": code}])):
        got = validate_case(data, "c.yaml", vocab)
        assert "pelvic_girdle_pain" in [d.condition for d in got.diagnoses]
        assert [h.item for h in got.history] == [item]


def test_a_problem_in_a_moved_entry_names_its_place_in_the_file(vocab) -> None:
    lines = problems(case({"condition": "neck_pain"}, {"icd10": "E11.42", "area": "legg"}), vocab)
    assert len(lines) == 1 and lines[0].startswith("c.yaml: diagnoses[1].area: "), lines
    lines = problems(case({"condition": "neck_pain"}, history=[{"icd10": "M54.2", "side": "up"}]), vocab)
    assert len(lines) == 1 and lines[0].startswith("c.yaml: history[0].side: "), lines


def test_diabetic_neuropathy_caps_the_legs_wherever_it_is_entered(kb) -> None:
    """The defect of issue 16: E11.42 under diagnoses went to not_covered and the legs got deep work."""
    from medmassage_rules.planning.pipeline import plan_case

    knee = {"condition": "knee_osteoarthritis", "side": "left", "acuity": "chronic"}
    rx = {"modalities": ["deep_tissue", "trigger_point_therapy"]}
    plans = [plan_case(validate_case(data, "c.yaml", kb.vocabulary), kb).plan for data in (
        case(knee, {"icd10": "E11.42"}, prescription=rx),
        case(knee, history=[{"icd10": "E11.42"}], prescription=rx))]
    for plan in plans:
        assert plan.not_covered == ()
        pressures = {w.pressure for s in plan.segments for w in s.work}
        assert pressures == {"light"}, pressures
    assert any("E11.42" in a and "peripheral_neuropathy" in a for a in plans[0].advisories)


def test_only_a_history_code_under_diagnoses_defers_with_the_reading(kb) -> None:
    from medmassage_rules.planning.pipeline import plan_case

    plan = plan_case(validate_case(case({"icd10": "E11.42"}), "c.yaml", kb.vocabulary), kb).plan
    assert plan.status == "defer" and plan.not_covered == ()
    assert any("outside the knowledge base" in a and "E11.42" in a for a in plan.advisories)


@pytest.mark.parametrize(("code", "area", "side"), [
    ("I80.11", "thigh", "right"), ("I80.222", "knee", "left"), ("I80.3", "lower_leg", None),
    ("I82.C11", "neck", "right"), ("I82.90", None, None), ("I26.99", None, None)])
def test_a_clot_coded_any_way_is_a_known_clot(vocab, code: str, area: str | None, side: str | None) -> None:
    """Thrombophlebitis of a deep vein, a jugular or unspecified venous clot and a pulmonary embolism
    are known clots: work near them could dislodge one (the red team found these left not covered)."""
    case = validate_case({"id": "c", "diagnoses": [{"condition": "neck_pain"}], "history": [{"icd10": code}]},
                         "c.yaml", vocab)
    (item,) = [h for h in case.history if h.item == "known_dvt"]
    assert (item.area, item.side) == (area, side)
    assert case.not_covered == ()
