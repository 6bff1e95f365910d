"""The commands about the knowledge base and the case format: kb lint, kb graph, schema, import fhir."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from ..errors import MedMassageError, printable
from .console import knowledge_base, rules_option, write


@click.group(name="kb")
def kb_group() -> None:
    """Verify the knowledge base (lint) and export its graph (graph).

    Both take --rules DIR, so an author can check an edited copy of rules/ before
    shipping it: medmassage kb lint --rules my-rules.
    """


@kb_group.command()
@click.option("--evidence", "show_evidence", is_flag=True,
              help="Also show, per rule, its claim beside its source's population and finding, with what does "
                   "not fit (clinical-v2.1 §6.2).")
@rules_option
def lint(rules_dir: Path | None, show_evidence: bool = False) -> int:
    """Verify the knowledge base, in the spirit of the Drools Verifier.

    Reports, one line each with the file and rule id: unknown ids, duplicate rule ids,
    rules without an evidence grade or citation (or with an unknown citation key), rules
    that can never fire (a condition nothing satisfies, contradictory conditions, a
    pattern negated by another, a rule gated by the clearance it needs), redundant rules,
    conflicts (a proposal or target that a block firing whenever it does always removes)
    and gaps (a condition with no path to a modality; a term no rule uses, unless listed
    under lint: {unused_ok: ...}), and the evidence: an H rule citing anything but a guideline
    or systematic review, a rule above L citing a textbook, exam outline, expert opinion, case
    series or a source read only in its abstract; with --evidence also a claim whose condition or
    technique its source's finding does not name, and a reference with no population or finding.

    \b
    Exit codes: 0 no errors (warnings are printed); 1 errors found; 2 no such folder.
    """
    from ..lint.linter import lint_knowledge_base, lint_lines

    if rules_dir is not None and not rules_dir.is_dir():
        raise MedMassageError(f"{rules_dir}: no such knowledge-base folder")
    report = lint_knowledge_base(rules_dir, evidence=show_evidence)
    if show_evidence:
        from ..kb.loading import read_knowledge_base
        from ..lint.evidence import evidence_report

        files = read_knowledge_base(rules_dir)
        for line in evidence_report(list(files.rules), files.reference_meta, files.vocabulary):
            click.echo(line)
    for line in lint_lines(report):
        click.echo(line)
    return int(report.exit_code)


@kb_group.command()
@click.option("--format", "fmt", type=click.Choice(["graphml", "gexf", "json", "dot"]), default="graphml",
              show_default=True, help="GraphML or GEXF (Gephi, yEd, Cytoscape), node-link JSON, or Graphviz DOT.")
@click.option("--output", "-o", type=click.Path(dir_okay=False, path_type=Path, allow_dash=True), default=None,
              help="Write the graph to this file instead of stdout.")
@rules_option
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

    text = export_graph(knowledge_base(rules_dir).graph, fmt)
    if output is None:
        click.echo(text, nl=False)
    else:
        write(output, text)


@click.command()
@rules_option
def schema(rules_dir: Path | None) -> None:
    """Print the JSON Schema of case files (generated from the validating models)."""
    from ..cases.schema import case_schema

    click.echo(json.dumps(case_schema(knowledge_base(rules_dir).vocabulary), indent=2))


@click.group(name="import")
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
def import_fhir(bundle: Path, output: Path | None, as_of: Any, rules_dir: Path | None) -> None:
    """Build a case file from a FHIR R4 patient BUNDLE (JSON).

    The Patient gives the id and age; active Conditions (ICD-10-CM, or SNOMED CT through a
    crosswalk) the diagnoses and history; active MedicationStatements and MedicationRequests
    (ATC, a known drug name, or the text) the medications; Observations by LOINC the latest
    platelet count, temperature and blood pressure; ServiceRequests their reasons and notes.
    The case records its as_of date, each medication order's date, each problem's onset
    (onset_days) and side (from the code, bodySite or the SNOMED CT concept; a note when a
    limb or joint has none). What could not be mapped is listed on stderr, one line each
    (the first 20, then how many more). Only a regular file of at most 64 MiB is read; a
    record with more distinct active diagnoses, history items or medications than a case
    holds is refused as soon as that shows.

    \b
    Example:
      medmassage import fhir patient-bundle.json --output case.yaml
    """
    from ..cases.loading import validate_case
    from ..intake.fhir import import_bundle

    kb = knowledge_base(rules_dir)
    imported, day = import_bundle(bundle, kb.vocabulary, as_of.date() if as_of is not None else None)
    for line in imported.advisories:
        click.echo(printable(f"note: {line}", one_line=True), err=True)
    for line in imported.unmapped:
        click.echo(printable(f"not mapped: {line}", one_line=True), err=True)
    validate_case(imported.case, str(bundle), kb.vocabulary)  # what is written is a valid case
    text = imported.yaml(bundle.name, day)
    if output is None:
        click.echo(text, nl=False)
    else:
        write(output, text)



@import_group.command(name="fhir-bulk")
@click.argument("paths", metavar="PATH...", nargs=-1, required=True, type=click.Path(exists=True, path_type=Path))
@click.option("--output", "-o", type=click.Path(dir_okay=False, path_type=Path, allow_dash=True), default=None,
              help="Write the cases (JSON Lines) here instead of printing them.")
@click.option("--as-of", "as_of", type=click.DateTime(formats=["%Y-%m-%d"]), default=None,
              help="The day every case describes; by default each patient's latest Encounter start.")
@rules_option
def import_fhir_bulk(paths: tuple[Path, ...], output: Path | None, as_of: Any, rules_dir: Path | None) -> int:
    """Build one case per patient from a FHIR Bulk Data export (NDJSON files, or a folder of them).

    Reads Patient, Condition, MedicationStatement, MedicationRequest, Observation, Encounter
    and ServiceRequest lines, joins them by patient through an on-disk index (memory holds one
    patient at a time) and writes one case per Patient as JSON Lines - the case `import fhir`
    gives for the same resources in a bundle. What could not be mapped is listed on stderr,
    one line each, after the case id; a patient whose resources cannot be read is an error line
    and the others go on (exit 1 at the end). Feed the output to `medmassage batch -`.

    \b
    Example:
      medmassage import fhir-bulk export/ --output cases.jsonl
      medmassage import fhir-bulk export/ | medmassage batch - --report - > report.jsonl
    """
    from ..files.guard import note_inputs
    from ..files.writing import OutputFile
    from ..intake.fhir_bulk import import_bulk, ndjson_files
    from .console import EXIT_FAILED, EXIT_OK

    kb = knowledge_base(rules_dir)
    note_inputs(ndjson_files(paths))  # before the output is opened: it may replace none of them
    out = None if output is None or str(output) == "-" else OutputFile(output)
    handle = out.open() if out is not None else None
    failed = False
    try:
        for found in import_bulk(paths, kb.vocabulary, as_of.date() if as_of is not None else None):
            for problem in found.problems:
                click.echo(f"error: {printable(str(problem), one_line=True)}", err=True)
            failed = failed or bool(found.problems)
            if found.imported is None:
                continue
            case_id = found.imported.case.get("id")
            for line in found.imported.advisories:
                click.echo(printable(f"note: {case_id}: {line}", one_line=True), err=True)
            for line in found.imported.unmapped:
                click.echo(printable(f"not mapped: {case_id}: {line}", one_line=True), err=True)
            text = json.dumps(found.imported.case, ensure_ascii=False)
            if handle is None:
                click.echo(text)
            else:
                handle.write(text + "\n")
        if out is not None:
            out.commit()
    finally:
        if out is not None:
            out.discard()
    return EXIT_FAILED if failed else EXIT_OK
