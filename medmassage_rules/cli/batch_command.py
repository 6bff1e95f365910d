"""The batch command: many cases, their expectations checked, a summary; and its progress on the terminal."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click

from ..errors import printable
from .console import EXIT_FAILED, EXIT_OK, emit, knowledge_base, rules_option


class Progress:
    """The batch's terminal side: a progress bar on stderr (a terminal only) and each invalid case's problems."""

    def __init__(self) -> None:
        self.tty = sys.stderr.isatty()
        self.bar: Any = None

    def start(self, total: int) -> None:
        self.bar = click.progressbar(length=total, label="cases", file=sys.stderr, show_pos=True, show_eta=True)
        self.bar.__enter__()

    def step(self, outcome: Any) -> None:
        for problem in outcome.problems:
            click.echo(f"error: {printable(str(problem), one_line=True)}", err=True)
        if self.bar is not None:
            self.bar.update(1)

    def close(self) -> None:
        if self.bar is not None:
            bar, self.bar = self.bar, None
            bar.__exit__(None, None, None)


@click.command()
@click.argument("paths", metavar="PATH...", nargs=-1, required=True,
                type=click.Path(exists=True, path_type=Path, allow_dash=True))
@click.option("--jobs", "-j", type=click.IntRange(min=1), default=1, show_default=True,
              help="Worker processes (each builds its engine once; at most 4 per CPU). Any N gives the same "
                   "rows in the same order.")
@click.option("--report", type=click.Path(dir_okay=False, path_type=Path, allow_dash=True), default=None,
              help="Write one JSON Lines row per case (contract §4), in input order, as the cases finish "
                   "(into a temporary file beside it, renamed into place when the batch is complete); "
                   "- writes the rows to stdout as they come, and the summary to stderr.")
@click.option("--junit", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Write JUnit XML for CI: a testcase per case, failing expectations as failures, "
                   "invalid cases as errors, cases without expect as skipped.")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True,
              help="The summary on stdout: a table, or one JSON object.")
@click.option("--baseline", type=click.Path(exists=True, dir_okay=False, path_type=Path), default=None,
              help="An earlier --report file: list the cases whose plan changed in any field (status, "
                   "modalities, targets and their sides, pressures, caps, blocks, clearances, referrals, "
                   "minutes) with the rules involved (fired, no longer fired, edited), the counts per kind "
                   "of change, and the cases added or removed.")
@rules_option
def batch(paths: tuple[Path, ...], jobs: int, report: Path | None, junit: Path | None, fmt: str,
          baseline: Path | None, rules_dir: Path | None) -> int:
    """Run many cases and check their `expect` blocks (contract §3).

    PATH is a case file (.yaml, .yml, .json), a JSON Lines file (.jsonl, one case per line),
    a folder, searched recursively in sorted order, or - for JSON Lines cases on stdin, read
    as they come (memory stays flat however many). Every case gets a row; a bad case
    (unreadable, invalid, or repeating an earlier case id) is an error row and the batch
    goes on. The summary gives the counts, the failing expectations by kind, and metrics
    over the cases with expectations: status agreement, per-modality precision and recall
    (include = expected positive, exclude = expected negative), minutes within range.

    \b
    Exit codes: 0 every expectation held (or none was stated);
                1 an expectation failed or a case was invalid;
                2 the invocation itself is invalid (no such PATH, no case
                  found, bad option, bad knowledge base, unreadable baseline,
                  an output that is an input or cannot be written);
                130 interrupted (Ctrl-C): the summary so far is printed, the
                  rows so far kept as REPORT.partial, earlier outputs untouched.

    \b
    Examples:
      medmassage batch facts
      medmassage batch facts cases.jsonl --jobs 2 --report report.jsonl --junit junit.xml
      medmassage batch facts --format json > summary.json
      medmassage batch facts --rules my-rules --baseline report.jsonl   # what did my rule edit change?
      medmassage import fhir-bulk export/ | medmassage batch - --report - > rows.jsonl
    """
    from ..batch.runner import BatchInterrupted, max_jobs, run_batch
    from ..batch.summary import format_summary, summary_json

    if jobs > max_jobs():
        click.echo(f"note: --jobs {jobs} is more than 4 workers per CPU; using {max_jobs()}", err=True)
    kb = knowledge_base(rules_dir)
    progress = Progress()
    rows_out = report is not None and str(report) == "-"  # the rows on stdout: the summary goes to stderr
    say = (lambda text: click.echo(printable(text), err=True)) if rows_out else emit
    try:
        summary = run_batch(paths, kb, jobs=jobs, report=None if rows_out else report, junit=junit,
                            baseline=baseline, on_start=progress.start if progress.tty else None,
                            on_case=progress.step, report_stream=sys.stdout if rows_out else None)
    except BatchInterrupted as stop:  # the summary so far; run() says where the rows are kept
        progress.close()
        say(summary_json(stop.summary) if fmt == "json" else format_summary(stop.summary))
        raise
    finally:
        progress.close()
    say(summary_json(summary) if fmt == "json" else format_summary(summary))
    return EXIT_OK if summary.ok else EXIT_FAILED
