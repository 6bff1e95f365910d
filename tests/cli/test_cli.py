"""The command line: recommend (text and json), schema, --rules, --help (contract §4); run() with in-memory streams."""

from __future__ import annotations

import io
import json
import sys
from pathlib import Path

import click
import jsonschema
import pytest

from medmassage_rules.cli import main, run
from medmassage_rules.files.reading import parse_yaml

from ..conftest import FACTS
from ..helpers import EXIT_INVALID, JSON_LINES_FILES, SINGLE_CASE_FILES, assert_plan_shape, assert_refused, invoke

P01 = FACTS / "p01-cts-mild-right.yaml"


def _command_paths(group: click.Group = main, prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    """Every command and sub-command of the CLI, as the words that name it."""
    paths = [prefix]
    for name, command in sorted(group.commands.items()):
        if isinstance(command, click.Group):
            paths += _command_paths(command, (*prefix, name))
        else:
            paths.append((*prefix, name))
    return paths


@pytest.mark.parametrize("words", _command_paths(), ids=lambda w: " ".join(w) or "medmassage")
def test_help_of_every_command(words: tuple[str, ...]) -> None:
    result = invoke(*words, "--help")
    assert result.exit_code == 0, result.output
    assert "Usage:" in result.stdout


def test_recommend_text() -> None:
    result = invoke("recommend", P01)
    assert result.exit_code == 0, result.stderr
    assert result.stderr == ""
    out = result.stdout
    assert "Case p01-cts-mild-right" in out
    assert "Status: TREAT" in out
    for words in ("Myofascial release", "forearm flexors", "Session: 30 minutes"):
        assert words in out


def test_recommend_text_is_the_default_and_ignores_expect() -> None:
    assert invoke("recommend", P01).stdout == invoke("recommend", P01, "--format", "text").stdout


@pytest.mark.parametrize("path", SINGLE_CASE_FILES, ids=lambda p: p.name)
def test_recommend_json_has_every_key_of_the_contract(path: Path, vocab) -> None:
    result = invoke("recommend", path, "--format", "json")
    assert result.exit_code == 0, result.stderr
    plan = json.loads(result.stdout)
    assert_plan_shape(plan, vocab)
    assert plan["case_id"] == parse_yaml(path.read_text(encoding="utf-8"))["id"]


def test_recommend_json_of_a_treatable_case() -> None:
    plan = json.loads(invoke("recommend", P01, "--format", "json").stdout)
    assert plan["status"] == "treat"
    assert plan["modalities"] and plan["targets"] and plan["session"]["segments"]
    assert plan["session"]["total_minutes"] == sum(s["minutes"] for s in plan["session"]["segments"])


def test_unknown_format_is_a_usage_error() -> None:
    result = invoke("recommend", P01, "--format", "pdf")
    assert result.exit_code == EXIT_INVALID
    assert "Traceback" not in result.output


@pytest.fixture(scope="module")
def case_schema() -> dict:
    result = invoke("schema")
    assert result.exit_code == 0, result.stderr
    return json.loads(result.stdout)


def test_schema_is_a_valid_json_schema(case_schema: dict) -> None:
    jsonschema.Draft202012Validator.check_schema(case_schema)
    assert case_schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"


def _facts_documents() -> list[tuple[str, object]]:
    docs = [(p.name, parse_yaml(p.read_text(encoding="utf-8"))) for p in SINGLE_CASE_FILES]
    for path in JSON_LINES_FILES:
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
            if line.strip():
                docs.append((f"{path.name}:{number}", json.loads(line)))
    return docs


@pytest.mark.parametrize(("name", "document"), _facts_documents(), ids=lambda x: x if isinstance(x, str) else "")
def test_schema_accepts_every_case_in_facts(case_schema: dict, name: str, document: object) -> None:
    jsonschema.Draft202012Validator(case_schema).validate(document)


@pytest.mark.parametrize("change", [
    {"diagnoses": [{"condition": "housemaids_knee"}]},
    {"diagnoses": []},
    {"dosage": 3},
    {"patient": {"age": 130}},
    {"medications": [{"name": "wolfsbane", "class": "poison"}]},
], ids=["unknown condition", "no diagnosis", "unknown key", "age out of range", "unknown medication class"])
def test_schema_rejects_invalid_cases(case_schema: dict, change: dict) -> None:
    document = {**parse_yaml(P01.read_text(encoding="utf-8")), **change}
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.Draft202012Validator(case_schema).validate(document)


@pytest.mark.parametrize("words", [("recommend", P01), ("schema",)], ids=["recommend", "schema"])
def test_rules_folder_that_does_not_exist(words: tuple, tmp_path: Path) -> None:
    missing = tmp_path / "no-such-rules"
    result = invoke(*words, "--rules", missing)
    assert result.exit_code == EXIT_INVALID
    assert result.stdout == ""
    assert "Traceback" not in result.stderr
    assert result.stderr.splitlines() == [
        f"error: knowledge base: {missing}: no vocabulary.yaml (not a knowledge-base folder)"]


def test_rules_folder_without_vocabulary(tmp_path: Path) -> None:
    (tmp_path / "conditions.yaml").write_text("rules: []\n", encoding="utf-8")
    result = invoke("recommend", P01, "--rules", tmp_path)
    assert result.exit_code == EXIT_INVALID
    assert "no vocabulary.yaml" in result.stderr and "Traceback" not in result.stderr


def test_rules_option_with_the_shipped_folder(kb) -> None:
    result = invoke("recommend", P01, "--rules", kb.root, "--format", "json")
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["case_id"] == "p01-cts-mild-right"


def test_bad_case_with_json_format_prints_no_plan(tmp_path: Path) -> None:
    path = tmp_path / "bad.json"
    path.write_text('{"id": "x", "diagnoses": [{"condition": "gout"}]}', encoding="utf-8")
    result = invoke("recommend", path, "--format", "json")
    assert_refused(result.exit_code, result.stdout, result.stderr, path)


# -- run(argv, stdin, stdout, stderr): the command line as a function, with in-memory streams --------

def _run(*args: str | Path, stdin: io.TextIOBase | None = None) -> tuple[int, str, str]:
    stdout, stderr = io.StringIO(), io.StringIO()
    code = run([str(a) for a in args], stdin=stdin or io.StringIO(""), stdout=stdout, stderr=stderr)
    return code, stdout.getvalue(), stderr.getvalue()


def _bytes_in(data: bytes) -> io.TextIOWrapper:
    """A stdin as a process has it: text over a byte buffer."""
    return io.TextIOWrapper(io.BytesIO(data), encoding="utf-8")


def test_run_a_good_case() -> None:
    code, out, err = _run("recommend", P01)
    assert (code, err) == (0, "")
    assert out == invoke("recommend", P01).stdout
    assert "Case p01-cts-mild-right" in out and "Status: TREAT" in out


def test_run_leaves_the_process_streams_as_they_were() -> None:
    before = sys.stdin, sys.stdout, sys.stderr
    _run("recommend", "-", stdin=io.StringIO("id: [unclosed\n"))
    assert (sys.stdin, sys.stdout, sys.stderr) == before


def test_run_a_bad_case_says_one_error_line_per_problem(tmp_path: Path) -> None:
    path = tmp_path / "bad.json"
    path.write_text('{"id": "x", "diagnoses": [{"condition": "gout"}], "dosage": 3}', encoding="utf-8")
    code, out, err = _run("recommend", path, "--format", "json")
    assert (code, out) == (EXIT_INVALID, "")
    assert err.splitlines() == [f"error: {path}: diagnoses[0].condition: unknown condition id (got 'gout')",
                                f"error: {path}: dosage: unknown field (got 3)"]


@pytest.mark.parametrize("stdin", [
    lambda text: io.StringIO(text),
    lambda text: _bytes_in(text.encode("utf-8")),
    lambda text: _bytes_in(b"\xef\xbb\xbf" + text.encode("utf-8")),  # a byte-order mark is dropped
], ids=["text", "bytes", "utf-8 with BOM"])
def test_run_a_case_from_stdin(stdin) -> None:  # type: ignore[no-untyped-def]
    yaml_text = P01.read_text(encoding="utf-8")
    code, out, err = _run("recommend", "-", "--format", "json", stdin=stdin(yaml_text))
    assert (code, err) == (0, ""), err
    assert json.loads(out) == json.loads(invoke("recommend", P01, "--format", "json").stdout)
    code, out, _ = _run("recommend", "-", "--format", "json", stdin=stdin(json.dumps({**parse_yaml(yaml_text),
                                                                                   "id": "from-stdin"})))
    assert code == 0 and json.loads(out)["case_id"] == "from-stdin"


@pytest.mark.parametrize(("data", "line"), [
    (b"\xff\xfe not text", "error: <stdin>: input is not UTF-8 text (byte 0)"),
    (b"id: [unclosed\n", "error: <stdin>: line 2, column 1: invalid YAML: while parsing a flow sequence, "
                         "did not find expected ',' or ']'"),
    (b'{"id": "x", "id": "y"}', "error: <stdin>: invalid JSON: duplicate key 'id'"),
    (b"", "error: <stdin>: the file holds no case (it is empty); a case must be a mapping of fields"),
    (b"a: " + b"x" * (1024 * 1024), "error: <stdin>: input is larger than 1024 KiB; refused"),
], ids=["not utf-8", "bad yaml", "duplicate json key", "empty", "too large"])
def test_run_a_bad_stdin(data: bytes, line: str) -> None:
    code, out, err = _run("recommend", "-", stdin=_bytes_in(data))
    assert (code, out, err.splitlines()) == (EXIT_INVALID, "", [line])


def test_run_a_bad_knowledge_base(tmp_path: Path) -> None:
    (tmp_path / "conditions.yaml").write_text("rules: []\n", encoding="utf-8")
    for words in (("recommend", P01), ("schema",), ("kb", "graph"), ("batch", P01)):
        code, out, err = _run(*words, "--rules", tmp_path)
        assert (code, out) == (EXIT_INVALID, ""), words
        assert err.splitlines() == [f"error: knowledge base: {tmp_path}: no vocabulary.yaml "
                                    "(not a knowledge-base folder)"], words


def test_run_help_version_and_usage_errors() -> None:
    code, out, err = _run("--help")
    assert (code, err) == (0, "") and out.startswith("Usage: medmassage [OPTIONS] COMMAND [ARGS]...")
    code, out, err = _run("--version")
    assert code == 0 and "medmassage" in out and err == ""
    code, out, err = _run("recommend", P01, "--format", "pdf")
    assert (code, out) == (EXIT_INVALID, "")
    assert err.startswith("Usage: medmassage recommend [OPTIONS] CASE") and "Error: Invalid value for '--format'" in err
    code, out, err = _run("explain", P01, "--why", "myofascial_relase")
    assert (code, out) == (EXIT_INVALID, "")
    assert err == "error: unknown modality, target or area id 'myofascial_relase'; did you mean myofascial_release?\n"


class _Closed(io.StringIO):
    def write(self, text: str) -> int:
        raise BrokenPipeError(32, "Broken pipe")


def test_run_an_output_that_cannot_be_written() -> None:
    stderr = io.StringIO()
    assert run(["schema"], stdout=_Closed(), stderr=stderr) == EXIT_INVALID
    assert stderr.getvalue() == "error: standard output: cannot write: Broken pipe\n"


def test_run_interrupted(monkeypatch: pytest.MonkeyPatch) -> None:
    from medmassage_rules.planning import pipeline

    def interrupted(*args: object, **kwargs: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(pipeline, "plan_case", interrupted)
    code, out, err = _run("recommend", P01)
    assert (code, out, err) == (130, "", "\ninterrupted\n")  # 128 + SIGINT, as for every command


def test_run_returns_the_exit_code_of_lint_and_batch(tmp_path: Path) -> None:
    assert _run("kb", "lint")[0] == 0
    failing = tmp_path / "failing.yaml"
    wrong_status = P01.read_text(encoding="utf-8").replace("status: treat", "status: treat_with_precautions")
    failing.write_text(wrong_status, encoding="utf-8")
    code, out, _ = _run("batch", failing, "--format", "json")
    assert code == 1 and json.loads(out)["failed"] == 1


def test_read_case_stream_problems_carry_codes(vocab) -> None:
    from medmassage_rules.cases.streams import read_case_stream
    from medmassage_rules.errors import CaseError

    for data, code in ((b"\xff", "not_utf8"), (b"x" * (1024 * 1024 + 1), "too_large"), (b"a: [", "invalid_yaml")):
        with pytest.raises(CaseError) as caught:
            read_case_stream(io.BytesIO(data), vocab)
        assert [(p.source, p.code) for p in caught.value.problems] == [("<stdin>", code)]
    case = read_case_stream(io.BytesIO(P01.read_bytes()), vocab)
    assert case.id == "p01-cts-mild-right"
