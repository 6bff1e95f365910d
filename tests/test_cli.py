"""The command line: recommend (text and json), schema, --rules, --help (contract §4)."""

from __future__ import annotations

import json
from pathlib import Path

import click
import jsonschema
import pytest

from medmassage_rules.cli import main
from medmassage_rules.files.reading import parse_yaml

from .conftest import FACTS
from .helpers import EXIT_INVALID, JSON_LINES_FILES, SINGLE_CASE_FILES, assert_plan_shape, assert_refused, invoke

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
