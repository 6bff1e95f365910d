"""FHIR Bulk Data import: NDJSON files (one resource per line) -> one case per Patient (`import fhir-bulk`).

A Bulk Data export holds one file per resource type (Patient.ndjson, Condition.ndjson,
MedicationRequest.ndjson, Observation.ndjson, Encounter.ndjson ...), thousands to millions of
patients. The files are read twice, line by line:

1. an index: for every line, the patient it is about (the Patient's own id, or the id its
   ``subject`` references) and where the line starts, kept in a SQLite file in a temporary
   folder - on disk, so that memory does not grow with the export;
2. per Patient, in the order of the Patient lines: its lines read back (seek and read), put
   through the light projection of :mod:`.fhir_projection` and built into the case exactly as
   ``import fhir`` builds the case of a bundle (:func:`.fhir.case_from_resources`).

So memory holds one patient's resources at a time. A line that is not JSON, or not a
resource, refuses the import before any case is given (a CaseError naming ``file:line``); a
resource field that cannot be read makes its patient an error and the others go on.
"""

from __future__ import annotations

import sqlite3
import tempfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from ..errors import CaseError, Problem
from ..files.reading import open_regular
from ..kb.vocabulary import Vocabulary
from .fhir import Imported, case_from_resources
from .fhir_json import RESOURCE_TYPES, loads
from .fhir_kept import Kept, TooManyResources
from .fhir_projection import READ_TYPES, ProjectionError, project, reference_id

NDJSON_SUFFIXES = (".ndjson", ".jsonl")
MAX_LINE_BYTES = 16 * 1024 * 1024  # one resource; a longer line is refused, never read whole
_BATCH = 5000  # index rows written to SQLite at a time


@dataclass(frozen=True)
class BulkCase:
    """One patient of the export: its case (or why it has none), the as-of date used, its source."""

    source: str                       # the Patient line, file:line
    patient_id: str
    imported: Imported | None
    as_of: date | None
    problems: tuple[Problem, ...] = field(default=())


def ndjson_files(paths: Iterable[str | Path]) -> list[Path]:
    """The NDJSON files named: files as given, folders searched (not recursively) in sorted order."""
    files: list[Path] = []
    missing = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            files += sorted(p for p in path.iterdir() if p.suffix.lower() in NDJSON_SUFFIXES and p.is_file())
        elif path.exists() or path.is_symlink():
            files.append(path)  # a pipe or a device is refused when it is opened
        else:
            missing.append(Problem(str(path), "", "not_found", "no such file or folder"))
    if missing:
        raise CaseError(missing)
    if not files:
        named = ", ".join(str(p) for p in paths)
        raise CaseError([Problem(named, "", "no_cases", "no .ndjson files found in " + named)])
    return files


def _lines(path: Path) -> Iterator[tuple[int, int, bytes]]:
    """(line number, offset, bytes) of every non-blank line; a regular file only, each line bounded."""
    handle, _ = open_regular(path)
    with handle:
        offset = 0
        number = 0
        while raw := handle.readline(MAX_LINE_BYTES + 1):
            number += 1
            if len(raw) > MAX_LINE_BYTES:
                raise CaseError([Problem(f"{path}:{number}", "", "too_large",
                                         f"line is larger than {MAX_LINE_BYTES // (1024 * 1024)} MiB; refused")])
            if raw.strip():
                yield number, offset, raw
            offset += len(raw)


def _who(raw: bytes, source: str) -> tuple[str, str | None]:
    """The resource type of a line and the patient it is about (None: about no patient)."""
    try:
        data = loads(raw)
    except (ValueError, RecursionError) as exc:
        raise CaseError([Problem(source, "", "invalid_json", f"not NDJSON: invalid JSON ({exc})")]) from None
    kind = data.get("resourceType") if isinstance(data, dict) else None
    if not isinstance(kind, str):
        raise CaseError([Problem(source, "resourceType", "not_a_resource", "not a FHIR resource", kind)])
    if kind not in RESOURCE_TYPES:
        raise CaseError([Problem(source, "resourceType", "not_a_resource", "not a FHIR R4 resource type", kind)])
    if kind == "Patient":
        rid = data.get("id")
        if not isinstance(rid, str) or not rid:
            raise CaseError([Problem(source, "id", "no_id", "a Patient without an id", rid)])
        return kind, rid
    try:
        return kind, reference_id(data.get("subject") or data.get("patient"), "subject")
    except ProjectionError as exc:
        raise CaseError([Problem(source, exc.path, "not_a_resource", exc.message, exc.value)]) from None


class _Index:
    """Where each patient's lines are: a SQLite table in a temporary folder."""

    def __init__(self, folder: str):
        self.db = sqlite3.connect(str(Path(folder) / "index.sqlite"))
        self.db.execute("CREATE TABLE patient (seq INTEGER PRIMARY KEY, id TEXT, file INTEGER, line INTEGER)")
        self.db.execute("CREATE TABLE line (patient TEXT, file INTEGER, line INTEGER, offset INTEGER)")
        self.patients: list[tuple[str, int, int]] = []
        self.lines: list[tuple[str, int, int, int]] = []

    def add(self, kind: str, patient: str, file: int, line: int, offset: int) -> None:
        if kind == "Patient":
            self.patients.append((patient, file, line))
        self.lines.append((patient, file, line, offset))
        if len(self.lines) >= _BATCH:
            self.flush()

    def flush(self) -> None:
        self.db.executemany("INSERT INTO patient (id, file, line) VALUES (?, ?, ?)", self.patients)
        self.db.executemany("INSERT INTO line VALUES (?, ?, ?, ?)", self.lines)
        self.patients, self.lines = [], []

    def finish(self) -> None:
        self.flush()
        self.db.execute("CREATE INDEX by_patient ON line (patient, file, line)")
        self.db.commit()

    def each_patient(self) -> Iterator[tuple[str, int, int]]:
        yield from self.db.execute("SELECT id, file, line FROM patient ORDER BY seq")

    def lines_of(self, patient: str) -> Iterator[tuple[int, int, int]]:
        """(file, line, offset) of a patient's lines, read from the index as they are used."""
        yield from self.db.execute("SELECT file, line, offset FROM line WHERE patient = ? ORDER BY file, line",
                                   (patient,))


def import_bulk(paths: Iterable[str | Path], vocab: Vocabulary, as_of: date | None = None) -> Iterator[BulkCase]:
    """One :class:`BulkCase` per Patient line of the NDJSON files, in their order.

    Raises CaseError before the first case for a missing path, no NDJSON file, or a line that
    is not a JSON resource. Resources of other types, and resources about no Patient of the
    export, are left out.
    """
    files = ndjson_files(paths)
    with tempfile.TemporaryDirectory(prefix="medmassage-bulk-") as folder:
        index = _Index(folder)
        try:
            for number, path in enumerate(files):
                for line, offset, raw in _lines(path):
                    kind, patient = _who(raw, f"{path}:{line}")
                    if patient is not None and kind in READ_TYPES:
                        index.add(kind, patient, number, line, offset)
            index.finish()
            handles = [open_regular(path)[0] for path in files]
            try:
                for patient, file, line in index.each_patient():
                    yield _case(patient, f"{files[file]}:{line}", index.lines_of(patient), files, handles, vocab,
                                as_of)
            finally:
                for handle in handles:
                    handle.close()
        finally:
            index.db.close()


def _case(patient: str, source: str, lines: Iterable[tuple[int, int, int]], files: list[Path], handles: list,
          vocab: Vocabulary, as_of: date | None) -> BulkCase:
    kept = Kept()
    try:
        for file, line, offset in lines:
            handle = handles[file]
            handle.seek(offset)
            try:
                found = project(loads(handle.readline(MAX_LINE_BYTES + 1)))
            except ProjectionError as exc:
                return BulkCase(source, patient, None, None,
                                (Problem(f"{files[file]}:{line}", exc.path, "not_a_resource",
                                         f"not a valid FHIR R4 resource: {exc.message}", exc.value),))
            except (ValueError, RecursionError) as exc:  # the file changed since it was indexed
                return BulkCase(source, patient, None, None,
                                (Problem(f"{files[file]}:{line}", "", "invalid_json", f"not NDJSON: {exc}"),))
            if found is not None:
                try:
                    kept.add(found)
                except TooManyResources as exc:
                    return BulkCase(source, patient, None, None,
                                    (Problem(f"{files[file]}:{line}", "", "too_many", str(exc)),))
        imported, day = case_from_resources(kept.resources(), vocab, as_of, source)
    except CaseError as exc:
        return BulkCase(source, patient, None, None, tuple(exc.problems))
    return BulkCase(source, patient, imported, day)
