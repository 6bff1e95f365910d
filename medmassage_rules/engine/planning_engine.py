"""The base of every compiled engine: the lean matcher, the deterministic agenda, a trace per run."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from experta import KnowledgeEngine
from experta.factlist import FactList

from .agenda import DeterministicStrategy, Firing, TracingAgenda
from .rete import LeanReteMatcher


class LeanFactList(FactList):
    """experta's fact list, keying a light fact (see :mod:`~medmassage_rules.kb.light_fact`) by its
    content without testing every key for being special: it holds no special key but its id."""

    @staticmethod
    def _get_fact_id(fact: Any) -> Any:
        if getattr(fact, "light", False):
            return frozenset((fact.__class__, *_content(fact)[1]))
        return FactList._get_fact_id(fact)


class PlanningEngine(KnowledgeEngine):
    """The base of every compiled engine: deterministic agenda and a trace per run."""

    __matcher__ = LeanReteMatcher
    __strategy__ = DeterministicStrategy
    _deffacts: list[Any] | None = None
    agenda: TracingAgenda  # replaced on every reset(), so firings are traced per run

    def get_deffacts(self) -> list[Any]:
        """experta looks them up with inspect.getmembers (over every rule) on each reset: once is enough."""
        if self._deffacts is None:
            self._deffacts = super().get_deffacts()
        return self._deffacts

    def reset(self, **kwargs: Any) -> None:
        super().reset(**kwargs)
        self.facts.__class__ = LeanFactList  # the same list, keying facts faster from now on
        agenda = TracingAgenda()
        agenda.activations = self.agenda.activations
        self.agenda = agenda

    def infer(self, case_facts: Iterable[Any]) -> tuple[list[Any], list[Firing]]:
        """Reset, declare the case's facts, run to quiescence; return all facts and the trace."""
        self.reset()
        self.declare(*case_facts)
        self.run()
        return list(self.facts.values()), self.agenda.trace

    def record(self, fact: Any) -> None:
        """Declare a conclusion and note it on the firing in progress.

        experta keeps one copy of equal facts: when an earlier firing declared the same
        conclusion (warfarin and aspirin both blocking deep tissue), this firing is noted
        as supporting that fact too, so the trace names every reason.
        """
        declared = self.declare(fact)
        index = self._facts_by_content(rebuild=False)
        if declared is not None:
            index[_content(declared)] = declared
        else:
            key = _content(fact)
            declared = index.get(key)
            if declared is None or self.facts.get(declared["__factid__"]) is not declared:
                # declared by other means than record (a case fact), or since retracted
                declared = self._facts_by_content(rebuild=True).get(key)
        if declared is not None:
            self.agenda.trace[-1].outputs.append(declared)

    def _facts_by_content(self, *, rebuild: bool) -> dict[tuple[type, frozenset[Any]], Any]:
        """This run's facts indexed by content, so finding the twin of a conclusion is one look-up.

        Scanning every fact for each repeated conclusion made a run quadratic (50 diagnoses
        by 200 trigger points: seconds). The index belongs to the run's agenda, which every
        reset() replaces; it is rebuilt from the fact list when a look-up misses.
        """
        cached: tuple[Any, dict[tuple[type, frozenset[Any]], Any]] | None = self.__dict__.get("_content_index")
        if cached is None or cached[0] is not self.agenda or rebuild:
            cached = (self.agenda, {_content(f): f for f in self.facts.values()})
            self.__dict__["_content_index"] = cached
        return cached[1]


_SPECIAL_KEYS = ("__factid__", "__bind__")  # the special keys a fact of this engine can hold


def _content(fact: Any) -> tuple[type, frozenset[Any]]:
    """What makes two facts the same fact for experta: class and fields, not the fact id."""
    items = frozenset(dict.items(fact))
    for key in _SPECIAL_KEYS:
        if key in fact:
            items = items - {(key, dict.__getitem__(fact, key))}
    return type(fact), items
