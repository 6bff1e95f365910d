"""The ``medmassage`` command line.

Each command parses its options, makes one library call and maps errors to exit codes:
0 success, 1 a batch expectation failed, 2 invalid input (the case, the knowledge base
or an option). Errors go to stderr, one line per problem, never with a traceback.
"""

from __future__ import annotations

import functools
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from ..errors import CaseError, MedMassageError, RuleDefinitionError, printable

EXIT_FAILED = 1
EXIT_INVALID = 2
EXIT_INTERRUPTED = 130  # 128 + SIGINT, as a shell reports a command stopped by Ctrl-C

rules_option = click.option(
    "--rules", "rules_dir", type=click.Path(file_okay=False, path_type=Path), default=None,
    help="Knowledge-base folder to use instead of the shipped one (vocabulary.yaml and rule files).")


def _fail(lines: list[str] | tuple[str, ...]) -> None:
    for line in lines:
        click.echo(f"error: {printable(line, one_line=True)}", err=True)
    sys.exit(EXIT_INVALID)


def handles_errors(command: Callable[..., Any]) -> Callable[..., Any]:
    """Map the package's errors to exit code 2 with one stderr line per problem."""

    @functools.wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return command(*args, **kwargs)
        except CaseError as exc:
            _fail([str(p) for p in exc.problems])
        except RuleDefinitionError as exc:
            _fail([f"knowledge base: {p}" for p in exc.problems])
        except MedMassageError as exc:
            _fail([str(exc)])
        except OSError as exc:  # stdout or stderr gone (a closed pipe, a full disk)
            _fail([f"{exc.filename or 'output'}: cannot write: {exc.strerror or exc}"])
    return wrapper


FORMAT_OF_SUFFIX = {".txt": "text", ".json": "json", ".html": "html", ".htm": "html", ".md": "markdown",
                    ".markdown": "markdown"}


def _emit(text: str, output: Path | None = None, *, terminal_safe: bool = True) -> None:
    """Print ``text`` (or write it to ``output``; ``-`` is stdout) so that it cannot garble a terminal.

    ``terminal_safe`` escapes control characters (escape sequences in a case id); a lone
    surrogate (an id read from a file name that is not UTF-8) is always written as its escape.
    """
    if terminal_safe:
        text = printable(text)
    text = text.encode("utf-8", "backslashreplace").decode("utf-8")
    if output is None or str(output) == "-":
        click.echo(text)
    else:
        _write(output, text)


def _kb(rules_dir: Path | None) -> Any:
    from ..kb.loading import load_knowledge_base
    return load_knowledge_base(rules_dir)


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(package_name="medmassage-rules")
def main() -> None:
    """Explainable medical massage plans from a physician's diagnosis.

    Give it a case file (YAML or JSON: the diagnosis, findings, history, medications and
    prescription of one patient) and it returns a plan: which modalities, which muscles
    and areas, what pressure and how many minutes - and why, rule by rule. A
    contraindication always beats a request.

    \b
    Examples:
      medmassage recommend facts/p01-cts-mild-right.yaml
      medmassage recommend facts/p05-fibromyalgia-warfarin.yaml --format json
      medmassage schema > case.schema.json

    Decision support for trained therapists; not a diagnosis.
    """


@main.command()
@click.argument("case", type=click.Path(dir_okay=False, path_type=Path, allow_dash=True))
@click.option("--format", "fmt", type=click.Choice(["text", "json", "html", "markdown"]), default=None,
              help="text for a therapist at a glance; json for the plan of contract §2; html for one "
                   "self-contained page with the reasoning drawn (for teaching; works offline, prints); "
                   "markdown for a handout: the case, the plan, why each modality and why not each blocked one. "
                   "[default: from --output's extension (.txt, .json, .html, .md), else text]")
@click.option("--output", "-o", type=click.Path(dir_okay=False, path_type=Path, allow_dash=True), default=None,
              help="Write the rendered plan to this file instead of stdout (never over the case file; "
                   "written whole or not at all).")
@click.option("--explain", is_flag=True,
              help="After the text plan, explain each recommended modality: the chain condition -> mechanism "
                   "-> benefit -> modality, with evidence grades, citations and the certainty arithmetic.")
@rules_option
@handles_errors
def recommend(case: Path, fmt: str | None, output: Path | None, explain: bool, rules_dir: Path | None) -> None:
    """Plan one session for CASE (a .yaml, .yml or .json case file; - reads YAML or JSON from stdin).

    The plan gives the status first (treat, treat with precautions, needs clearance,
    defer, refer, refer urgently), then the modalities with pressure and certainty, the
    targets by area and side, the session timeline, what is blocked and why, the
    clearances and referrals, and advisories. An `expect` block in the case is ignored.
    """
    from ..files.writing import check_outputs, identities
    from ..planning.planner import plan_case

    if fmt is None:
        fmt = FORMAT_OF_SUFFIX.get(output.suffix.lower(), "text") if output is not None else "text"
    if explain and fmt in ("json", "html"):
        raise click.UsageError("--explain goes with --format text (markdown always explains)")
    if output is not None and str(output) != "-":
        check_outputs({"--output": output}, identities([] if str(case) == "-" else [case]))
    kb = _kb(rules_dir)
    result = plan_case(_load_case(case, kb.vocabulary), kb)
    if fmt == "json":
        from ..render.json import render_json
        text = render_json(result)
    elif fmt == "markdown":
        from ..render.markdown import render_markdown  # explanations and graphs load only here
        text = render_markdown(result, kb)
    elif fmt == "html":
        from ..render.html import render_html
        text = render_html(result, kb)
    else:
        from ..render.text import render_text
        text = render_text(result, kb)
        if explain:
            from ..explain.why import explain_recommended
            from ..render.explain_text import render_explanation
            text += "".join("\n\n" + render_explanation(e, result.plan.case_id, str(case))
                            for e in explain_recommended(result, kb))
    _emit(text, output, terminal_safe=fmt in ("text", "markdown"))


def _load_case(case: Path, vocab: Any) -> Any:
    """The case from a file, or from stdin for ``-`` (YAML, or JSON when it starts with ``{``)."""
    from ..cases.loading import load_case, validate_case

    if str(case) != "-":
        return load_case(case, vocab)
    from ..errors import Problem
    from ..files.reading import MAX_CASE_BYTES, parse_document

    data = sys.stdin.buffer.read(MAX_CASE_BYTES + 1)
    if len(data) > MAX_CASE_BYTES:
        raise CaseError([Problem("<stdin>", "", "too_large",
                                 f"input is larger than {MAX_CASE_BYTES // 1024} KiB; refused")])
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise CaseError([Problem("<stdin>", "", "not_utf8", f"input is not UTF-8 text (byte {exc.start})")]) from None
    suffix = ".json" if text.lstrip().startswith("{") else ".yaml"
    return validate_case(parse_document(text, "<stdin>", suffix), "<stdin>", vocab)


def _ask(prompt: str, err: bool = False) -> str:
    """One answer of a dialogue from the terminal (Enter gives an empty answer).

    The end of the input raises EOFError, which the dialogues end on cleanly; ``err`` puts
    the prompt on stderr, so that stdout carries only the command's result.
    """
    click.echo(f"{prompt}: ", nl=False, err=err)
    line = sys.stdin.readline()
    if not line:
        click.echo("", err=err)
        raise EOFError
    return line.rstrip("\r\n")


@main.command()
@click.argument("case", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--step", is_flag=True, help="Wait for Enter between firings (q stops): for the classroom.")
@click.option("--quiz", is_flag=True,
              help="Predict each modality proposal from its facts before it is revealed; a score at the end.")
@rules_option
@handles_errors
def trace(case: Path, step: bool, quiz: bool, rules_dir: Path | None) -> None:
    """Show the rule firings for CASE in firing order, in plain clinical words.

    Each firing names the rule and its description, its evidence grade and citation, the
    case facts that activated it ("a diagnosis of carpal tunnel syndrome (right, chronic)")
    and what it concluded ("proposes Myofascial release (first line, certainty 0.80)",
    "blocks Deep tissue massage", "caps pressure at light on the lower leg").

    \b
    Examples:
      medmassage trace facts/p05-fibromyalgia-warfarin.yaml
      medmassage trace facts/p01-cts-mild-right.yaml --step --quiz
    """
    from ..cases.loading import load_case
    from ..planning.planner import plan_case
    from ..teach.trace import TraceSession

    kb = _kb(rules_dir)
    result = plan_case(load_case(case, kb.vocabulary), kb)
    TraceSession(result, kb, ask=_ask, say=click.echo, step=step, quiz=quiz).run()


@main.command()
@click.option("--output", "-o", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Write the case file (YAML) here instead of printing it on stdout.")
@click.option("--force", is_flag=True, help="Overwrite the --output file if it exists.")
@rules_option
@handles_errors
def consult(output: Path | None, force: bool, rules_dir: Path | None) -> None:
    """Build a case by answering only what the knowledge base needs, then plan it.

    Asks the case id, the diagnoses (a condition or an ICD-10-CM code, with the side, acuity
    or area their rules read), then, red flags first, the findings (palpation included),
    history, measurements and medications that a rule still open tests - a list at a time,
    "any of these?" - the clearances a firing rule requires, and the prescription (requested
    and excluded modalities, focus areas, session length). Answer with a menu number or an
    id; `why` names the rules waiting for the answer; `back` revises the last answer.

    The questions and the plan go to stderr, the case file to stdout (or to --output), so
    `medmassage consult > case.yaml` writes a valid case file.

    \b
    Example:
      medmassage consult --output case.yaml
    """
    from ..render.text import render_text
    from ..teach.consult import consult as run_consultation

    if output is not None and output.exists() and not force:
        raise MedMassageError(f"{output}: exists; give --force to overwrite it")
    kb = _kb(rules_dir)
    try:
        done = run_consultation(kb, ask=functools.partial(_ask, err=True), say=lambda text: click.echo(text, err=True))
    except EOFError:
        raise MedMassageError("the input ended before the consultation was complete: no case written") from None
    if output is None:
        click.echo(done.yaml, nl=False)
    else:
        _write(output, done.yaml)
        click.echo(f"Case written to {output}", err=True)
    click.echo(render_text(done.result, kb), err=True)


def _write(path: Path, text: str) -> None:
    """Write a whole file: under a temporary name, renamed into place (the earlier file survives a failure)."""
    from ..files.writing import write_output

    if str(path) == "-":
        click.echo(text, nl=not text.endswith("\n"))
        return
    write_output(path, text if text.endswith("\n") else text + "\n")


@main.command()
@rules_option
@handles_errors
def schema(rules_dir: Path | None) -> None:
    """Print the JSON Schema of case files (generated from the validating models)."""
    from ..cases.schema import case_schema

    click.echo(json.dumps(case_schema(_kb(rules_dir).vocabulary), indent=2))


class _Progress:
    """The batch's terminal side: a progress bar on stderr (a terminal only) and each invalid case's problems."""

    def __init__(self) -> None:
        self.tty = sys.stderr.isatty()
        self.bar: Any = None

    def start(self, total: int) -> None:
        self.bar = click.progressbar(length=total, label="cases", file=sys.stderr, show_pos=True, show_eta=True)
        self.bar.__enter__()

    def step(self, outcome: Any) -> None:
        for problem in outcome.problems:
            click.echo(f"error: {printable(problem, one_line=True)}", err=True)
        if self.bar is not None:
            self.bar.update(1)

    def close(self) -> None:
        if self.bar is not None:
            bar, self.bar = self.bar, None
            bar.__exit__(None, None, None)


@main.command()
@click.argument("paths", metavar="PATH...", nargs=-1, required=True,
                type=click.Path(exists=True, path_type=Path))
@click.option("--jobs", "-j", type=click.IntRange(min=1), default=1, show_default=True,
              help="Worker processes (each builds its engine once; at most 4 per CPU). Any N gives the same "
                   "rows in the same order.")
@click.option("--report", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Write one JSON Lines row per case (contract §4), in input order, as the cases finish "
                   "(into a temporary file beside it, renamed into place when the batch is complete).")
@click.option("--junit", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Write JUnit XML for CI: a testcase per case, failing expectations as failures, "
                   "invalid cases as errors, cases without expect as skipped.")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True,
              help="The summary on stdout: a table, or one JSON object.")
@click.option("--baseline", type=click.Path(exists=True, dir_okay=False, path_type=Path), default=None,
              help="An earlier --report file: list the cases whose status, modalities, targets or minutes "
                   "changed, and the cases added or removed.")
@rules_option
@handles_errors
def batch(paths: tuple[Path, ...], jobs: int, report: Path | None, junit: Path | None, fmt: str,
          baseline: Path | None, rules_dir: Path | None) -> None:
    """Run many cases and check their `expect` blocks (contract §3).

    PATH is a case file (.yaml, .yml, .json), a JSON Lines file (.jsonl, one case per line)
    or a folder, searched recursively in sorted order. Every case gets a row; a bad case
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
    """
    from ..batch.runner import BatchInterrupted, max_jobs, run_batch
    from ..batch.summary import format_summary, summary_json

    if jobs > max_jobs():
        click.echo(f"note: --jobs {jobs} is more than 4 workers per CPU; using {max_jobs()}", err=True)
    kb = _kb(rules_dir)
    progress = _Progress()
    try:
        summary = run_batch(paths, kb, jobs=jobs, report=report, junit=junit, baseline=baseline,
                            on_start=progress.start if progress.tty else None, on_case=progress.step)
    except BatchInterrupted as stop:
        progress.close()
        _emit(summary_json(stop.summary) if fmt == "json" else format_summary(stop.summary))
        kept = "; rows so far in " + ", ".join(str(k) for k in stop.kept) if stop.kept else ""
        click.echo(printable(f"interrupted after {stop.summary.cases} cases{kept}; earlier outputs left as they were",
                             one_line=True), err=True)
        sys.exit(EXIT_INTERRUPTED)
    finally:
        progress.close()
    _emit(summary_json(summary) if fmt == "json" else format_summary(summary))
    sys.exit(0 if summary.ok else EXIT_FAILED)


@main.command()
@click.argument("case", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--why", "why_id", metavar="ID", default=None,
              help="A modality, target or area id, a status, or 'status' / 'minutes': why the plan holds it.")
@click.option("--why-not", "why_not_id", metavar="ID", default=None,
              help="A modality, target or area id: what blocked, capped or left it out, or which rules could "
                   "have proposed it and what this case lacks for them.")
@click.option("--format", "fmt", type=click.Choice(["text", "markdown"]), default="text", show_default=True,
              help="text for the terminal; markdown for a handout.")
@rules_option
@handles_errors
def explain(case: Path, why_id: str | None, why_not_id: str | None, fmt: str, rules_dir: Path | None) -> None:
    """Explain one item of the plan for CASE: --why ID or --why-not ID (one of them).

    Why: the chains case fact -> mechanism -> benefit -> item, each rule with its
    description, evidence grade (H, M, L) and full citation, and the certainty arithmetic
    (rule factor x premise; several rules combined as x + y - x*y). Why not: the rule and
    the case fact that blocked it, the pressure cap that priced it out, time, or - when no
    rule proposed it - the rules that could, and what the case lacks for them. An id not
    in the vocabulary exits 2 with the nearest ids.

    \b
    Examples:
      medmassage explain facts/p01-cts-mild-right.yaml --why myofascial_release
      medmassage explain facts/p05-fibromyalgia-warfarin.yaml --why-not deep_tissue
      medmassage explain facts/p07-ankle-sprain-acute.yaml --why status
    """
    if (why_id is None) == (why_not_id is None):
        raise click.UsageError("give exactly one of --why ID or --why-not ID")
    from ..cases.loading import load_case
    from ..explain.why import why, why_not
    from ..planning.planner import plan_case
    from ..render.explain_text import render_explanation, render_explanation_markdown

    kb = _kb(rules_dir)
    result = plan_case(load_case(case, kb.vocabulary), kb)
    answer = why(result, kb, why_id) if why_id is not None else why_not(result, kb, str(why_not_id))
    render = render_explanation_markdown if fmt == "markdown" else render_explanation
    _emit(render(answer, result.plan.case_id, str(case)))


@main.group(name="import")
def import_group() -> None:
    """Turn a record from another system into a case file (FHIR R4 bundles)."""


@import_group.command(name="fhir")
@click.argument("bundle", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--output", "-o", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Write the case file (YAML) here instead of printing it.")
@click.option("--as-of", "as_of", type=click.DateTime(formats=["%Y-%m-%d"]), default=None,
              help="The day the case describes (age, active problems, latest measurements); by default the "
                   "start of the bundle's latest Encounter.")
@rules_option
@handles_errors
def import_fhir(bundle: Path, output: Path | None, as_of: Any, rules_dir: Path | None) -> None:
    """Build a case file from a FHIR R4 patient BUNDLE (JSON).

    The Patient gives the id and age; active Conditions (ICD-10-CM, or SNOMED CT through a
    crosswalk) the diagnoses and history; active MedicationStatements and MedicationRequests
    (ATC, a known drug name, or the text) the medications; Observations by LOINC the latest
    platelet count, temperature and blood pressure; ServiceRequests their reasons and notes.
    What could not be mapped is listed on stderr, one line each. Needs the optional extra:
    pip install 'medmassage-rules[fhir]'.

    \b
    Example:
      medmassage import fhir patient-bundle.json --output case.yaml
    """
    from ..cases.loading import validate_case
    from ..intake.fhir import import_bundle

    kb = _kb(rules_dir)
    imported, day = import_bundle(bundle, kb.vocabulary, as_of.date() if as_of is not None else None)
    for line in imported.unmapped:
        click.echo(f"not mapped: {line}", err=True)
    validate_case(imported.case, str(bundle), kb.vocabulary)  # what is written is a valid case
    text = imported.yaml(bundle.name, day)
    if output is None:
        click.echo(text, nl=False)
    else:
        _write(output, text)


@main.group(name="kb")
def kb_group() -> None:
    """Verify the knowledge base (lint) and export its graph (graph).

    Both take --rules DIR, so an author can check an edited copy of rules/ before
    shipping it: medmassage kb lint --rules my-rules.
    """


@kb_group.command()
@rules_option
def lint(rules_dir: Path | None) -> None:
    """Verify the knowledge base, in the spirit of the Drools Verifier.

    Reports, one line each with the file and rule id: unknown ids, duplicate rule ids,
    rules without an evidence grade or citation (or with an unknown citation key), rules
    that can never fire (a condition nothing satisfies, contradictory conditions, a
    pattern negated by another, a rule gated by the clearance it needs), redundant rules,
    conflicts (a proposal or target that a block firing whenever it does always removes)
    and gaps (a condition with no path to a modality; a term no rule uses, unless listed
    under lint: {unused_ok: ...}).

    \b
    Exit codes: 0 no errors (warnings are printed); 1 errors found; 2 no such folder.
    """
    from ..lint.linter import lint_knowledge_base, lint_lines

    if rules_dir is not None and not rules_dir.is_dir():
        _fail([f"{rules_dir}: no such knowledge-base folder"])
    report = lint_knowledge_base(rules_dir)
    for line in lint_lines(report):
        click.echo(line)
    sys.exit(report.exit_code)


@kb_group.command()
@click.option("--format", "fmt", type=click.Choice(["graphml", "gexf", "json", "dot"]), default="graphml",
              show_default=True, help="GraphML or GEXF (Gephi, yEd, Cytoscape), node-link JSON, or Graphviz DOT.")
@click.option("--output", "-o", type=click.Path(dir_okay=False, path_type=Path, allow_dash=True), default=None,
              help="Write the graph to this file instead of stdout.")
@rules_option
@handles_errors
def graph(fmt: str, output: Path | None, rules_dir: Path | None) -> None:
    """Export the knowledge graph: conditions, findings, history, medication classes,
    mechanisms, benefits, modalities, areas, targets, clearances and rules as nodes
    (ids such as modality:swedish, with label and kind); typed edges (triggers, indicates,
    serves, served_by, proposes, targets, blocks, caps, requires, lifts, ...) carrying the
    rule id, evidence grade and citation.

    \b
    Examples:
      medmassage kb graph --format graphml --output kb.graphml
      medmassage kb graph --format dot | dot -Tsvg > kb.svg
    """
    from ..render.graph_formats import export_graph

    text = export_graph(_kb(rules_dir).graph, fmt)
    if output is None:
        click.echo(text, nl=False)
    else:
        _write(output, text)


if __name__ == "__main__":  # pragma: no cover
    main()
