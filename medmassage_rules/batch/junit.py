"""A batch as JUnit XML, so that any CI system can show its results.

One ``<testsuite>`` holds one ``<testcase>`` per case (classname: the case's source file, see
:func:`classname`):
a ``<failure>`` lists the expectations that failed, an ``<error>`` says why the case is
invalid, and ``<skipped>`` marks a case without an ``expect`` block. The counts go in the
suite's attributes, which are only known at the end: test cases are streamed to a
temporary file as they finish (memory stays flat however many cases there are) and the
document is assembled when the batch ends.

A comparison with a baseline (``batch --baseline``) adds a second suite, ``medmassage
baseline``: its properties count the changed cases by kind of change (``changed.<kind>``) and
name the rules involved (``rule.<id>``); each changed case is a test case whose
``<system-out>`` lists its differences and rules, as the summary does. A change is not a
failure: the expectations decide that.
"""

from __future__ import annotations

import re
import shutil
import tempfile
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from contextlib import contextmanager
from typing import IO

from .baseline import BaselineDiff

SUITE_NAME = "medmassage batch"
BASELINE_SUITE = "medmassage baseline"
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def _xml(text: str) -> str:
    """Text that XML 1.0 can hold (a case id may contain control characters): others become U+FFFD."""
    return _NOT_XML.sub("\ufffd", text)


class JUnitWriter:
    """Collects test cases and writes the whole JUnit XML document to ``out`` on :meth:`finish`.

    ``out`` is a binary file (the batch gives the temporary file of an
    :class:`~medmassage_rules.files.writing.OutputFile`), ``name`` the file it becomes: a failure
    to write ``out`` or the temporary file of streamed test cases (a full disk) is an OSError
    naming it, as every other output error names its file. Use it as a context manager: leaving
    it drops the temporary file of streamed test cases.
    """

    def __init__(self, out: IO[bytes], name: str = "the JUnit file"):
        self.out = out
        self.name = name
        with self._named():
            self.body: IO[bytes] = tempfile.TemporaryFile()
        self.tests = self.failures = self.errors = self.skipped = 0

    @contextmanager
    def _named(self) -> Iterator[None]:
        """An OSError without a file name (a write to an open file) gets the JUnit file's name."""
        try:
            yield
        except OSError as exc:
            if exc.filename is not None:
                raise
            raise OSError(exc.errno, exc.strerror or str(exc), self.name) from None

    def add(self, name: str, classname: str, *, passed: bool | None, error: str | None,
            failures: tuple[str, ...] | list[str]) -> None:
        case = ET.Element("testcase", name=_xml(name), classname=_xml(classname))
        self.tests += 1
        if error is not None:
            self.errors += 1
            ET.SubElement(case, "error", message=_xml(error), type="invalid_case").text = _xml(error)
        elif passed is None:
            self.skipped += 1
            ET.SubElement(case, "skipped", message="no expect block")
        elif not passed:
            self.failures += 1
            node = ET.SubElement(case, "failure", message=_xml("; ".join(failures)), type="expectation")
            node.text = _xml("\n".join(failures))
        with self._named():
            self.body.write(ET.tostring(case, encoding="utf-8") + b"\n")

    def finish(self, seconds: float, baseline: BaselineDiff | None = None) -> None:
        """Write the whole document: the suite with its counts around the streamed test cases,
        and the baseline suite when the batch was compared with one."""
        suite = ET.Element("testsuite", name=SUITE_NAME, tests=str(self.tests), failures=str(self.failures),
                           errors=str(self.errors), skipped=str(self.skipped), time=f"{seconds:.3f}")
        suite.text = "\n"
        head, tail = ET.tostring(suite, encoding="unicode").rsplit("</testsuite>", 1)
        with self._named():
            self.out.write(b'<?xml version="1.0" encoding="utf-8"?>\n<testsuites>\n')
            self.out.write(head.encode("utf-8"))
            self.body.seek(0)
            shutil.copyfileobj(self.body, self.out)
            self.out.write(b"</testsuite>" + tail.encode("utf-8") + b"\n")
            if baseline is not None:
                self.out.write(ET.tostring(baseline_suite(baseline), encoding="utf-8") + b"\n")
            self.out.write(b"</testsuites>\n")
            self.out.flush()

    def __enter__(self) -> JUnitWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.body.close()


def baseline_suite(diff: BaselineDiff) -> ET.Element:
    """The comparison with a baseline as a JUnit suite (see the module doc)."""
    suite = ET.Element("testsuite", name=BASELINE_SUITE, tests=str(len(diff.changed)), failures="0",
                       errors="0", skipped="0")
    props = ET.SubElement(suite, "properties")
    counts = [("baseline", diff.baseline), ("compared", str(diff.compared)), ("changed", str(len(diff.changed))),
              ("added", str(len(diff.added))), ("removed", str(len(diff.removed)))]
    counts += [(f"changed.{kind}", str(n)) for kind, n in diff.kinds]
    counts += [(f"rule.{rule}", f"{how} in {n} changed case{'s' if n != 1 else ''}") for rule, how, n in diff.rules]
    counts += [(f"rule_without_plan_change.{rule}", f"{how} in {n} case{'s' if n != 1 else ''}")
               for rule, how, n in diff.quiet]
    for name, value in counts:
        ET.SubElement(props, "property", name=name, value=_xml(value))
    for change in diff.changed:
        case = ET.SubElement(suite, "testcase", name=_xml(change.case_id), classname=_xml(classname(change.source)))
        ET.SubElement(case, "system-out").text = _xml(str(change))
    for case_id in diff.added:
        ET.SubElement(props, "property", name="added", value=_xml(case_id))
    for case_id in diff.removed:
        ET.SubElement(props, "property", name="removed", value=_xml(case_id))
    return suite


def classname(source: str) -> str:
    """The JUnit classname of a case's source file, safe for CI tools that split it on dots.

    They read ``a.b.c`` as package ``a.b``, class ``c``: the folders become the package
    (joined by dots) and the file name, its own dots made underscores, the class - so
    ``facts/p01-cts.yaml`` is ``facts.p01-cts_yaml``. The ``:line`` of a JSON Lines row is dropped.
    """
    head, sep, tail = source.rpartition(":")
    path = head if sep and tail.isdigit() else source
    parts = [part.replace(".", "_") for part in path.replace("\\", "/").split("/") if part not in ("", ".")]
    return ".".join(parts) or "case"
