"""Benchmark of the EHR ways in (a script, not a test): ``python bench/ehr.py [--rounds N]``.

On the five Synthea sample bundles (``../shared/fhir-samples`` beside the checkout, or the one
shipped in tests/data), per patient:

- full-model validation: ``fhir.resources`` (R4B) ``Bundle.model_validate`` of the patient's
  resources - what the import cost before the light projection;
- the light projection and the case built from it (``bundle_resources`` +
  ``case_from_resources``): what ``import fhir``, ``import fhir-bulk`` and the CDS Hooks
  service do per patient now; and the ratio of the two (goal: at least 20x);
- a CDS Hooks ``patient-view`` call per patient through the ASGI application in-process
  (``TestClient``: request parsing, projection, case, plan, cards, JSON; no network): median
  and p95 over the rounds;
- with ``--bulk N``: ``medmassage import fhir-bulk`` over a Bulk Data export of N and of 10 N
  patients (copies of the samples under new ids, split into NDJSON), in a fresh process each:
  wall time and peak RSS - flat memory means the RSS does not grow with the export.

Prints a table and writes the numbers as JSON to ``bench/results/`` (not in git).
"""

from __future__ import annotations

import argparse
import gzip
import json
import platform
import statistics
import sys
import time
import uuid
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from medmassage_rules.intake.fhir import OBSERVATION_CODES, case_from_resources  # noqa: E402  (after sys.path)
from medmassage_rules.intake.fhir_projection import bundle_resources  # noqa: E402
from medmassage_rules.kb.loading import load_knowledge_base  # noqa: E402

SAMPLES = ROOT.parent / "shared" / "fhir-samples"
SHIPPED = ROOT / "tests" / "data" / "f4-colon-cancer-chemo-bp194.json.gz"


def bundles() -> dict[str, dict[str, Any]]:
    if SAMPLES.is_dir():
        return {p.stem: json.loads(p.read_text(encoding="utf-8")) for p in sorted(SAMPLES.glob("*.json"))}
    return {SHIPPED.stem.removesuffix(".json"): json.loads(gzip.decompress(SHIPPED.read_bytes()))}


def best(fn: Any, rounds: int) -> float:
    """The fastest of ``rounds`` runs, in ms (the least disturbed by the other processes of the machine)."""
    times = []
    for _ in range(rounds):
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1000)
    return min(times)


def searchset(resources: list[dict[str, Any]]) -> dict[str, Any]:
    return {"resourceType": "Bundle", "type": "searchset", "entry": [{"resource": r} for r in resources]}


def hook_request(data: dict[str, Any]) -> dict[str, Any]:
    resources = [e["resource"] for e in data["entry"]]
    patient = next(r for r in resources if r["resourceType"] == "Patient")

    def clinical(r: dict[str, Any]) -> str:
        return str(r.get("clinicalStatus", {}).get("coding", [{}])[0].get("code"))

    prefetch = {
        "patient": patient,
        "conditions": searchset([r for r in resources if r["resourceType"] == "Condition" and clinical(r) == "active"]),
        "medications": searchset([r for r in resources if r["resourceType"] == "MedicationRequest"
                                  and r.get("status") in ("active", "on-hold")]),
        "observations": searchset([r for r in resources if r["resourceType"] == "Observation"
                                   and {c.get("code") for c in r["code"].get("coding", [])} & set(OBSERVATION_CODES)]),
    }
    return {"hook": "patient-view", "hookInstance": str(uuid.uuid4()),
            "context": {"userId": "Practitioner/1", "patientId": patient["id"]}, "prefetch": prefetch}


def export(folder: Path, patients: int) -> Path:
    """A Bulk Data export of ``patients`` copies of the sample patients, one NDJSON file per type."""
    samples = [[e["resource"] for e in data["entry"]] for data in bundles().values()]
    folder.mkdir(parents=True)
    handles: dict[str, Any] = {}
    try:
        for n in range(patients):
            for resource in samples[n % len(samples)]:
                kind = resource["resourceType"]
                if kind not in ("Patient", "Condition", "MedicationRequest", "Observation", "Encounter"):
                    continue
                copy = dict(resource, id=f"{resource.get('id')}-{n}")
                if kind != "Patient":
                    patient = resource["subject"]["reference"].rsplit(":", 1)[-1].rsplit("/", 1)[-1]
                    copy["subject"] = {"reference": f"Patient/{patient}-{n}"}
                if kind not in handles:
                    handles[kind] = (folder / f"{kind}.ndjson").open("w", encoding="utf-8")
                handles[kind].write(json.dumps(copy) + "\n")
    finally:
        for handle in handles.values():
            handle.close()
    return folder


def bulk(patients: int) -> list[dict[str, Any]]:
    import resource
    import subprocess
    import tempfile

    rows = []
    for n in (patients, 10 * patients):
        with tempfile.TemporaryDirectory() as tmp:
            folder = export(Path(tmp) / "export", n)
            size = sum(p.stat().st_size for p in folder.iterdir())
            before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
            start = time.perf_counter()
            subprocess.run([sys.executable, str(ROOT / "cli.py"), "import", "fhir-bulk", str(folder),
                            "--output", str(Path(tmp) / "cases.jsonl")], check=True, capture_output=True)
            seconds = time.perf_counter() - start
            rss = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
            rows.append({"patients": n, "ndjson_mb": round(size / 1e6, 1), "seconds": round(seconds, 1),
                         "per_patient_ms": round(1000 * seconds / n, 1),
                         "peak_rss_mb": round(max(rss, before) / 1024, 1)})
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--bulk", type=int, default=0, metavar="N",
                        help="also time import fhir-bulk over N and 10 N patients (peak RSS of each)")
    args = parser.parse_args()
    if args.bulk:
        for row in bulk(args.bulk):
            print(f"fhir-bulk: {row['patients']} patients ({row['ndjson_mb']} MB NDJSON): {row['seconds']} s, "
                  f"{row['per_patient_ms']} ms a patient, peak RSS {row['peak_rss_mb']} MB")
    from fastapi import FastAPI
    from fastapi.testclient import TestClient
    from fhir.resources.R4B.bundle import Bundle

    from medmassage_rules.web.cds_auth import CdsSettings
    from medmassage_rules.web.cds_hooks import cds_router

    kb = load_knowledge_base()
    app = FastAPI()
    app.state.cds = CdsSettings(feedback_log=Path("/dev/null"))
    app.include_router(cds_router(kb))
    client = TestClient(app)
    rows = []
    for name, data in bundles().items():
        full = best(lambda data=data: Bundle.model_validate(data), args.rounds)
        light = best(lambda data=data: case_from_resources(bundle_resources(data), kb.vocabulary), args.rounds)
        request = hook_request(data)
        client.post("/cds-services/medmassage-patient-view", json=request)  # warm-up: the engine is built
        calls = []
        for _ in range(max(args.rounds, 5) * 4):
            start = time.perf_counter()
            answer = client.post("/cds-services/medmassage-patient-view", json=request)
            calls.append((time.perf_counter() - start) * 1000)
            assert answer.status_code == 200, answer.text
        calls.sort()
        rows.append({"bundle": name, "resources": len(data["entry"]), "full_ms": round(full, 1),
                     "light_ms": round(light, 2), "ratio": round(full / light, 1),
                     "cds_median_ms": round(statistics.median(calls), 1),
                     "cds_p95_ms": round(calls[int(0.95 * (len(calls) - 1))], 1)})
    print(f"{'bundle':38} {'res':>5} {'full ms':>8} {'light ms':>9} {'ratio':>6} {'cds p50':>8} {'cds p95':>8}")
    for r in rows:
        print(f"{r['bundle']:38} {r['resources']:>5} {r['full_ms']:>8} {r['light_ms']:>9} {r['ratio']:>6}"
              f" {r['cds_median_ms']:>8} {r['cds_p95_ms']:>8}")
    out = ROOT / "bench" / "results"
    out.mkdir(exist_ok=True)
    stamp = time.strftime("%Y%m%dT%H%M%S")
    (out / f"ehr-{stamp}.json").write_text(json.dumps({"machine": platform.platform(), "python": sys.version,
                                                       "rows": rows}, indent=2), encoding="utf-8")


if __name__ == "__main__":
    main()
