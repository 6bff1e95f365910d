"""The library behind the web pages: a case read from request bytes, planned, and kept for an hour.

Everything here goes through the same calls as the command line - the case validator, the
planner, the explanations, the renderers - with one lock around them, because the engine of
a process is one reused instance (``engine/cache.py``). A request's bytes are never written
anywhere and never used as a path; a problem is a :class:`~medmassage_rules.errors.Problem`
whose line is the one the command line prints.
"""

from __future__ import annotations

import io
import secrets
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

from ..cases.loading import validate_case
from ..cases.models import Case
from ..cases.streams import read_case_stream
from ..errors import CaseError, MedMassageError, Problem, printable
from ..kb.knowledge_base import KnowledgeBase
from ..planning.pipeline import plan_case
from ..planning.results import PlanResult

PLAN_TTL_SECONDS = 3600      # a plan page lives an hour at most
MAX_PLANS = 256              # and the oldest go first when more are held
PLAN_ID_BYTES = 16


def problem_line(problem: Problem) -> str:
    """A problem as the command line prints it: ``error: SOURCE: PATH: MESSAGE (got VALUE)``."""
    return f"error: {printable(str(problem), one_line=True)}"


class InputRefused(MedMassageError):
    """An input that is not a case: the problems to show (each the command line's line)."""

    def __init__(self, problems: list[Problem] | tuple[Problem, ...]):
        self.problems = tuple(problems)
        super().__init__("; ".join(str(p) for p in self.problems))


@dataclass(frozen=True)
class StoredPlan:
    """A plan held in memory for its page: the result, the case as YAML, when it expires."""

    result: PlanResult
    case_yaml: str
    expires: float
    notes: tuple[str, ...] = ()   # what an import could not map, shown on the page


class PlanStore:
    """Plans by random id, in memory only, for at most :data:`PLAN_TTL_SECONDS`."""

    def __init__(self, ttl: float = PLAN_TTL_SECONDS, limit: int = MAX_PLANS):
        self.ttl, self.limit = ttl, limit
        self._plans: OrderedDict[str, StoredPlan] = OrderedDict()
        self._lock = threading.Lock()

    def add(self, result: PlanResult, case_yaml: str, notes: tuple[str, ...] = ()) -> str:
        plan_id = secrets.token_urlsafe(PLAN_ID_BYTES)
        with self._lock:
            self._expire()
            self._plans[plan_id] = StoredPlan(result, case_yaml, time.monotonic() + self.ttl, notes)
            while len(self._plans) > self.limit:
                self._plans.popitem(last=False)
        return plan_id

    def get(self, plan_id: str) -> StoredPlan | None:
        with self._lock:
            self._expire()
            return self._plans.get(plan_id)

    def __len__(self) -> int:
        with self._lock:
            self._expire()
            return len(self._plans)

    def _expire(self) -> None:
        now = time.monotonic()
        for key in [k for k, p in self._plans.items() if p.expires <= now]:
            del self._plans[key]


class Planner:
    """The knowledge base and the one lock every library call of the server goes through."""

    def __init__(self, kb: KnowledgeBase):
        self.kb = kb
        self.lock = threading.RLock()

    def case_from_bytes(self, data: bytes, source: str) -> Case:
        """The case a YAML or JSON document holds (the rules of ``recommend -``)."""
        with self.lock:
            return read_case_stream(io.BytesIO(data), self.kb.vocabulary, source)

    def case_from_data(self, data: dict[str, Any], source: str) -> Case:
        with self.lock:
            return validate_case(data, source, self.kb.vocabulary)

    def plan(self, case: Case) -> PlanResult:
        with self.lock:
            return plan_case(case, self.kb)

    def case_from_bundle(self, data: bytes, source: str) -> tuple[dict[str, Any], str, tuple[str, ...]]:
        """A FHIR R4 bundle's case data, its YAML and the import's notes: ``import fhir``'s reading
        (entries projected one at a time as they are parsed) of bytes that never touch the disk."""
        from ..intake import fhir
        from ..intake.fhir_json import stream_bundle
        from ..intake.fhir_projection import ProjectionError, bundle_entry

        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise InputRefused([Problem(source, "", "not_utf8",
                                        f"not a FHIR bundle: not UTF-8 text (byte {exc.start})")]) from None
        resources: list[Any] = []

        def entry(number: int, raw: Any) -> None:
            found = bundle_entry(raw, f"entry[{number}]")
            if found is not None:
                resources.append(found)

        with self.lock:
            try:
                top = stream_bundle(text, entry)
                if not isinstance(top, dict) or top.get("resourceType") != "Bundle":
                    found = top.get("resourceType") if isinstance(top, dict) else type(top).__name__
                    raise InputRefused([Problem(source, "resourceType", "not_a_bundle", "not a FHIR Bundle", found)])
                if top.get("entry") is not None:  # an entry that is not an array
                    raise ProjectionError("entry", "expected an array", top["entry"])
                imported, day = fhir.case_from_resources(resources, self.kb.vocabulary, None, source)
            except ProjectionError as exc:
                raise InputRefused(fhir.refused(source, exc).problems) from None
            except (ValueError, RecursionError) as exc:
                raise InputRefused([Problem(source, "", "invalid_json",
                                            f"not a FHIR bundle: invalid JSON ({exc})")]) from None
            except CaseError as exc:
                raise InputRefused(exc.problems) from None
            notes = tuple(f"note: {line}" for line in imported.advisories)
            notes += tuple(f"not mapped: {line}" for line in imported.unmapped)
            return imported.case, imported.yaml("the uploaded bundle", day), notes
