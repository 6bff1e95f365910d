"""Any medication list (case-format §5): names, brands, ATC codes and classes; drugs with
several classes; unrecognised names kept and never refused; scoped clearances."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from medmassage_rules.cases.loading import validate_case
from medmassage_rules.errors import CaseError
from medmassage_rules.intake.medications import is_atc, load_drugs, parse_table
from medmassage_rules.planning.pipeline import plan_case

DRUGS = load_drugs()
CTS = {"condition": "carpal_tunnel_syndrome", "side": "right", "acuity": "chronic"}


def case(medications: list, **more: object) -> dict:
    return {"id": "m", "diagnoses": [CTS], "medications": medications, **more}


def valid(data: dict, vocab):
    return validate_case(data, "c.yaml", vocab)


def test_the_table_holds_at_least_150_drugs_with_full_atc_codes() -> None:
    drugs = {d.name: d for d in DRUGS.drugs.values()}
    assert len(drugs) >= 150
    assert all(is_atc(code) and len(code) == 7 for d in drugs.values() for code in d.atc)


def test_every_class_of_the_table_is_a_vocabulary_class(vocab) -> None:
    assert {c for classes in DRUGS.prefixes.values() for c in classes} <= set(vocab.medication_classes)


@pytest.mark.parametrize(("atc", "classes"), [
    ("B01AA03", ("anticoagulant",)), ("B01AE07", ("anticoagulant",)), ("B01AF02", ("anticoagulant",)),
    ("B01AB05", ("anticoagulant",)), ("B01AC04", ("antiplatelet",)), ("L01XA03", ("chemotherapy",)),
    ("H02AB07", ("long_term_corticosteroid",)), ("M03BX01", ("muscle_relaxant",)),
    ("N02BE01", ("analgesic",)), ("N02AA01", ("analgesic", "opioid")), ("M01AE01", ("analgesic", "nsaid")),
    ("A10AE04", ("insulin",)), ("C09AA03", ("antihypertensive",)), ("A10BA02", ()), ("J01CA04", ()),
])
def test_atc_prefixes_classify(atc: str, classes: tuple[str, ...]) -> None:
    assert DRUGS.atc_classes(atc) == classes


def test_v1_names_and_classes_keep_their_class(vocab) -> None:
    names = [*vocab.medications, *vocab.medication_classes[:6]]
    got = valid(case(names), vocab)
    expected = {**{n: c for n, c in vocab.medications.items()}, **{c: c for c in vocab.medication_classes[:6]}}
    assert got.medication_classes(vocab) == expected
    assert got.unrecognised_medications == ()


def test_a_drug_may_have_several_classes(vocab) -> None:
    got = valid(case(["oxycodone"]), vocab)
    assert got.medication_pairs(vocab) == [("oxycodone", "opioid"), ("oxycodone", "analgesic")]
    assert got.medication_classes(vocab) == {"oxycodone": "opioid"}


# -- clinical-v2.1 §3.1: aspirin is an antiplatelet only; ATC codes by their longest prefix ------------
@pytest.mark.parametrize("entry", ["aspirin", "Aspirin", "Ecotrin", "acetylsalicylic acid",
                                   {"name": "aspirin", "atc": "B01AC06"}, {"name": "aspirin", "class": "antiplatelet"},
                                   {"name": "low-dose aspirin", "atc": "B01AC06"}])
def test_aspirin_by_name_brand_or_antiplatelet_code_is_an_antiplatelet_only(vocab, entry) -> None:
    got = valid(case([entry]), vocab)
    assert {cls for _, cls in got.medication_pairs(vocab)} == {"antiplatelet"}


@pytest.mark.parametrize(("entry", "classes"), [
    ({"name": "aspirin", "atc": "N02BA01"}, {"antiplatelet", "analgesic", "nsaid"}),
    ({"name": "aspirin", "class": "analgesic"}, {"antiplatelet", "analgesic"}),
    ({"name": "aspirin", "class": "nsaid"}, {"antiplatelet", "analgesic", "nsaid"}),
])
def test_aspirin_counts_as_an_analgesic_only_when_the_case_says_so(vocab, entry, classes) -> None:
    got = valid(case([entry]), vocab)
    assert {cls for _, cls in got.medication_pairs(vocab)} == classes


def test_the_dulled_feedback_advisory_never_fires_on_aspirin_by_name(kb) -> None:
    text = kb.by_id["med-analgesic-feedback"].then.advisory
    by_name = plan_case(valid(case(["aspirin"]), kb.vocabulary), kb)
    assert not {"med-analgesic-feedback", "med-opioid-gabapentinoid-cap"} & {f.rule_id for f in by_name.trace}
    assert text not in by_name.plan.advisories
    as_analgesic = plan_case(valid(case([{"name": "aspirin", "atc": "N02BA01"}]), kb.vocabulary), kb)
    assert text in as_analgesic.plan.advisories


@pytest.mark.parametrize(("atc", "classes"), [
    ("N02BA01", ("analgesic", "nsaid")),      # N02BA, not N02 and N02BA together
    ("N02BE01", ("analgesic",)),              # only N02 matches
    ("N02AX02", ("analgesic", "opioid")),     # N02A
    ("N02BF02", ("gabapentinoid",)),          # N02BF, not N02's analgesic
    ("N03AX12", ("gabapentinoid",)), ("N03AX16", ("gabapentinoid",)), ("N03AX14", ()),
    ("B01AX05", ("anticoagulant",)), ("B01AC06", ("antiplatelet",)),
])
def test_an_atc_code_takes_the_classes_of_its_longest_matching_prefix(atc: str, classes: tuple[str, ...]) -> None:
    assert DRUGS.atc_classes(atc) == classes


# -- clinical-v2.1 §3.2: opioids and gabapentinoids by name, brand, code or class -------------------------
@pytest.mark.parametrize(("entry", "cls"), [
    ("oxycodone", "opioid"), ("OxyContin", "opioid"), ("tramadol", "opioid"), ("morphine", "opioid"),
    ("codeine", "opioid"), ("Norco", "opioid"), ("methadone", "opioid"),
    ({"name": "a trial opioid", "atc": "N02AA05"}, "opioid"), ({"name": "x", "class": "opioid"}, "opioid"),
    ("opioid", "opioid"),
    ("pregabalin", "gabapentinoid"), ("Lyrica", "gabapentinoid"), ("gabapentin", "gabapentinoid"),
    ("Neurontin", "gabapentinoid"), ({"name": "a trial drug", "atc": "N02BF01"}, "gabapentinoid"),
    ({"name": "an old code", "atc": "N03AX16"}, "gabapentinoid"), ({"name": "x", "class": "gabapentinoid"},
                                                                    "gabapentinoid"),
])
def test_opioids_and_gabapentinoids_cap_pressure_at_moderate(kb, entry, cls: str) -> None:
    got = valid(case([entry]), kb.vocabulary)
    classes = {c for _, c in got.medication_pairs(kb.vocabulary)}
    assert cls in classes
    if cls == "opioid":
        assert "analgesic" in classes  # every opioid is also an analgesic
    plan = plan_case(got, kb).plan
    assert plan.pressure_cap == "moderate" and "med-opioid-gabapentinoid-cap" in plan.pressure_cap_because
    assert "pain feedback is dulled: work below the pain threshold, check in often" in plan.advisories
    assert plan.status == "treat_with_precautions"


def test_an_nsaid_keeps_the_advisory_only(kb) -> None:
    plan = plan_case(valid(case(["ibuprofen", "acetaminophen"]), kb.vocabulary), kb).plan
    assert plan.pressure_cap == "deep"
    assert "pain feedback is dulled: work below the pain threshold, check in often" in plan.advisories


@pytest.mark.parametrize(("entry", "pairs"), [
    ("Eliquis", [("eliquis", "anticoagulant")]),
    ("lisinopril", [("lisinopril", "antihypertensive")]),
    ({"name": "Eliquis", "atc": "B01AF02"}, [("eliquis", "anticoagulant")]),
    ({"name": "a trial drug", "atc": "b01af"}, [("a trial drug", "anticoagulant")]),
    ({"name": "a trial drug", "class": "Chemotherapy"}, [("a trial drug", "chemotherapy")]),
    ({"name": "Lantus"}, [("lantus", "insulin")]),
    ("metformin", []),
])
def test_names_brands_atc_codes_and_classes(vocab, entry, pairs) -> None:
    got = valid(case([entry]), vocab)
    assert got.medication_pairs(vocab) == pairs
    assert got.unrecognised_medications == ()


def test_an_unknown_name_is_kept_and_listed_not_refused(vocab) -> None:
    got = valid(case(["lisinopril", "Zorblax 5 mg", {"name": "herbal tea"}]), vocab)
    assert got.unrecognised_medications == ("zorblax 5 mg", "herbal tea")
    assert got.medication_pairs(vocab) == [("lisinopril", "antihypertensive")]


@pytest.mark.parametrize(("atc", "recognised"), [
    ("B01A", False),      # antithrombotic agents: a group, anticoagulant or antiplatelet
    ("B01AD02", False),   # alteplase: a thrombolytic, no class prefix, not in the table
    ("H02A", False),      # systemic corticosteroids, plain: a group above H02AB
    ("D07AC01", False),   # betamethasone cream: outside the table
    ("R06AE07", True),    # cetirizine: a drug of the table
    ("A10BA02", True),    # metformin: a drug of the table, no class that matters here
    ("B01AF02", True),    # apixaban: an anticoagulant prefix
])
def test_a_code_recognises_a_name_only_when_the_knowledge_base_knows_the_code(kb, atc: str,
                                                                            recognised: bool) -> None:
    """Case-format §5: a code classifies by prefix; anything else is listed as not checked, so a drug
    sent only by a group code (an EHR's B01A) is never taken as checked and harmless."""
    got = valid(case([{"name": "Zorblax", "atc": atc}]), kb.vocabulary)
    assert got.unrecognised_medications == (() if recognised else ("zorblax",))
    advisories = plan_case(got, kb).plan.advisories
    assert any(a.startswith("medication not checked: zorblax") for a in advisories) is not recognised


def test_a_group_code_names_the_classes_it_covers(kb) -> None:
    plan = plan_case(valid(case([{"name": "Zorblax", "atc": "B01A"}]), kb.vocabulary), kb).plan
    assert any("(ATC group B01A includes anticoagulant and antiplatelet drugs)" in a for a in plan.advisories)


@settings(max_examples=25, deadline=None)
@given(st.lists(st.text(alphabet="qwxzjkv", min_size=3, max_size=12), min_size=1, max_size=3))
def test_an_unrecognised_medication_never_changes_the_plan(kb, names: list[str]) -> None:
    base = plan_case(valid(case(["warfarin"]), kb.vocabulary), kb).plan.to_dict()
    more = plan_case(valid(case(["warfarin", *names]), kb.vocabulary), kb).plan.to_dict()
    assert more["unrecognised_medications"] == list(dict.fromkeys(names))
    for key in ("status", "modalities", "targets", "blocked", "pressure_cap", "session", "clearances_required",
                "referrals"):
        assert more[key] == base[key], key


@pytest.mark.parametrize(("entry", "path", "fragment"), [
    ({"name": "x", "class": "elixir"}, "medications[0].class", "unknown medication class id"),
    ({"name": "x", "atc": "B1"}, "medications[0].atc", "not an ATC code"),
    ({"atc": "B01AF02"}, "medications[0].name", "required field is missing"),
    ({"name": "x", "dose": "5 mg"}, "medications[0].dose", "unknown field"),
])
def test_bad_medication_objects_are_refused(vocab, entry: dict, path: str, fragment: str) -> None:
    with pytest.raises(CaseError) as caught:
        valid(case([entry]), vocab)
    lines = [str(p) for p in caught.value.problems]
    assert len(lines) == 1 and lines[0].startswith(f"c.yaml: {path}: ") and fragment in lines[0], lines


@pytest.mark.parametrize(("medication", "rule"), [
    ("insulin glargine", "med-insulin-injection-site"),
    ("lisinopril", "med-antihypertensive-rising"),
    ("ibuprofen", "med-analgesic-feedback"),
    ("acetaminophen", "med-analgesic-feedback"),
])
def test_each_new_class_brings_its_advisory(kb, medication: str, rule: str) -> None:
    result = plan_case(valid(case([medication]), kb.vocabulary), kb)
    advisory = kb.by_id[rule].then.advisory
    assert advisory in result.plan.advisories
    assert result.plan.status == "treat"  # an advisory changes no status


def test_the_table_refuses_its_own_mistakes() -> None:
    data = {"atc_classes": {"B01AF": "anticoagulant", "B1": "x"},
            "drugs": {"apixaban": {"atc": "B01AF02", "brands": ["Eliquis"]},
                      "other": {"atc": "B01AF0", "brands": ["eliquis"]}}}
    _, found = parse_table(data, "medications.yaml", ("anticoagulant",))
    problems = [str(p) for p in found]
    assert {p.code for p in found} == {"not_an_atc_code", "unknown_class", "duplicate_name"}
    assert any("atc_classes.B1: not an ATC code" in p for p in problems)
    assert any("unknown medication class 'x'" in p for p in problems)
    assert any("'B01AF0' is not a full ATC code" in p for p in problems)
    assert any("the name 'eliquis' is already apixaban" in p for p in problems)


# -- clearances ---------------------------------------------------------------------------------------
def test_clearances_may_be_ids_or_scoped_objects(vocab) -> None:
    got = valid(case([], clearances=["cardiac", {"id": "physician", "for": "cellulitis"},
                                      {"id": "obstetric", "for": "blood_pressure"}]), vocab)
    assert got.clearance_pairs() == (("cardiac", None), ("physician", "cellulitis"), ("obstetric", "blood_pressure"))


@pytest.mark.parametrize(("entry", "path"), [
    ({"id": "physician", "for": "sunburn"}, "clearances[0].for"),
    ({"id": "plumber", "for": "cellulitis"}, "clearances[0].id"),
    ({"id": "physician"}, "clearances[0].for"),
    ("vascularr", "clearances[0]"),
])
def test_bad_clearances_are_refused(vocab, entry, path: str) -> None:
    with pytest.raises(CaseError) as caught:
        valid(case([], clearances=[entry]), vocab)
    lines = [str(p) for p in caught.value.problems]
    assert len(lines) == 1 and lines[0].startswith(f"c.yaml: {path}: "), lines


def test_the_public_intake_case(vocab) -> None:
    from medmassage_rules.cases.loading import load_case

    from ..conftest import FACTS

    got = load_case(FACTS / "p23-icd10-and-intake-meds.yaml", vocab)
    assert got.diagnoses[0].condition == "carpal_tunnel_syndrome" and got.diagnoses[0].side == "right"
    assert ("eliquis", "anticoagulant") in got.medication_pairs(vocab)
    assert got.unrecognised_medications == ()


# -- a list copied from a chart: strength, salt, release and dose form after the name ---------------------
@pytest.mark.parametrize(("entry", "cls"), [
    ("warfarin 5 mg", "anticoagulant"), ("Eliquis 5 mg tablet", "anticoagulant"), ("aspirin 81mg", "antiplatelet"),
    ("Oxycodone HCl 5 mg", "opioid"), ("morphine sulfate ER 30 mg", "opioid"),
    ("gabapentin 300 mg capsules", "gabapentinoid"),
    ("Tylenol #3", "opioid"), ("Suboxone", "opioid"),
])
def test_a_name_with_its_strength_or_salt_is_still_recognised(vocab, entry: str, cls: str) -> None:
    got = valid(case([entry]), vocab)
    assert cls in {c for _, c in got.medication_pairs(vocab)}
    assert got.unrecognised_medications == ()


def test_stripping_never_makes_an_unknown_name_known(vocab) -> None:
    got = valid(case(["Zorblax 5 mg", "Coumadin-XR-fake", "5 mg"]), vocab)
    assert got.unrecognised_medications == ("zorblax 5 mg", "coumadin-xr-fake", "5 mg")
    assert got.medication_pairs(vocab) == []


@pytest.mark.parametrize(("entry", "classes"), [
    ("oxycodone/acetaminophen 5/325", {"opioid", "analgesic"}),
    ("hydrocodone + acetaminophen", {"opioid", "analgesic"}),
    ("warfarin/unknownium", {"anticoagulant"}),
    ("Acetaminophen 325 MG / Oxycodone Hydrochloride 5 MG Oral Tablet [Percocet]", {"opioid", "analgesic"}),
])
def test_a_combination_is_classified_by_each_known_part(vocab, entry: str, classes: set[str]) -> None:
    got = valid(case([entry]), vocab)
    assert {c for _, c in got.medication_pairs(vocab)} == classes
    assert got.unrecognised_medications == ()


# -- names as a chart writes them: brackets, dosing instructions, hyphenated combinations, salts ---------
@pytest.mark.parametrize(("entry", "classes"), [
    ("apixaban (ELIQUIS) 5 MG tablet", {"anticoagulant"}),
    ("warfarin (COUMADIN) 5 mg tablet", {"anticoagulant"}),
    ("rivaroxaban (XARELTO) 20 MG TABS", {"anticoagulant"}),
    ("clopidogrel (PLAVIX) 75 mg", {"antiplatelet"}),
    ("predniSONE (DELTASONE) 10 MG tablet", {"long_term_corticosteroid"}),
    ("Xarelto (rivaroxaban)", {"anticoagulant"}),
    ("apixaban [Eliquis]", {"anticoagulant"}),
    ("Eliquis BID", {"anticoagulant"}),
    ("Plavix QD", {"antiplatelet"}),
    ("warfarin qhs", {"anticoagulant"}),
    ("warfarin b.i.d.", {"anticoagulant"}),
    ("Lovenox SC daily", {"anticoagulant"}),
    ("enoxaparin 40 mg/0.4 mL sq daily", {"anticoagulant"}),
    ("heparin iv", {"anticoagulant"}),
    ("Coumadin as directed per INR", {"anticoagulant"}),
    ("warfarin twice daily", {"anticoagulant"}),
    ("oxycodone PRN", {"opioid", "analgesic"}),
    ("morphine sulfate ER 30 mg q12h", {"opioid", "analgesic"}),
    ("gabapentin tid", {"gabapentinoid"}),
    ("pregabalin po bid", {"gabapentinoid"}),
    ("prednisone qd", {"long_term_corticosteroid"}),
    ("methylprednisolone im once", {"long_term_corticosteroid"}),
    ("docetaxel q3wk", {"chemotherapy"}),
    ("HYDROcodone-acetaminophen (NORCO) 5-325 MG per tablet", {"opioid", "analgesic"}),
    ("oxyCODONE-acetaminophen (PERCOCET) 5-325 mg", {"opioid", "analgesic"}),
    ("acetaminophen-codeine 300-30 mg", {"opioid", "analgesic"}),
    ("APAP-codeine", {"opioid", "analgesic"}),
    ("dabigatran etexilate 150 mg BID", {"anticoagulant"}),
    ("clopidogrel bisulfate 75 mg", {"antiplatelet"}),
    ("edoxaban tosylate 60 mg", {"anticoagulant"}),
    ("ASA 81 mg daily", {"antiplatelet"}),
    ("baby aspirin 81mg", {"antiplatelet"}),
    ("aspirin EC 81 mg", {"antiplatelet"}),
    ("Aggrenox 25-200 mg BID", {"antiplatelet"}),
    ("insulin glargine (LANTUS) 100 unit/mL injection pen", {"insulin"}),
    ("Solu-Medrol 40 mg IV", {"long_term_corticosteroid"}),
    ("co-codamol 30/500", {"opioid", "analgesic"}),
    ("Tylenol with codeine 30 mg", {"opioid", "analgesic"}),
])
def test_a_name_written_as_a_chart_writes_it_is_recognised(vocab, entry: str, classes: set[str]) -> None:
    got = valid(case([entry]), vocab)
    assert {c for _, c in got.medication_pairs(vocab)} == classes
    assert got.unrecognised_medications == ()


@pytest.mark.parametrize("entry", ["anastrozole (ARIMIDEX) 1 MG tablet", "carbidopa-levodopa 25-100 mg",
                                   "atorvastatin calcium 40 mg qhs"])
def test_a_chart_written_name_of_a_drug_without_a_class_is_known(vocab, entry: str) -> None:
    got = valid(case([entry]), vocab)
    assert got.unrecognised_medications == () and got.medication_pairs(vocab) == []


@pytest.mark.parametrize("entry", [
    "Zorblax BID", "Zorblax (new) 5 mg", "zorblax q3wk prn", "warfarin-unknownium", "Coumadin-XR-fake",
    "Eliquiss BID",      # one letter off: no guessing by similarity (the plan's hint names Eliquis)
    "apixabanx 5 mg", "warfarinate", "BID", "as directed", "(ELIQUI)", "oxycodone-zorblax 5-325",
])
def test_an_unknown_chart_written_name_stays_unrecognised(kb, entry: str) -> None:
    got = valid(case([entry]), kb.vocabulary)
    assert got.unrecognised_medications == (" ".join(entry.lower().split()),)
    assert got.medication_pairs(kb.vocabulary) == []
    base = plan_case(valid(case([]), kb.vocabulary), kb).plan
    plan = plan_case(got, kb).plan
    assert (plan.status, plan.pressure_cap) == (base.status, base.pressure_cap)


def test_aspirin_in_a_chart_written_form_is_an_antiplatelet_only(kb) -> None:
    for entry in ("ASA 81 mg daily", "baby aspirin 81mg", "aspirin (ECOTRIN) 81 MG EC tablet", "Aggrenox BID"):
        result = plan_case(valid(case([entry]), kb.vocabulary), kb)
        assert {c for _, c in valid(case([entry]), kb.vocabulary).medication_pairs(kb.vocabulary)} == {"antiplatelet"}
        assert "med-analgesic-feedback" not in {f.rule_id for f in result.trace}


def test_a_bracket_or_dosing_word_never_reads_past_max_name(vocab) -> None:
    from medmassage_rules.intake.medications import MAX_NAME, classify, known_keys

    hidden = "x" * (MAX_NAME - 5) + " (Eliquis) BID"   # the brand lies past the characters read
    assert classify(hidden, None, None, vocab) == ((), False)
    assert all(len(key) <= MAX_NAME for key in known_keys("(" * 10_000 + "warfarin-" * 100_000, vocab))


# -- ICD-10-CM Z79 codes: current drug use on a problem list counts as that medication class -----------------
@pytest.mark.parametrize(("code", "classes"), [
    ("Z79.01", {"anticoagulant"}), ("Z79.02", {"antiplatelet"}), ("Z79.0", {"anticoagulant", "antiplatelet"}),
    ("Z79.82", {"antiplatelet"}), ("Z79.52", {"long_term_corticosteroid"}), ("Z79.891", {"opioid", "analgesic"}),
    ("Z79.63", {"chemotherapy"}), ("Z79.631", {"chemotherapy"}), ("Z79.634", {"chemotherapy"}),
    ("Z79.1", {"nsaid", "analgesic"}), ("Z79.4", {"insulin"}),
])
@pytest.mark.parametrize("section", ["history", "diagnoses"])
def test_a_z79_code_counts_as_its_medication_class(kb, code: str, classes: set[str], section: str) -> None:
    data = case([]) if section == "diagnoses" else case([], history=[{"icd10": code}])
    if section == "diagnoses":
        data["diagnoses"] = [CTS, {"icd10": code}]
    got = valid(data, kb.vocabulary)
    assert set(got.medication_pairs(kb.vocabulary)) == {(code, c) for c in classes}
    assert got.not_covered == ()
    advisories = plan_case(got, kb).plan.advisories
    assert any(a.startswith(f"{code} (") and f"under {section} counts as a medication of the class" in a
               for a in advisories), advisories


@pytest.mark.parametrize("code", ["Z79.899", "Z79.51", "Z79.84", "Z79.2"])
def test_a_z79_code_of_no_class_stays_not_covered(vocab, code: str) -> None:
    got = valid(case([], history=[{"icd10": code}]), vocab)
    assert got.medication_pairs(vocab) == [] and [c for c, _ in got.not_covered] == [code]


def test_z7901_caps_like_a_listed_anticoagulant(kb) -> None:
    by_code = plan_case(valid(case([], history=[{"icd10": "Z79.01"}]), kb.vocabulary), kb).plan
    by_name = plan_case(valid(case(["warfarin"]), kb.vocabulary), kb).plan
    keys = ("status", "pressure_cap", "blocked", "modalities")
    assert {k: by_code.to_dict()[k] for k in keys} == {k: by_name.to_dict()[k] for k in keys}
    assert by_code.pressure_cap == "moderate"


def test_every_z79_key_of_the_map_is_a_valid_code_with_known_classes(vocab) -> None:
    from medmassage_rules.intake.codes import load_code_map, load_index

    meds = load_code_map().medications
    assert {"Z79.01", "Z79.02", "Z79.52", "Z79.891", "Z79.63"} <= set(meds)
    assert all(load_index().entry(key) is not None for key in meds)
    assert {c for classes in meds.values() for c in classes} <= set(vocab.medication_classes)


def test_the_code_map_refuses_a_bad_medication_entry() -> None:
    from medmassage_rules.intake.codes import parse_code_map

    _, found = parse_code_map({"medications": {"Z79.01": [], "z7902": "antiplatelet", "Z79.52": 3}}, "m.yaml")
    assert sorted(p.code for p in found) == ["not_a_class", "not_a_class", "not_normalised"]


# -- marks, punctuation, dose forms and biosimilar suffixes as charts and EHR exports write them ------------
@pytest.mark.parametrize(("entry", "classes"), [
    ("Eliquis, 5 mg", {"anticoagulant"}),
    ("rivaroxaban, 20 mg", {"anticoagulant"}),
    ("Warfarin.", {"anticoagulant"}),
    ("warfarin; INR monthly", {"anticoagulant"}),
    ("ELIQUIS® 5 mg", {"anticoagulant"}),
    ("Xarelto™ 20mg", {"anticoagulant"}),
    ("Lovenox© 40 mg", {"anticoagulant"}),
    ("apixaban (ELIQUIS®) 5 MG tablet", {"anticoagulant"}),
    ("warfarin - INR monitored", {"anticoagulant"}),
    ("Eliquis – per cardiology", {"anticoagulant"}),
    ("Enoxaparin Inj 40 mg", {"anticoagulant"}),
    ("enoxaparin inj.", {"anticoagulant"}),
    ("heparin injection", {"anticoagulant"}),
    ("apixaban film-coated tablet", {"anticoagulant"}),
    ("Xarelto coated tablet", {"anticoagulant"}),
    ("Eliquis starter pack", {"anticoagulant"}),
    ("Xarelto pack", {"anticoagulant"}),
    ("enoxaparin prefilled syringe", {"anticoagulant"}),
    ("dalteparin vial", {"anticoagulant"}),
    ("Humira pen", {"immunosuppressant"}),
    ("Enbrel kit", {"immunosuppressant"}),
    ("Klonopin wafer", {"sedative_hypnotic"}),
    ("clonazepam ODT", {"sedative_hypnotic"}),
    ("clonazepam orally disintegrating tablet", {"sedative_hypnotic"}),
    ("Medrol Dosepak", {"long_term_corticosteroid"}),
    ("prednisone taper", {"long_term_corticosteroid"}),
])
def test_marks_punctuation_and_dose_forms_are_read_past(vocab, entry: str, classes: set[str]) -> None:
    got = valid(case([entry]), vocab)
    assert {c for _, c in got.medication_pairs(vocab)} == classes
    assert got.unrecognised_medications == ()


@pytest.mark.parametrize(("entry", "classes"), [
    ("adalimumab-atto", {"immunosuppressant"}),
    ("adalimumab-adaz 40 mg/0.8 mL pen", {"immunosuppressant"}),
    ("infliximab-dyyb", {"immunosuppressant"}),
    ("infliximab-dyyb (INFLECTRA) 100 mg IV", {"immunosuppressant"}),
    ("etanercept-szzs", {"immunosuppressant"}),
    ("rituximab-abbs", {"chemotherapy"}),
    ("trastuzumab-dkst", {"chemotherapy"}),
])
def test_a_biosimilar_suffix_after_a_known_biologic_is_that_biologic(vocab, entry: str, classes: set[str]) -> None:
    got = valid(case([entry]), vocab)
    assert {c for _, c in got.medication_pairs(vocab)} == classes
    assert got.unrecognised_medications == ()


@pytest.mark.parametrize(("entry", "classes"), [
    ("tofacitinib", {"immunosuppressant"}), ("Xeljanz 5 mg BID", {"immunosuppressant"}),
    ("baricitinib", {"immunosuppressant"}), ("Olumiant", {"immunosuppressant"}),
    ("upadacitinib ER 15 mg", {"immunosuppressant"}), ("Rinvoq", {"immunosuppressant"}),
    ("sirolimus", {"immunosuppressant"}), ("Rapamune 2 mg", {"immunosuppressant"}),
    ("Zortress 0.75 mg", {"immunosuppressant", "chemotherapy"}), ("Afinitor", {"immunosuppressant", "chemotherapy"}),
    ("MTX", {"immunosuppressant"}), ("MTX 15 mg weekly", {"immunosuppressant"}),
    ("Simponi", {"immunosuppressant"}), ("Cimzia", {"immunosuppressant"}), ("Actemra", {"immunosuppressant"}),
    ("Stelara", {"immunosuppressant"}),
])
def test_jak_and_mtor_inhibitors_and_more_biologics_are_immunosuppressants(vocab, entry: str,
                                                                           classes: set[str]) -> None:
    got = valid(case([entry]), vocab)
    assert {c for _, c in got.medication_pairs(vocab)} == classes
    assert got.unrecognised_medications == ()


@pytest.mark.parametrize("entry", [
    "Zorblax inj", "Zorblax, 5 mg", "Zorblax®", "Zorblax starter pack", "zorblax - per cardiology",
    "warfarin-abcd",       # a four-letter suffix counts only after a biologic
    "Humira-atto",         # ... written by its generic name, ending in -mab, -cept or -grastim
    "zorblaxumab-atto",    # ... that the knowledge base knows
    "adalimumab-attoo", "stopped Eliquis", "hold warfarin", "no aspirin", "warfarin-free diet",
    ", warfarin", "- warfarin",
])
def test_reading_past_marks_and_forms_never_makes_an_unknown_name_known(kb, entry: str) -> None:
    got = valid(case([entry]), kb.vocabulary)
    assert got.unrecognised_medications == (" ".join(entry.lower().split()),)
    assert got.medication_pairs(kb.vocabulary) == []


def test_marks_commas_and_dashes_are_read_in_linear_time(vocab) -> None:
    import time

    from medmassage_rules.intake.medications import MAX_NAME, known_keys

    start = time.perf_counter()
    for text in ("®, " * 400_000, "x - " * 300_000, "adalimumab-" * 100_000 + "atto", "a," * 500_000):
        assert all(len(key) <= MAX_NAME for key in known_keys(text, vocab))
    assert time.perf_counter() - start < 2


@pytest.mark.parametrize(("code", "classes"), [
    ("Z79.6", {"immunosuppressant"}), ("Z79.60", {"immunosuppressant"}), ("Z79.61", {"immunosuppressant"}),
    ("Z79.62", {"immunosuppressant"}), ("Z79.620", {"immunosuppressant"}), ("Z79.621", {"immunosuppressant"}),
    ("Z79.622", {"immunosuppressant"}), ("Z79.623", {"immunosuppressant"}), ("Z79.624", {"immunosuppressant"}),
    ("Z79.63", {"chemotherapy"}), ("Z79.630", {"chemotherapy"}), ("Z79.633", {"chemotherapy"}),
    ("Z79.64", {"immunosuppressant"}), ("Z79.69", {"immunosuppressant"}),
])
def test_z796_codes_are_immunosuppressants_and_z7963_stays_chemotherapy(kb, code: str, classes: set[str]) -> None:
    from medmassage_rules.intake.codes import load_index

    assert load_index().entry(code) is not None  # a code of the bundled ICD-10-CM index
    got = valid(case([], history=[{"icd10": code}]), kb.vocabulary)
    assert set(got.medication_pairs(kb.vocabulary)) == {(code, c) for c in classes}
    assert got.not_covered == ()


@pytest.mark.parametrize("entry", ["adalimumab-atto", "Xeljanz 5 mg", "sirolimus", "MTX 15 mg weekly"])
def test_fever_with_low_back_pain_on_a_newly_read_immunosuppressant_goes_to_emergency_care(kb, entry: str) -> None:
    data = {"id": "m", "patient": {"age": 45}, "diagnoses": [{"condition": "low_back_pain", "acuity": "acute"}],
            "medications": [entry], "vitals": {"temperature_c": 38.3}}
    plan = plan_case(valid(data, kb.vocabulary), kb).plan
    assert plan.status == "refer_urgent"
    assert "emergency_care" in {r.to for r in plan.referrals}
