"""The ``medmassage`` command line: the root group, and :func:`run`, where every error becomes an exit code.

The commands parse their options, make one library call and print; the library raises
typed errors, and :func:`run` maps them in this one place: 0 success, 1 a batch expectation
failed (or ``kb lint`` found errors), 2 invalid input (the case, the knowledge base, an
option, an output that cannot be written), 128 + the signal number for a command stopped by a
signal (130 Ctrl-C, 143 SIGTERM, 129 SIGHUP). Errors go to stderr, one ``error:`` line per problem,
never with a traceback.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any, TextIO

import click

from ..errors import CaseError, MedMassageError, RuleDefinitionError, printable
from .batch_command import batch
from .console import EXIT_INVALID, EXIT_OK, OutputError
from .kb_commands import import_group, kb_group, schema
from .plan_commands import consult, explain, recommend, trace
from .serve_command import serve
from .signals import exit_code_for, stopping_signals


class MedMassageGroup(click.Group):
    """The root group. Run standalone - as the console script, or by a test runner - it goes
    through :func:`run`, so that every way in maps errors to exit codes alike."""

    def main(self, args: Sequence[str] | None = None, prog_name: str | None = None,  # type: ignore[override]
             complete_var: str | None = None, standalone_mode: bool = True, windows_expand_args: bool = True,
             **extra: Any) -> Any:
        """``main()``: ``sys.exit(run(sys.argv[1:]))``; with ``standalone_mode=False``, click's own main."""
        if not standalone_mode:
            return super().main(args, prog_name, complete_var, standalone_mode=False,
                                windows_expand_args=windows_expand_args, **extra)
        sys.exit(run(sys.argv[1:] if args is None else args, prog_name=prog_name, complete_var=complete_var,
                     **extra))

    def make_context(self, info_name: str | None, args: list[str], parent: click.Context | None = None,
                     **extra: Any) -> click.Context:
        """Parse the command line; ``--help`` or ``--version`` into a closed pipe is an :class:`OutputError`
        (click would exit 1 without a word)."""
        try:
            return super().make_context(info_name, args, parent, **extra)
        except OSError as exc:
            raise OutputError(exc) from exc

    def invoke(self, ctx: click.Context) -> Any:
        """Run the command; an output that cannot be written is an :class:`OutputError` (click would
        end the process on a closed pipe)."""
        try:
            return super().invoke(ctx)
        except OSError as exc:
            raise OutputError(exc) from exc


@click.group(cls=MedMassageGroup, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
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


for _command in (recommend, explain, trace, consult, batch, schema, import_group, kb_group, serve):
    main.add_command(_command)


def run(argv: Sequence[str], stdin: TextIO | None = None, stdout: TextIO | None = None,
        stderr: TextIO | None = None, *, prog_name: str | None = "medmassage", complete_var: str | None = None,
        **context: Any) -> int:
    """Run the command line ``argv`` (without the program name) and return its exit code.

    ``stdin``, ``stdout`` and ``stderr`` (text streams) stand in for the process's while it
    runs; left out, the process's are used. ``prog_name`` is the name usage lines show
    (None: the name the process was started by); ``context`` goes to the click context.
    """
    from ..files.guard import forget_inputs
    forget_inputs()  # each command line guards its own inputs
    with _streams(stdin, stdout, stderr), stopping_signals():
        return _exit_code(lambda: main.main(list(argv), prog_name, complete_var, standalone_mode=False, **context))


@contextmanager
def _streams(stdin: TextIO | None, stdout: TextIO | None, stderr: TextIO | None) -> Iterator[None]:
    saved = sys.stdin, sys.stdout, sys.stderr
    sys.stdin, sys.stdout, sys.stderr = (saved[0] if stdin is None else stdin, saved[1] if stdout is None else stdout,
                                         saved[2] if stderr is None else stderr)
    strict = [s for s in (sys.stdout, sys.stderr)
              if getattr(s, "errors", None) == "strict" and hasattr(s, "reconfigure")]
    for stream in strict:  # a terminal that cannot show a character gets its escape (\u2192), not a crash
        stream.reconfigure(errors="backslashreplace")
    try:
        yield
    finally:
        for stream in strict:
            stream.reconfigure(errors="strict")
        sys.stdin, sys.stdout, sys.stderr = saved


def _exit_code(invoke: Callable[[], Any]) -> int:
    """Call ``invoke`` (a command line run with click's standalone mode off) and map its result or
    error to an exit code, saying on stderr what went wrong."""
    try:
        try:
            result = invoke()
        except click.exceptions.Exit as done:
            return done.exit_code
        except click.Abort as stop:  # Ctrl-C, a signal, or the end of the input where a command asked
            if isinstance(stop.__context__, EOFError):
                return _failed(["the input ended before the command was done"])
            click.echo("interrupted", err=True)
            return exit_code_for(stop.__context__)
        except KeyboardInterrupt as stop:
            click.echo("interrupted", err=True)
            return exit_code_for(stop)
        except click.ClickException as usage:  # a bad option or argument: usage, and what is wrong
            usage.show()
            return usage.exit_code
        except CaseError as exc:
            return _failed(str(p) for p in exc.problems)
        except RuleDefinitionError as exc:
            return _failed(f"knowledge base: {p}" for p in exc.problems)
        except MedMassageError as exc:
            return _other_error(exc)
    except KeyboardInterrupt as stop:  # Ctrl-C while an error was being said
        click.echo("", err=True)
        return exit_code_for(stop)
    return result if isinstance(result, int) else EXIT_OK


def _failed(lines: Iterable[str]) -> int:
    for line in lines:
        click.echo(f"error: {printable(line, one_line=True)}", err=True)
    return EXIT_INVALID


def _other_error(exc: MedMassageError) -> int:
    from ..batch.runner import BatchInterrupted  # not at the top: --help and --version need no batch machinery

    if isinstance(exc, BatchInterrupted):  # batch printed the summary so far; say where the rows are
        kept = "; rows so far in " + ", ".join(str(k) for k in exc.kept) if exc.kept else ""
        click.echo(printable(f"interrupted after {exc.summary.cases} cases{kept}; earlier outputs left as they were",
                             one_line=True), err=True)
        return exit_code_for(exc.__context__)
    return _failed([str(exc)])
