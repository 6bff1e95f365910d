"""The commands about one case: recommend (the plan), explain (why, why not), trace and consult.

Each parses its options, makes one library call and prints; the library's errors reach
:func:`~medmassage_rules.cli.app.run`, which maps them to exit codes.
"""

from __future__ import annotations

import functools
import shutil
import sys
from pathlib import Path
from typing import Any

import click

from ..errors import MedMassageError, printable
from ..files.writing import OutputFile
from ..teach.dialogue import AnswerRepeated
from .console import OutputError, ask, emit, knowledge_base, rules_option, say_on_stderr


@click.command()
@click.argument("case", type=click.Path(dir_okay=False, path_type=Path, allow_dash=True))
@click.option("--format", "fmt", type=click.Choice(["text", "json", "html", "markdown", "soap", "fhir"]), default=None,
              help="text for a therapist at a glance; json for the plan of contract §2; html for one "
                   "self-contained page with the reasoning drawn (for teaching; works offline, prints); "
                   "markdown for a handout: the case, the plan, why each modality and why not each blocked one; "
                   "soap for a SOAP-note draft of the visit (S, O, A, P) to edit and file; "
                   "fhir for a FHIR R4 Bundle (ServiceRequests, DetectedIssues, Provenance). "
                   "[default: from --output's extension (.txt, .json, .html, .md), else text]")
@click.option("--output", "-o", type=click.Path(dir_okay=False, path_type=Path, allow_dash=True), default=None,
              help="Write the rendered plan to this file instead of stdout (never over the case file; "
                   "written whole or not at all).")
@click.option("--explain", is_flag=True,
              help="After the text plan, explain each recommended modality: the chain condition -> mechanism "
                   "-> benefit -> modality, with evidence grades, citations and the certainty arithmetic.")
@click.option("--brief", is_flag=True,
              help="Only 'today' in at most ten lines: the status, modalities with pressure, areas by side, "
                   "minutes, what not to do, referrals and clearances (text format).")
@rules_option
def recommend(case: Path, fmt: str | None, output: Path | None, explain: bool, brief: bool,
              rules_dir: Path | None) -> None:
    """Plan one session for CASE (a .yaml, .yml or .json case file; - reads YAML or JSON from stdin).

    The plan gives the status first (treat, treat with precautions, needs clearance,
    defer, refer, refer urgently), then the modalities with pressure and certainty, the
    targets by area and side, the session timeline, what is blocked and why, the
    clearances and referrals, and advisories. An `expect` block in the case is ignored.
    Text is wrapped to the terminal's width (100 columns when not printed on a terminal).
    """
    from ..cases.streams import STDIN, load_case_or_stream
    from ..files.writing import check_outputs, identities
    from ..planning.pipeline import plan_case
    from ..render.formats import TERMINAL_FORMATS, format_of_output, render_plan

    if fmt is None:
        fmt = format_of_output(output)
    if explain and fmt in ("json", "html", "soap", "fhir"):
        raise click.UsageError("--explain goes with --format text (markdown always explains)")
    if brief and (fmt != "text" or explain):
        raise click.UsageError("--brief goes with --format text, without --explain")
    if output is not None and str(output) != "-":
        check_outputs({"--output": output}, identities([] if str(case) == STDIN else [case]))
    kb = knowledge_base(rules_dir)
    result = plan_case(load_case_or_stream(case, kb.vocabulary, sys.stdin), kb)
    width = None
    if fmt == "text":
        to_terminal = (output is None or str(output) == "-") and sys.stdout.isatty()
        width = shutil.get_terminal_size((100, 24)).columns if to_terminal else 100
    emit(render_plan(result, kb, fmt, explain=explain, source=str(case), brief=brief, width=width), output,
         terminal_safe=fmt in TERMINAL_FORMATS)


@click.command()
@click.argument("case", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--why", "why_id", metavar="ID", default=None,
              help="A modality, target or area id, a status, or 'status' / 'minutes': why the plan holds it.")
@click.option("--why-not", "why_not_id", metavar="ID", default=None,
              help="A modality, target or area id: what blocked, capped or left it out, or which rules could "
                   "have proposed it and what this case lacks for them.")
@click.option("--format", "fmt", type=click.Choice(["text", "markdown"]), default="text", show_default=True,
              help="text for the terminal; markdown for a handout.")
@rules_option
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
    from ..explain import why, why_not
    from ..planning.pipeline import plan_case
    from ..render.explain_text import render_explanation, render_explanation_markdown

    kb = knowledge_base(rules_dir)
    result = plan_case(load_case(case, kb.vocabulary), kb)
    answer = why(result, kb, why_id) if why_id is not None else why_not(result, kb, str(why_not_id))
    render = render_explanation_markdown if fmt == "markdown" else render_explanation
    emit(render(answer, result.plan.case_id, str(case)))


@click.command()
@click.argument("cases", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--step", is_flag=True,
              help="Wait for Enter between firings (? for help, why for the firing's reasons, q stops).")
@click.option("--quiz", is_flag=True,
              help="A quiz before the rules are revealed: what is blocked and by what, the pressure limit, "
                   "the status, and the modalities each set of facts proposes; every answer explained with "
                   "its rule and the case facts; a score per kind at the end.")
@click.option("--seed", type=int, default=None,
              help="Shuffle the order of the cases with this seed (the same seed, the same order).")
@rules_option
def trace(cases: tuple[Path, ...], step: bool, quiz: bool, seed: int | None, rules_dir: Path | None) -> None:
    """Show the rule firings for each CASE in firing order, in plain clinical words.

    Each firing names the rule and its description, its evidence grade and citation, the
    case facts that activated it ("a diagnosis of carpal tunnel syndrome (right, chronic)")
    and what it concluded ("proposes Myofascial release (first line)", "blocks Deep tissue
    massage", "caps pressure at light on the lower leg"). CASE is a case file, a JSON Lines
    file or a folder of cases: several make one lesson.

    \b
    Examples:
      medmassage trace facts/p05-fibromyalgia-warfarin.yaml
      medmassage trace facts/p01-cts-mild-right.yaml --step --quiz
      medmassage trace --quiz facts/p01-cts-mild-right.yaml facts/p05-fibromyalgia-warfarin.yaml --seed 7
    """
    from ..planning.pipeline import plan_case
    from ..teach.trace import lesson_cases
    from ..teach.trace_session import Lesson

    kb = knowledge_base(rules_dir)
    results = [plan_case(case, kb) for case in lesson_cases(cases, kb.vocabulary)]
    Lesson(results, kb, ask=ask, say=click.echo, step=step, quiz=quiz, seed=seed).run()


@click.command()
@click.option("--output", "-o", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Write the case file (YAML) here instead of printing it on stdout (checked before the "
                   "first question).")
@click.option("--force", is_flag=True, help="Overwrite the --output file if it exists.")
@click.option("--resume", type=click.Path(dir_okay=False, path_type=Path), default=None, metavar="FILE",
              help="Continue an interview saved as a partial file (FILE.partial.yaml) when it stopped.")
@rules_option
def consult(output: Path | None, force: bool, resume: Path | None, rules_dir: Path | None) -> None:
    """Build a case by answering only what the knowledge base needs, then plan it.

    Asks the case id, the diagnoses (a condition or an ICD-10-CM code, with the side, acuity
    or area their rules read), then, red flags first, the findings (palpation included),
    history, measurements and medications that a rule still open tests - a list at a time,
    "any of these?" - the clearances a firing rule requires, and the prescription (requested
    and excluded modalities, focus areas, session length). Answer with a menu number or an
    id; `why` names the rules waiting for the answer; `back` revises the last answer.

    The questions and the plan go to stderr, the case file to stdout (or to --output), so
    `medmassage consult > case.yaml` writes a valid case file. When the interview stops
    before the end - the input ends (exit 2), Ctrl-C (130), a signal, or the same answer
    refused three times in a row (exit 2) - the answers so far go to a new file,
    OUTPUT.partial.yaml (consult.partial.yaml without --output), named on stderr;
    `--resume` that file continues the interview.

    \b
    Examples:
      medmassage consult --output case.yaml
      medmassage consult --resume case.yaml.partial.yaml --output case.yaml
    """
    from ..files.reading import parse_document, read_text
    from ..files.writing import check_outputs, identities
    from ..render.text import render_text
    from ..teach.consult import ConsultationDialogue, partial_answers

    out: OutputFile | None = None
    if output is not None:
        if output.exists() and not force:
            raise MedMassageError(f"{printable(str(output), one_line=True)}: exists; give --force to overwrite it")
        check_outputs({"--output": output}, identities([resume] if resume is not None else []))
    answers = partial_answers(parse_document(read_text(resume), str(resume), ".yaml"), str(resume)) \
        if resume is not None else None
    kb = knowledge_base(rules_dir)
    dialogue = ConsultationDialogue(kb, ask=functools.partial(ask, err=True), say=say_on_stderr)
    if output is not None:
        out = OutputFile(output)
        handle = out.open()  # an output that cannot be written fails here, before the first question
    try:
        if answers is not None:
            dialogue.resume(answers)
        done = dialogue.run()
    except (EOFError, AnswerRepeated, KeyboardInterrupt) as stop:
        where = _keep_partial(dialogue.partial(), out, output)
        if isinstance(stop, KeyboardInterrupt):
            click.echo(printable(f"consultation stopped: {where}", one_line=True), err=True)
            raise
        why = "the input ended before the consultation was complete" if isinstance(stop, EOFError) else str(stop)
        raise MedMassageError(f"{why}; {where}") from None
    except BaseException:
        if out is not None:
            out.discard()
        raise
    try:  # the case cannot be written (a closed stdout, a full disk): the answers are kept all the same
        if out is None:
            click.echo(done.yaml, nl=False)
        else:
            try:
                handle.write(done.yaml)
            except OSError as exc:
                raise out._fail(exc) from None
            out.commit()
    except (OSError, MedMassageError) as exc:
        problem = str(OutputError(exc)) if isinstance(exc, OSError) else str(exc)
        raise MedMassageError(f"{problem}; {_keep_partial(dialogue.partial(), out, output)}") from None
    if out is not None:
        click.echo(f"Case written to {output}", err=True)
    click.echo(render_text(done.result, kb), err=True)


def _keep_partial(partial: dict[str, Any], out: OutputFile | None, output: Path | None) -> str:
    """Save an interview's answers under a name no file has (OUTPUT.partial.yaml, else
    consult.partial.yaml here; .1, .2 ... when taken) and say where they are."""
    from ..teach.consult import PARTIAL_KEY

    if out is not None:
        out.discard()  # the case file's temporary file: the partial file takes a name of its own
    if not partial[PARTIAL_KEY]["answers"]:
        return "no answer was given: nothing saved"
    kept = _new_partial_file(partial, output)
    if kept is None:
        return "the answers so far could not be saved"
    return f"the answers so far are in {kept}; `medmassage consult --resume {kept}` continues"


def _new_partial_file(partial: dict[str, Any], output: Path | None) -> Path | None:
    """The partial file written beside ``output`` (else here); None when neither folder can be written."""
    from ..teach.consult import partial_yaml

    for base in ([output] if output is not None else []) + [Path("consult")]:
        keeper = OutputFile(base)
        try:
            handle = keeper.open()
            handle.write(partial_yaml(partial))
        except (MedMassageError, OSError):
            keeper.discard()
            continue
        kept = keeper.keep_as(".partial.yaml")
        if kept is not None:
            return kept
    return None
