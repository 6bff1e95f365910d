"""The lean Rete matcher is an optimisation only: it must fire what stock experta fires, in the same order."""

from __future__ import annotations

from typing import Any

from experta import KnowledgeEngine
from experta.matchers import ReteMatcher

from medmassage_rules.cases.loading import iter_cases
from medmassage_rules.cases.models import Case
from medmassage_rules.engine.cache import engine_class, engine_for
from medmassage_rules.engine.rete import LeanReteMatcher
from medmassage_rules.planning.case_facts import case_facts

from ..conftest import FACTS

CASE_FILES = sorted(p for p in FACTS.iterdir() if p.suffix in (".yaml", ".yml", ".json", ".jsonl"))


def _stock_engine(kb) -> Any:
    """The knowledge base's engine with experta's own matcher and deffacts lookup."""
    stock = type("StockMatcherEngine", (engine_class(kb),),
                 {"__matcher__": ReteMatcher, "get_deffacts": KnowledgeEngine.get_deffacts})
    return stock()


def _run(engine: Any, case: Case, kb) -> tuple[list[Any], list[Any]]:
    facts, trace = engine.infer(case_facts(case, kb.vocabulary))
    firings = [(f.rule_id, [i["__factid__"] for i in f.inputs], [repr(o) for o in f.outputs]) for f in trace]
    return [(f["__factid__"], repr(f)) for f in facts], firings


def _cases(kb) -> list[tuple[str, Case]]:
    out = []
    for path in CASE_FILES:
        out += [(loaded.source, loaded.case) for loaded in iter_cases(path, kb.vocabulary) if loaded.case]
    return out


def test_the_engine_uses_the_lean_matcher(kb) -> None:
    assert isinstance(engine_for(kb).matcher, LeanReteMatcher)
    assert not isinstance(_stock_engine(kb).matcher, LeanReteMatcher)


def test_lean_and_stock_matchers_fire_the_same_rules_on_the_same_facts(kb) -> None:
    stock, lean = _stock_engine(kb), engine_for(kb)
    cases = _cases(kb)
    assert len(cases) > 20
    expected = [_run(stock, case, kb) for _, case in cases]
    for _ in range(2):  # twice: a reused engine must not carry anything over
        for (source, case), want in zip(cases, expected, strict=True):
            assert _run(lean, case, kb) == want, source


def test_a_reset_wipes_every_node(kb) -> None:
    lean = engine_for(kb)
    case = next(iter_cases(FACTS / "p05-fibromyalgia-warfarin.yaml", kb.vocabulary)).case
    assert case is not None
    lean.infer(case_facts(case, kb.vocabulary))
    lean.reset()
    memories = [getattr(node, name) for node in lean.matcher.nodes
                for name in ("memory", "left_memory", "right_memory") if hasattr(node, name)]
    assert memories and not any(memories)
