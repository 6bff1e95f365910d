"""Regenerate the reference pages that must not drift: ``python docs/generate.py``.

* docs/cli.md   — every command's ``--help``, as click renders it;
* docs/rules.md — every rule of the shipped knowledge base: id, description, benefits,
  evidence grade and citation;
* docs/evidence.md — every rule's claim, grade and source with what the source found, the
  caveats (grade X) and the references.

tests/docs/test_docs.py fails when any page differs from what this script would write.
"""

from __future__ import annotations

import io
import os
import shlex
import sys
from pathlib import Path

import click

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from medmassage_rules.cli import main, run  # noqa: E402
from medmassage_rules.kb.loading import load_knowledge_base  # noqa: E402
from medmassage_rules.lint.evidence import conditions_of, misfits, population_words  # noqa: E402


def _commands(group: click.Group, prefix: list[str]) -> list[tuple[list[str], click.Command]]:
    out: list[tuple[list[str], click.Command]] = [(prefix, group)]
    ctx = click.Context(group, info_name=" ".join(prefix))
    for name in group.list_commands(ctx):
        command = group.get_command(ctx, name)
        if isinstance(command, click.Group):
            out += _commands(command, [*prefix, name])
        elif command is not None:
            out.append(([*prefix, name], command))
    return out


def cli_reference() -> str:
    parts = ["# Command-line reference", "",
             "Generated from `--help` by `python docs/generate.py`; do not edit by hand.", "",
             "From Python, `medmassage_rules.cli.run(argv, stdin=None, stdout=None, stderr=None)` runs a "
             "command line with the given text streams (the process's when left out) and returns its exit "
             "code: `run([\"recommend\", \"-\", \"--format\", \"json\"], stdin=io.StringIO(case_yaml), "
             "stdout=out)`.", ""]
    for path, command in _commands(main, ["medmassage"]):
        info = " ".join(path)
        settings = {**main.context_settings, "max_content_width": 100, "terminal_width": 100}
        parent = None
        for depth in range(1, len(path)):  # each context names one word: click joins them on the usage line
            parent = click.Context(main, info_name=path[depth - 1], parent=parent, **settings)
        ctx = click.Context(command, info_name=path[-1], parent=parent, **settings)
        parts += [f"## `{info}`", "", "```", command.get_help(ctx).rstrip(), "```", ""]
    return "\n".join(parts)


def rules_reference() -> str:
    kb = load_knowledge_base()
    v = kb.vocabulary
    parts = ["# Knowledge-base rules", "",
             "Generated from `rules/` by `python docs/generate.py`; do not edit by hand.",
             "Grades: H a guideline or systematic review supporting the claim for the population; M randomised "
             "trials or mixed reviews; L case series, expert opinion, textbooks, exam outlines. Claims graded X "
             "appear only as caveats (below); [evidence.md](evidence.md) says what each source found.", ""]
    current = None
    for rule in kb.rules:
        if rule.source != current:
            current = rule.source
            parts += [f"## {current}", "", "| rule | description | benefits | grade | citation |",
                      "| --- | --- | --- | --- | --- |"]
        benefits = ", ".join(v.benefits[b] for b in rule.benefits) or "—"
        parts.append(f"| `{rule.id}` | {rule.description} | {benefits} | {rule.grade} | {rule.citation} |")
        nxt = kb.rules.index(rule) + 1
        if nxt == len(kb.rules) or kb.rules[nxt].source != current:
            parts.append("")
    parts += ["## Caveats (grade X)", "", "| caveat | claim | citation |", "| --- | --- | --- |"]
    parts += [f"| `{c.id}` | {c.claim} | {c.citation} |" for c in kb.caveats]
    parts += ["", "## References", ""]
    parts += [f"- **{key}** {text}" for key, text in kb.references.items()]
    return "\n".join(parts) + "\n"


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


EVIDENCE_INTRO = """\
# Evidence: what each rule claims, and what its source found

Generated from `rules/` by `python docs/generate.py`; do not edit by hand. Every rule carries an
evidence grade and a citation key; explanations print both, with the full reference, at every step
(`medmassage explain CASE --why ID`).

| grade | meaning |
| --- | --- |
| **H** | a guideline recommendation or a systematic review that supports this claim for this population |
| **M** | randomised trial(s), or a review with mixed results |
| **L** | case series, expert opinion, textbooks, exam outlines |
| **X** | contradicted by evidence: never a rule, only a caveat (below) |

`kb lint` checks the grades against the sources: an H rule citing anything but a guideline or a
systematic review is an error, and so is a rule above L citing a textbook, an exam outline, expert
opinion, a case series or a source read only in its abstract; a reference with no DOI, PMID, URL or
ISBN and no stated reason is reported, and so is a rule whose description names an acuity it does
not test. `kb lint --evidence` prints each rule's claim beside its source's population and finding
and also warns of a rule above L whose condition or technique that finding does not name, and of a
reference with no population or finding.

Every reference records the population its source studied (ages inclusive, and what it left out,
such as pregnancy). For a case outside it - a child under an adult guideline, a pregnant patient
under a source that excluded pregnancy - the rule counts at grade L and every view says
"extrapolated from <population>" (plan JSON: the modality's `grade` "L" with `extrapolated_from`).
A rule counts toward a modality's certainty only when the modality is delivered on a target that
rule proposed it for; the certainty every view shows is the plan's. A claim graded X
is never a reason: the knowledge base refuses a rule that gives a modality a benefit a caveat grades
X for it (`supported_only_for`), and plans show the caveat only beside a modality that serves the
benefit it attaches to.
"""


def evidence_reference() -> str:
    kb = load_knowledge_base()
    meta = kb.reference_meta

    def source(key: str) -> str:
        ref = meta.get(key)
        return f"{key}: {ref.authors.split(',')[0]} ({ref.year}), {ref.kind.replace('_', ' ')}" if ref else key

    def found(key: str) -> str:
        ref = meta.get(key)
        return _cell(ref.finding or ref.note or "") if ref else "(not a structured reference)"

    def population(key: str) -> str:
        return _cell(population_words(meta.get(key)))

    parts = [EVIDENCE_INTRO, "## Claims of the seed that evidence contradicts (grade X)", "",
             "| caveat | the claim | only a reason for | source | what the source found |",
             "| --- | --- | --- | --- | --- |"]
    for c in kb.caveats:
        only = ", ".join(c.supported_only_for) if c.supported_only_for is not None else "(sits beside the benefit)"
        parts.append(f"| `{c.id}` | {_cell(c.claim)} | {only} | {source(c.citation)} | {found(c.citation)} |")
    parts += ["", "## By condition: the modalities, their grade, source, population and finding", ""]
    for cond in kb.vocabulary.conditions:
        rows = [(mod, r) for r in kb.rules if r.then.propose is not None and cond in conditions_of(r)
                for mod in r.then.propose.modalities]
        if not rows:
            continue
        parts += [f"### {kb.vocabulary.label(cond)}", "", "| modality | rule | grade | source | population "
                  "| what the source found |", "| --- | --- | --- | --- | --- | --- |"]
        parts += [f"| {kb.vocabulary.label(mod)} | `{r.id}` | {r.grade} | {source(r.citation)} "
                  f"| {population(r.citation)} | {found(r.citation)} |" for mod, r in rows]
        parts.append("")
    parts += ["## Extrapolated claims", "",
              "A rule graded above L whose source studied a narrower population than the rule fires for: for a "
              "case outside it the rule counts at L, \"extrapolated from\" that population.", "",
              "| rule | grade | source | population |", "| --- | --- | --- | --- |"]
    for r in kb.rules:
        ref = meta.get(r.citation)
        pop = ref.population if ref is not None else None
        if r.grade in ("H", "M") and pop is not None and (pop.age_min or pop.age_max is not None or pop.excludes):
            parts.append(f"| `{r.id}` | {r.grade} | {source(r.citation)} | {population(r.citation)} |")
    parts += ["", "## Claims beyond their source's finding", "",
              "A rule graded above L whose condition or technique its source's finding does not name (`kb lint "
              "--evidence` warns of each).", "",
              "| rule | grade | source | not in the finding |", "| --- | --- | --- | --- |"]
    for r in kb.rules:
        ref = meta.get(r.citation)
        missing = misfits(r, ref, kb.vocabulary) if ref is not None and r.grade in ("H", "M") else ()
        if missing:
            parts.append(f"| `{r.id}` | {r.grade} | {source(r.citation)} | {_cell('; '.join(missing))} |")
    current = None
    for rule in kb.rules:
        if rule.source != current:
            current = rule.source
            parts += ["", f"## {current}", "", "| rule | claim | grade | source | what the source found |",
                      "| --- | --- | --- | --- | --- |"]
        parts.append(f"| `{rule.id}` | {_cell(rule.description)} | {rule.grade} | {source(rule.citation)} "
                     f"| {found(rule.citation)} |")
    parts += ["", "## A caveat in a plan", "",
              "Manual lymphatic drainage for an arm lymphedema serves \"Improved circulation\" - the one modality "
              "for which that benefit holds (lymph transport) - so its explanation gives the benefit as a reason "
              "and shows the blood-flow caveat beside it, with its source:", "",
              "```console", f"$ {CAVEAT_EXAMPLE}", _console(CAVEAT_EXAMPLE), "```"]
    parts += ["", "## References", ""]
    parts += [f"- **{key}** {_cell(text)}" for key, text in kb.references.items()]
    return "\n".join(parts) + "\n"


CAVEAT_EXAMPLE = "medmassage explain facts/p14-lymphedema-arm-cleared.yaml --why manual_lymphatic_drainage"


def _console(command: str) -> str:
    """What a command prints on a terminal (stdout and stderr as they come), run from the checkout
    (as tests/docs/test_doc_examples.py runs it)."""
    cwd = Path.cwd()
    terminal = io.StringIO()
    try:
        os.chdir(ROOT)
        code = run(shlex.split(command)[1:], stdin=io.StringIO(""), stdout=terminal, stderr=terminal)
    finally:
        os.chdir(cwd)
    text = terminal.getvalue().rstrip("\n")
    return text + (f"\n[exit {code}]" if code else "")


PAGES = {"cli.md": cli_reference, "rules.md": rules_reference, "evidence.md": evidence_reference}


if __name__ == "__main__":
    for name, build in PAGES.items():
        (ROOT / "docs" / name).write_text(build(), encoding="utf-8")
        print(f"wrote docs/{name}")
