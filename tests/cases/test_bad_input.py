"""Bad input through the real command line: exit code 2, one clear stderr line per problem.

Contract §4: an invalid case gives exit code 2 and, on stderr, one line per problem naming
the file, the field path (``diagnoses[0].condition``) and the offending value, never a
traceback. Every class of bad input below is one test; each states the exact problems the
case holds, so a validator that stops at the first problem, or invents extra ones, fails.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from medmassage_rules.cases.loading import load_case
from medmassage_rules.errors import CaseError

from ..helpers import assert_refused, invoke, run_checkout_cli

DIAGNOSES = "diagnoses:\n  - condition: neck_pain\n"
GOOD = "id: bad\n" + DIAGNOSES
JSON_HEAD = '{"id": "x", "diagnoses": [{"condition": "neck_pain"}]'  # a valid case, still open


@dataclass(frozen=True)
class Expected:
    """One stderr line: its field path ('' for the whole file), a fragment of its message,
    and the offending value as shown after ``got`` (None: the line shows no value)."""

    path: str
    fragment: str
    got: str | None = None


@dataclass(frozen=True)
class Bad:
    name: str
    filename: str
    content: bytes | str
    problems: tuple[Expected, ...]


def _billion_laughs() -> str:
    """The classic alias bomb: nine levels of nine aliases, 9**9 strings when expanded."""
    lines = ['a: &a ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    for level in "bcdefghi":
        previous = chr(ord(level) - 1)
        lines.append(f"{level}: &{level} [" + ", ".join([f"*{previous}"] * 9) + "]")
    return "\n".join(lines) + "\nid: bomb\ndiagnoses: [{condition: neck_pain}]\n"


BAD_INPUTS = [
    # -- codes: the code is the one problem, and no suggestion repeats it ------------------------
    Bad("medication name too long", "c.yaml", GOOD + "medications:\n  - " + "x" * 300 + "\n",
        (Expected("medications[0]", "text longer than 200 characters (300)", "'" + "x" * 76 + "..."),)),
    Bad("code that is a number", "c.yaml", "id: x\ndiagnoses:\n  - icd10: 13\n",
        (Expected("diagnoses[0].icd10", "valid string", "13"),)),
    Bad("code that is a list", "c.yaml", "id: x\ndiagnoses:\n  - icd10: [M54.2]\n",
        (Expected("diagnoses[0].icd10", "valid string", "['M54.2']"),)),
    Bad("code too short to suggest itself", "c.yaml", 'id: x\ndiagnoses:\n  - icd10: "13"\n',
        (Expected("diagnoses[0].icd10", "not a valid ICD-10-CM code", "'13'"),)),
    # -- unknown ids --------------------------------------------------------------------------
    Bad("unknown condition", "c.yaml", "id: x\ndiagnoses:\n  - condition: neck_pian\n",
        (Expected("diagnoses[0].condition", "unknown condition id; did you mean neck_pain?", "'neck_pian'"),)),
    Bad("unknown finding", "c.yaml", GOOD + "findings:\n  - {finding: tingling, area: neck}\n",
        (Expected("findings[0].finding", "unknown finding id", "'tingling'"),)),
    Bad("unknown requested and excluded modality", "c.yaml",
        GOOD + "prescription: {modalities: [reiki], exclude_modalities: [swedish, cupping]}\n",
        (Expected("prescription.modalities[0]", "unknown modality id", "'reiki'"),
         Expected("prescription.exclude_modalities[1]", "unknown modality id", "'cupping'"))),
    Bad("unknown medication class", "c.json",
        JSON_HEAD + ', "medications": ["warfarin", {"name": "unobtainium", "class": "elixir"}]}',
        (Expected("medications[1].class", "unknown medication class id", "'elixir'"),)),
    Bad("unknown history item", "c.yaml", GOOD + "history:\n  - {item: gout}\n",
        (Expected("history[0].item", "unknown history item id", "'gout'"),)),
    Bad("unknown clearance", "c.yaml", GOOD + "clearances: [vascularr]\n",
        (Expected("clearances[0]", "unknown clearance id; did you mean vascular?", "'vascularr'"),)),
    Bad("unknown area, target and side", "c.yaml",
        "id: x\ndiagnoses:\n  - {condition: neck_pain, side: lefft, area: lungs}\n"
        "findings:\n  - {finding: pain, target: biceps}\nprescription: {focus_areas: [tummy]}\n",
        (Expected("diagnoses[0].side", "unknown side id", "'lefft'"),
         Expected("diagnoses[0].area", "unknown area id", "'lungs'"),
         Expected("findings[0].target", "unknown target or area id", "'biceps'"),
         Expected("prescription.focus_areas[0]", "unknown area id", "'tummy'"))),
    Bad("unknown acuity and severity", "c.yaml",
        "id: x\ndiagnoses:\n  - {condition: neck_pain, acuity: sudden, severity: awful}\n",
        (Expected("diagnoses[0].acuity", "unknown acuity id", "'sudden'"),
         Expected("diagnoses[0].severity", "unknown severity id", "'awful'"))),
    Bad("unknown status in expect", "c.yaml", GOOD + "expect: {status: cured}\n",
        (Expected("expect.status[0]", "unknown status id", "'cured'"),)),
    # -- missing required fields ----------------------------------------------------------------
    Bad("missing id", "c.yaml", "diagnoses:\n  - condition: neck_pain\n",
        (Expected("id", "required field is missing"),)),
    Bad("missing diagnoses", "c.yaml", "id: x\n",
        (Expected("diagnoses", "required field is missing"),)),
    Bad("empty diagnoses", "c.yaml", "id: x\ndiagnoses: []\n",
        (Expected("diagnoses", "at least 1 item", "[]"),)),
    Bad("diagnosis without condition", "c.yaml", "id: x\ndiagnoses:\n  - {side: left}\n",
        (Expected("diagnoses[0].condition", "required field is missing"),)),
    Bad("empty id", "c.json", '{"id": "", "diagnoses": [{"condition": "neck_pain"}]}',
        (Expected("id", "at least 1 character", "''"),)),
    # -- values out of range ----------------------------------------------------------------------
    Bad("values out of range", "c.yaml",
        "id: x\npatient: {age: 130}\ndiagnoses:\n  - {condition: neck_pain, onset_days: -4}\n"
        "prescription: {max_minutes: 5}\n",
        (Expected("patient.age", "less than or equal to 120", "130"),
         Expected("diagnoses[0].onset_days", "greater than or equal to 0", "-4"),
         Expected("prescription.max_minutes", "greater than or equal to 15", "5"))),
    Bad("max_minutes above 120", "c.yaml", GOOD + "prescription: {max_minutes: 121}\n",
        (Expected("prescription.max_minutes", "less than or equal to 120", "121"),)),
    Bad("vitals and labs out of range", "c.yaml", GOOD + "vitals: {temperature_c: 60}\nlabs: {platelets_k: -1}\n",
        (Expected("labs.platelets_k", "greater than or equal to 0", "-1"),
         Expected("vitals.temperature_c", "less than or equal to 45", "60"))),
    Bad("NaN and infinity in YAML", "c.yaml", GOOD + "vitals: {temperature_c: .nan}\nlabs: {platelets_k: .inf}\n",
        (Expected("labs.platelets_k", "finite number", "inf"),
         Expected("vitals.temperature_c", "finite number", "nan"))),
    # -- wrong types --------------------------------------------------------------------------
    Bad("age as a string", "c.yaml", 'id: x\npatient: {age: "45"}\ndiagnoses:\n  - condition: neck_pain\n',
        (Expected("patient.age", "valid integer", "'45'"),)),
    Bad("age as a float and frail as text", "c.json",
        '{"id": "x", "patient": {"age": 45.5, "frail": "yes"}, "diagnoses": [{"condition": "neck_pain"}]}',
        (Expected("patient.age", "valid integer", "45.5"), Expected("patient.frail", "valid boolean", "'yes'"))),
    Bad("diagnoses as a mapping", "c.yaml", "id: x\ndiagnoses: {condition: neck_pain}\n",
        (Expected("diagnoses", "valid list", "{'condition': 'neck_pain'}"),)),
    Bad("id as a date", "c.yaml", "id: 2024-01-01\ndiagnoses:\n  - condition: neck_pain\n",
        (Expected("id", "valid string", "datetime.date(2024, 1, 1)"),)),
    # -- unknown keys -------------------------------------------------------------------------
    Bad("unknown top-level key", "c.yaml", GOOD + "dosage: 3\n",
        (Expected("dosage", "unknown field", "3"),)),
    Bad("unknown nested keys", "c.yaml",
        "id: x\npatient: {weight: 70}\ndiagnoses:\n  - {condition: neck_pain, laterality: left}\n",
        (Expected("patient.weight", "unknown field", "70"),
         Expected("diagnoses[0].laterality", "unknown field", "'left'"))),
    # -- checks across fields -------------------------------------------------------------------
    Bad("lymphedema without area", "c.yaml", "id: x\ndiagnoses:\n  - {condition: lymphedema, side: left}\n",
        (Expected("diagnoses[0].area", "a diagnosis of lymphedema must give its area"),)),
    Bad("post-surgical edema without area", "c.yaml", "id: x\ndiagnoses:\n  - {condition: post_surgical_edema}\n",
        (Expected("diagnoses[0].area", "a diagnosis of post_surgical_edema must give its area"),)),
    Bad("trigger point without target", "c.yaml", GOOD + "findings:\n  - {finding: trigger_point, area: neck}\n",
        (Expected("findings[0].target", "a trigger_point finding needs a target"),)),
    Bad("target and area disagree", "c.yaml",
        GOOD + "findings:\n  - {finding: trigger_point, target: scalenes, area: forearm}\n",
        (Expected("findings[0].area", "target scalenes lies in area neck, not forearm", "'forearm'"),)),
    # -- documents that do not parse --------------------------------------------------------------
    Bad("invalid YAML syntax", "c.yaml", "id: x\ndiagnoses: [{condition: neck_pain}\n",
        (Expected("line 3, column 1", "invalid YAML"),)),
    Bad("invalid JSON", "c.json", '{"id": "x", "diagnoses": [',
        (Expected("line 1, column 27", "invalid JSON: Expecting value"),)),
    Bad("JSON duplicate keys", "c.json", '{"id": "x", "id": "y", "diagnoses": [{"condition": "neck_pain"}]}',
        (Expected("", "invalid JSON: duplicate key 'id'"),)),
    Bad("YAML duplicate keys", "c.yaml", "id: x\ndiagnoses:\n  - {condition: neck_pain, condition: migraine}\n",
        (Expected("line 3, column 28", "invalid YAML: duplicate key 'condition'"),)),
    Bad("NaN in JSON", "c.json", JSON_HEAD + ', "labs": {"platelets_k": NaN}}',
        (Expected("labs.platelets_k", "invalid JSON: NaN and Infinity are not numbers", "NaN"),)),
    Bad("Infinity in JSON", "c.json",
        '{"id": "x", "diagnoses": [{"condition": "neck_pain", "onset_days": Infinity}],'
        ' "vitals": {"systolic": -Infinity}}',
        (Expected("diagnoses[0].onset_days", "invalid JSON: NaN and Infinity are not numbers", "Infinity"),
         Expected("vitals.systolic", "invalid JSON: NaN and Infinity are not numbers", "-Infinity"))),
    Bad("NaN as the whole JSON document", "c.json", "NaN",
        (Expected("", "invalid JSON: NaN and Infinity are not numbers", "NaN"),)),
    Bad("YAML anchor and alias", "c.yaml", "id: &name x\ndiagnoses:\n  - condition: neck_pain\nfoo: *name\n",
        (Expected("line 1, column 5", "anchors and aliases are not allowed"),)),
    Bad("YAML merge key", "c.yaml", "base: &b {side: left}\nid: x\ndiagnoses:\n  - {<<: *b, condition: neck_pain}\n",
        (Expected("line 1, column 7", "anchors and aliases are not allowed"),)),
    Bad("billion laughs", "c.yaml", _billion_laughs(),
        (Expected("line 1, column 4", "anchors and aliases are not allowed"),)),
    Bad("python object tag", "c.yaml", "id: !!python/object/apply:os.system ['true']\n" + DIAGNOSES,
        (Expected("line 1, column 5", "could not determine a constructor for the tag"),)),
    Bad("python name tag", "c.yaml", "id: x\ndiagnoses: !!python/name:os.system\n",
        (Expected("line 2, column 12", "could not determine a constructor for the tag"),)),
    Bad("binary garbage", "c.yaml", b"\x7fELF\x02\x01\x01\x00\x00\x00" + bytes(range(256)) * 4,
        (Expected("", "file is binary (contains NUL bytes)"),)),
    Bad("NUL byte in text", "c.json", b'{"id": "x\x00", "diagnoses": [{"condition": "neck_pain"}]}',
        (Expected("", "file is binary (contains NUL bytes)"),)),
    Bad("non-UTF-8 bytes", "c.yaml", "id: café\ndiagnoses: [{condition: neck_pain}]\n".encode("latin-1"),
        (Expected("", "file is not UTF-8 text (byte 7)"),)),
    Bad("file over 1 MiB", "c.yaml", GOOD + "# padding\n" * (110 * 1024),
        (Expected("", "file is larger than 1024 KiB"),)),
    Bad("empty YAML file", "c.yaml", "",
        (Expected("", "the file holds no case (it is empty)"),)),
    Bad("YAML file of comments only", "c.yml", "# nothing here\n\n",
        (Expected("", "the file holds no case (it is empty)"),)),
    Bad("empty JSON file", "c.json", "",
        (Expected("line 1, column 1", "invalid JSON: Expecting value"),)),
    Bad("top-level list", "c.yaml", "- id: x\n  diagnoses: [{condition: neck_pain}]\n",
        (Expected("", "a case must be a mapping of fields", "'list'"),)),
    Bad("top-level string", "c.json", '"neck_pain"',
        (Expected("", "a case must be a mapping of fields", "'str'"),)),
    Bad("multiple YAML documents", "c.yaml", GOOD + "---\n" + GOOD,
        (Expected("line 4, column 1", "expected a single document in the stream, but found another document"),)),
    Bad("deeply nested YAML", "c.yaml", "[" * 100_000,
        (Expected("", "nested too deeply"),)),
    Bad("deeply nested JSON", "c.json", "[" * 100_000,
        (Expected("", "nested too deeply"),)),
    Bad("deeply nested field", "c.json",
        '{"id": "x", "diagnoses": ' + "[" * 100_000 + "]" * 100_000 + "}",
        (Expected("", "nested too deeply"),)),
    # -- files that are not case files ------------------------------------------------------------
    Bad("wrong suffix", "c.txt", GOOD,
        (Expected("", "not a single-case file: expected .yaml, .yml or .json", "'.txt'"),)),
    Bad("JSON Lines given to recommend", "c.jsonl", JSON_HEAD + "}\n",
        (Expected("", "not a single-case file", "'.jsonl'"),)),
]


def _write(directory: Path, bad: Bad) -> Path:
    path = directory / bad.filename
    if isinstance(bad.content, bytes):
        path.write_bytes(bad.content)
    else:
        path.write_text(bad.content, encoding="utf-8")
    return path


def _matches(line: str, source: Path, want: Expected) -> bool:
    head = f"error: {source}: {want.path}: " if want.path else f"error: {source}: "
    if not line.startswith(head) or want.fragment not in line[len(head):]:
        return False
    if want.got is None:
        return "(got " not in line
    return line.endswith(f"(got {want.got})")


def assert_problems(lines: list[str], source: Path, expected: tuple[Expected, ...]) -> None:
    """Exactly the expected problems, one line each, in any order."""
    assert len(lines) == len(expected), lines
    for want in expected:
        assert any(_matches(line, source, want) for line in lines), (want, lines)


@pytest.mark.parametrize("bad", BAD_INPUTS, ids=lambda b: b.name)
def test_bad_input_is_refused_with_one_line_per_problem(bad: Bad, tmp_path: Path) -> None:
    path = _write(tmp_path, bad)
    result = invoke("recommend", path, "--format", "json")
    lines = assert_refused(result.exit_code, result.stdout, result.stderr, path)
    assert_problems(lines, path, bad.problems)


def test_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "absent.yaml"
    result = invoke("recommend", path)
    lines = assert_refused(result.exit_code, result.stdout, result.stderr, path)
    assert_problems(lines, path, (Expected("", "cannot read file: No such file or directory"),))


def test_every_problem_of_a_case_is_reported(tmp_path: Path) -> None:
    path = tmp_path / "three.yaml"
    path.write_text("id: three\npatient: {age: 130}\ndiagnoses:\n  - condition: carpal_tunel\n"
                    "medications: [warfarin, {name: wolfsbane, atc: W0}]\n", encoding="utf-8")
    result = invoke("recommend", path)
    lines = assert_refused(result.exit_code, result.stdout, result.stderr, path)
    assert_problems(lines, path, (
        Expected("patient.age", "less than or equal to 120", "130"),
        Expected("diagnoses[0].condition", "did you mean carpal_tunnel_syndrome?", "'carpal_tunel'"),
        Expected("medications[1].atc", "not an ATC code", "'W0'")))


def test_alias_bomb_is_refused_fast(tmp_path: Path, vocab) -> None:
    path = tmp_path / "bomb.yaml"
    path.write_text(_billion_laughs(), encoding="utf-8")
    start = time.perf_counter()
    with pytest.raises(CaseError, match="anchors and aliases are not allowed"):
        load_case(path, vocab)
    assert time.perf_counter() - start < 1.0


def test_python_tag_never_runs(tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    path = tmp_path / "tag.yaml"
    path.write_text(f"id: !!python/object/apply:os.system ['touch {marker}']\n"
                    "diagnoses: [{condition: neck_pain}]\n", encoding="utf-8")
    result = invoke("recommend", path)
    assert_refused(result.exit_code, result.stdout, result.stderr, path)
    assert not marker.exists()


SUBPROCESS_CASES = ["unknown condition", "billion laughs", "python object tag", "deeply nested YAML",
                    "binary garbage"]


@pytest.mark.parametrize("bad", [b for b in BAD_INPUTS if b.name in SUBPROCESS_CASES], ids=lambda b: b.name)
def test_no_traceback_reaches_stderr_of_the_real_process(bad: Bad, tmp_path: Path) -> None:
    path = _write(tmp_path, bad)
    proc = run_checkout_cli(["recommend", path])
    lines = assert_refused(proc.returncode, proc.stdout, proc.stderr, path)
    assert_problems(lines, path, bad.problems)


def test_unreadable_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "locked.yaml"
    path.write_text(GOOD, encoding="utf-8")
    path.chmod(0)
    if os.geteuid() == 0:  # root reads any file: the operating system's refusal is simulated
        real_open = os.open

        def refuse(file: object, *args: object, **kwargs: object) -> int:
            if Path(str(file)) == path:
                raise PermissionError(13, "Permission denied", str(file))
            return real_open(file, *args, **kwargs)  # type: ignore[arg-type]
        monkeypatch.setattr(os, "open", refuse)
    result = invoke("recommend", path)
    lines = assert_refused(result.exit_code, result.stdout, result.stderr, path)
    assert_problems(lines, path, (Expected("", "cannot read file: Permission denied"),))
