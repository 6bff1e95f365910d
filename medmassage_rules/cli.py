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

from .errors import CaseError, MedMassageError, RuleDefinitionError

EXIT_INVALID = 2

rules_option = click.option(
    "--rules", "rules_dir", type=click.Path(file_okay=False, path_type=Path), default=None,
    help="Knowledge-base folder to use instead of the shipped one (vocabulary.yaml and rule files).")


def _fail(lines: list[str] | tuple[str, ...]) -> None:
    for line in lines:
        click.echo(f"error: {line}", err=True)
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
    return wrapper


def _kb(rules_dir: Path | None) -> Any:
    from .knowledge import load_knowledge_base
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
@click.argument("case", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True,
              help="text for a therapist at a glance; json for the plan of contract §2.")
@rules_option
@handles_errors
def recommend(case: Path, fmt: str, rules_dir: Path | None) -> None:
    """Plan one session for CASE (a .yaml, .yml or .json case file).

    The plan gives the status first (treat, treat with precautions, needs clearance,
    defer, refer, refer urgently), then the modalities with pressure and certainty, the
    targets by area and side, the session timeline, what is blocked and why, the
    clearances and referrals, and advisories. An `expect` block in the case is ignored.
    """
    from .cases import load_case
    from .planner import plan_case

    kb = _kb(rules_dir)
    result = plan_case(load_case(case, kb.vocabulary), kb)
    if fmt == "json":
        from .render.json import render_json
        click.echo(render_json(result))
    else:
        from .render.text import render_text
        click.echo(render_text(result, kb))


@main.command()
@rules_option
@handles_errors
def schema(rules_dir: Path | None) -> None:
    """Print the JSON Schema of case files (generated from the validating models)."""
    from .cases import case_schema

    click.echo(json.dumps(case_schema(_kb(rules_dir).vocabulary), indent=2))


if __name__ == "__main__":  # pragma: no cover
    main()
