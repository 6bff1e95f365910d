"""What the commands share: the exit codes, the ``--rules`` option, and the terminal.

Results go to stdout (or to an ``--output`` file, written whole or not at all), notes and
questions to stderr; ``click.echo`` writes to the streams :func:`~medmassage_rules.cli.app.run`
was given.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING

import click

from ..errors import MedMassageError, printable
from ..files.writing import write_output

if TYPE_CHECKING:
    from ..kb.knowledge_base import KnowledgeBase

EXIT_OK = 0
EXIT_FAILED = 1       # a batch expectation failed, or kb lint found errors
EXIT_INVALID = 2      # invalid input: the case, the knowledge base or an option
EXIT_INTERRUPTED = 130  # 128 + SIGINT, as a shell reports a command stopped by Ctrl-C
ANSWER_BYTES = 4096   # characters of one dialogue answer read at a time



class OutputError(MedMassageError):
    """stdout, stderr or an output file could not be written (a closed pipe, a full disk); an
    error without a file name is one of the standard streams."""

    def __init__(self, error: OSError):
        self.error = error
        name = printable(str(error.filename), one_line=True) if error.filename is not None else "standard output"
        super().__init__(f"{name}: cannot write: {error.strerror or error}")


rules_option = click.option(
    "--rules", "rules_dir", type=click.Path(file_okay=False, path_type=Path), default=None,
    help="Knowledge-base folder to use instead of the shipped one (vocabulary.yaml and rule files).")


def knowledge_base(rules_dir: Path | None) -> KnowledgeBase:
    """The knowledge base of ``--rules`` (the shipped one when it is not given).

    Loaded when a command needs it, so that ``--help`` and ``--version`` answer at once. Every
    file of its folder is an input of the command: no output may replace one.
    """
    from ..files.guard import note_folder
    from ..kb.loading import default_rules_dir, load_knowledge_base
    note_folder(rules_dir if rules_dir is not None else default_rules_dir())
    return load_knowledge_base(rules_dir)


def emit(text: str, output: Path | None = None, *, terminal_safe: bool = True) -> None:
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
        write(output, text)


def write(path: Path, text: str) -> None:
    """Write a whole file: under a temporary name, renamed into place (the earlier file survives a failure).

    ``-`` is stdout.
    """
    if str(path) == "-":
        click.echo(text, nl=not text.endswith("\n"))
        return
    write_output(path, text if text.endswith("\n") else text + "\n")


def ask(prompt: str, err: bool = False) -> str:
    """One answer of a dialogue from the terminal (Enter gives an empty answer).

    The end of the input, or a closed terminal, raises EOFError, which the dialogues end on
    cleanly; a line longer than ANSWER_BYTES characters is cut there (the dialogue refuses it as
    too long). ``err`` puts the prompt on stderr, so that stdout carries only the command's result.
    """
    click.echo(f"{prompt}: ", nl=False, err=err)
    try:
        line = sys.stdin.readline(ANSWER_BYTES)
        rest = line
        while rest and not rest.endswith("\n"):  # an overlong line: the rest is read and dropped
            rest = sys.stdin.readline(ANSWER_BYTES)
    except OSError:  # a closed terminal (EIO): the input has ended
        line = ""
    if not line:
        click.echo("", err=err)
        raise EOFError
    return line.rstrip("\r\n")


def say_on_stderr(text: str) -> None:
    """One message of a dialogue whose stdout carries its result."""
    click.echo(text, err=True)
