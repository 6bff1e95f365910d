"""The knowledge-base cache on disk: used when it can be trusted, rebuilt when not, never a change in output."""

from __future__ import annotations

import io
import json
import os
import pickle
import shutil
from pathlib import Path

import pytest

from medmassage_rules.cli.app import run
from medmassage_rules.kb import disk_cache, loading
from medmassage_rules.kb.knowledge_base import default_rules_dir

from ..conftest import FACTS

EXECUTED: list[str] = []


class Payload:
    """Unpickling this would run code: the cache must never unpickle it."""

    def __reduce__(self):  # type: ignore[no-untyped-def]
        return (EXECUTED.append, ("unpickled",))


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    monkeypatch.delenv("MEDMASSAGE_RULES_NO_CACHE", raising=False)
    return tmp_path / "xdg" / "medmassage-rules"


@pytest.fixture
def rules(tmp_path: Path) -> Path:
    root = tmp_path / "rules"
    shutil.copytree(default_rules_dir(), root, ignore=shutil.ignore_patterns("intake"))
    return root


def _entry(cache: Path) -> Path:
    (path,) = cache.glob("kb-*.pickle")
    return path


def _no_reading(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(_root: object) -> None:
        raise AssertionError("the rule files were read")
    monkeypatch.setattr(loading, "_load", refuse)


def test_a_second_load_comes_from_the_cache_and_equals_the_first(cache: Path, rules: Path,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    first = loading.load_knowledge_base(rules)
    assert _entry(cache).stat().st_mode & 0o777 == 0o600
    assert (cache / "key").stat().st_mode & 0o777 == 0o600 and cache.stat().st_mode & 0o777 == 0o700
    _no_reading(monkeypatch)
    second = loading.load_knowledge_base(rules)
    assert second is not first
    assert (second.rules, second.vocabulary, second.references, second.caveats, second.root) == \
        (first.rules, first.vocabulary, first.references, first.caveats, first.root)


def test_a_changed_rule_file_is_a_different_entry(cache: Path, rules: Path) -> None:
    loading.load_knowledge_base(rules)
    path = rules / "conditions.yaml"
    text = path.read_text(encoding="utf-8")
    rule_id = next(r.id for r in loading.load_knowledge_base(rules).rules if r.source.endswith("conditions.yaml"))
    marker = "description: "
    start = text.index(marker, text.index(f"id: {rule_id}")) + len(marker)
    path.write_text(text[:start] + "Edited. " + text[start:], encoding="utf-8")
    edited = loading.load_knowledge_base(rules)
    assert edited.by_id[rule_id].description.startswith("Edited.")
    assert len(list(cache.glob("kb-*.pickle"))) == 2


def test_only_the_most_recent_entries_are_kept(cache: Path, rules: Path) -> None:
    loading.load_knowledge_base(rules)
    kept = _entry(cache)
    for i in range(disk_cache.KEEP + 3):
        stale = cache / f"kb-{i:064x}.pickle"
        stale.write_bytes(b"old")
        os.utime(stale, (1, 1))
    (rules / "lint.yaml").write_text((rules / "lint.yaml").read_text(encoding="utf-8") + "# edited\n",
                                     encoding="utf-8")
    loading.load_knowledge_base(rules)
    entries = list(cache.glob("kb-*.pickle"))
    assert len(entries) == disk_cache.KEEP
    assert kept in entries and sum(p.read_bytes() == b"old" for p in entries) == disk_cache.KEEP - 2


@pytest.mark.parametrize("damage", ["truncated", "flipped", "empty", "foreign key"])
def test_a_corrupt_or_foreign_entry_is_ignored_and_rebuilt(cache: Path, rules: Path, damage: str) -> None:
    fresh = loading.load_knowledge_base(rules)
    entry = _entry(cache)
    data = entry.read_bytes()
    if damage == "truncated":
        entry.write_bytes(data[: len(data) // 2])
    elif damage == "flipped":
        entry.write_bytes(data[:-10] + bytes([data[-10] ^ 1]) + data[-9:])
    elif damage == "empty":
        entry.write_bytes(b"")
    else:  # written with another user's key
        (cache / "key").write_bytes(os.urandom(disk_cache.KEY_BYTES))
    assert disk_cache.load(rules) is None
    again = loading.load_knowledge_base(rules)
    assert again.rules == fresh.rules
    assert disk_cache.load(rules) is not None  # rebuilt, and trusted again


def test_an_unsigned_pickle_is_never_unpickled(cache: Path, rules: Path) -> None:
    loading.load_knowledge_base(rules)
    entry = _entry(cache)
    entry.write_bytes(disk_cache.MAGIC + b"\0" * 32 + pickle.dumps(Payload()))
    EXECUTED.clear()
    assert loading.load_knowledge_base(rules).rules
    assert EXECUTED == []


@pytest.mark.skipif(os.name == "nt", reason="POSIX permissions")
@pytest.mark.parametrize("what", ["folder", "key", "entry"])
def test_a_cache_others_may_write_is_not_trusted(cache: Path, rules: Path, what: str) -> None:
    loading.load_knowledge_base(rules)
    path = {"folder": cache, "key": cache / "key", "entry": _entry(cache)}[what]
    path.chmod(0o777 if what == "folder" else 0o666)
    assert disk_cache.load(rules) is None
    assert loading.load_knowledge_base(rules).rules  # still loads, from the rule files


def test_a_relative_xdg_cache_home_is_ignored(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", "relative/cache")
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.delenv("MEDMASSAGE_RULES_NO_CACHE", raising=False)
    assert disk_cache.cache_dir() == tmp_path / ".cache" / "medmassage-rules"
    monkeypatch.setenv("MEDMASSAGE_RULES_NO_CACHE", "1")
    assert disk_cache.cache_dir() is None


def _batch(args: list[str], report: Path) -> bytes:
    out, err = io.StringIO(), io.StringIO()
    code = run(["batch", *args, "--report", str(report)], stdout=out, stderr=err)
    assert code in (0, 1), err.getvalue()
    return report.read_bytes()


def test_reports_are_byte_identical_with_and_without_the_cache_for_any_job_count(
        cache: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    cases = tmp_path / "cases.jsonl"
    with cases.open("w", encoding="utf-8") as out:
        for path in sorted(FACTS.glob("p*.yaml"))[:12]:
            out.write(json.dumps({"id": path.stem, "diagnoses": [{"condition": "carpal_tunnel_syndrome"}]}) + "\n")
    inputs = [str(cases), *(str(p) for p in sorted(FACTS.glob("p0*.yaml")))]
    reports = {}
    for label, env in (("no cache", "1"), ("cold cache", None), ("warm cache", None)):
        if env:
            monkeypatch.setenv("MEDMASSAGE_RULES_NO_CACHE", env)
        else:
            monkeypatch.delenv("MEDMASSAGE_RULES_NO_CACHE", raising=False)
        for jobs in ("1", "2", "3"):
            reports[label, jobs] = _batch([*inputs, "--jobs", jobs], tmp_path / f"{label}-{jobs}.jsonl")
    assert _entry(cache).is_file()
    assert len(set(reports.values())) == 1
    assert reports["no cache", "1"].count(b"\n") == 12 + len(inputs) - 1
