"""Regenerate the reference pages that must not drift: ``python docs/generate.py``.

* docs/cli.md   — every command's ``--help``, as click renders it;
* docs/rules.md — every rule of the shipped knowledge base: id, description, benefits,
  evidence grade and citation.

tests/test_docs.py fails when either page differs from what this script would write.
"""

from __future__ import annotations

import sys
from pathlib import Path

import click

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from medmassage_rules.cli import main  # noqa: E402
from medmassage_rules.knowledge import load_knowledge_base  # noqa: E402


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
             "Generated from `--help` by `python docs/generate.py`; do not edit by hand.", ""]
    for path, command in _commands(main, ["medmassage"]):
        info = " ".join(path)
        settings = {**main.context_settings, "max_content_width": 100, "terminal_width": 100}
        parent = None
        for depth in range(1, len(path)):
            parent = click.Context(main, info_name=" ".join(path[:depth]), parent=parent, **settings)
        ctx = click.Context(command, info_name=path[-1], parent=parent, **settings)
        parts += [f"## `{info}`", "", "```", command.get_help(ctx).rstrip(), "```", ""]
    return "\n".join(parts)


def rules_reference() -> str:
    kb = load_knowledge_base()
    v = kb.vocabulary
    parts = ["# Knowledge-base rules", "",
             "Generated from `rules/` by `python docs/generate.py`; do not edit by hand.",
             "Grades: H guideline or systematic review; M small or mixed trials; L case series, "
             "expert opinion, practice texts. Claims graded X appear only as caveats (below).", ""]
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


PAGES = {"cli.md": cli_reference, "rules.md": rules_reference}


if __name__ == "__main__":
    for name, build in PAGES.items():
        (ROOT / "docs" / name).write_text(build(), encoding="utf-8")
        print(f"wrote docs/{name}")
