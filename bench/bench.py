"""Benchmark of planning and batch evaluation (a script, not a test): ``python bench/bench.py``.

Generates valid cases deterministically (``random.Random(seed)`` over the shipped vocabulary)
and measures, on this machine:

- engine build: knowledge-base load, rule compilation, Rete network construction;
- per-case planning (``plan_case`` in-process, after a warm-up): median and p95 ms, and the same
  cases through the planner's own engine alone (``PlanningEngine.infer``; also with experta's
  stock Rete matcher, i.e. before the lean matcher) and through a *bare* experta engine - a
  stock ``KnowledgeEngine`` with the same compiled rules and no tracing, deterministic agenda
  or plan resolution - as the floor, so planning overhead is a ratio;
- ``medmassage batch`` throughput at ``--jobs 1`` and ``--jobs 2`` (a real subprocess, its own
  timing of the batch and the wall time of the whole command);
- peak RSS of a batch over 10k cases (and 100k with ``--big``), in a fresh process each:
  flat means the memory does not grow with the number of cases;
- cold start of ``medmassage recommend`` (wall time of a fresh process, median of several runs), for
  p01 (which gives an ICD-10-CM code), p01 without it, and p23 (codes and an ordinary drug list).

Prints a table and writes the numbers as JSON to ``bench/results/`` (not in git).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from medmassage_rules.cases import NEEDS_AREA, Case, validate_case  # noqa: E402
from medmassage_rules.engine.cache import engine_class, engine_for  # noqa: E402
from medmassage_rules.engine.compiler import compile_engine, compile_rule  # noqa: E402
from medmassage_rules.kb.knowledge_base import KnowledgeBase  # noqa: E402
from medmassage_rules.kb.loading import load_knowledge_base  # noqa: E402
from medmassage_rules.kb.vocabulary import Vocabulary  # noqa: E402
from medmassage_rules.planning.case_facts import case_facts  # noqa: E402
from medmassage_rules.planning.pipeline import plan_case  # noqa: E402

RESULTS = ROOT / "bench" / "results"
P01 = ROOT / "facts" / "p01-cts-mild-right.yaml"
# History items that stop or gate treatment: drawn rarely, so most generated plans treat.
SERIOUS = {"suspected_dvt", "known_dvt", "acute_infection", "malignancy", "contagious_skin_condition",
           "uncontrolled_hypertension", "recent_myocardial_infarction", "unstable_angina", "renal_failure",
           "bowel_obstruction", "abdominal_aortic_aneurysm", "cellulitis"}


# -- case generation ---------------------------------------------------------------------------

class CaseGenerator:
    """Valid case files drawn from a vocabulary; the same seed gives the same cases."""

    def __init__(self, vocab: Vocabulary, seed: int):
        self.v = vocab
        self.rng = random.Random(seed)
        self.areas = sorted(vocab.areas)
        self.targets = sorted(vocab.targets)
        self.red_flags = sorted(set(vocab.findings) - set(vocab.indicator_findings))
        self.history = sorted(set(vocab.history) - SERIOUS)
        self.serious = sorted(SERIOUS & set(vocab.history))
        self.medications = sorted({*vocab.medications, *vocab.medication_classes})

    def maybe(self, p: float) -> bool:
        return self.rng.random() < p

    def diagnosis(self) -> dict[str, Any]:
        r, v = self.rng, self.v
        d: dict[str, Any] = {"condition": r.choice(v.conditions)}
        if d["condition"] in NEEDS_AREA or self.maybe(0.15):
            d["area"] = r.choice(self.areas)
        if self.maybe(0.6):
            d["side"] = r.choice(v.sides)
        if self.maybe(0.3):
            d["acuity"] = r.choice(v.acuities)
        elif self.maybe(0.5):
            d["onset_days"] = r.randint(0, 400)
        if self.maybe(0.5):
            d["severity"] = r.choice(v.severities)
        return d

    def finding(self, names: list[str] | tuple[str, ...]) -> dict[str, Any]:
        r = self.rng
        f: dict[str, Any] = {"finding": r.choice(names)}
        where = "target" if f["finding"] == "trigger_point" else r.choice(["target", "area", "none"])
        if where == "target":
            f["target"] = r.choice(self.targets)
        elif where == "area":
            f["area"] = r.choice(self.areas)
        if self.maybe(0.5):
            f["side"] = r.choice(self.v.sides)
        return f

    def history_item(self, names: list[str]) -> dict[str, Any]:
        r = self.rng
        h: dict[str, Any] = {"item": r.choice(names)}
        if self.maybe(0.4):
            h["area"] = r.choice(self.areas)
            if self.maybe(0.5):
                h["side"] = r.choice(self.v.sides)
        if h["item"] in ("recent_surgery", "recent_fracture"):
            h["days_since"] = r.randint(0, 200)
        if h["item"] == "pregnancy":
            h["weeks"] = r.randint(0, 42)
            h["high_risk"] = self.maybe(0.2)
        if h["item"] == "osteoporosis":
            h["fragility_fracture"] = self.maybe(0.3)
        return h

    def case(self, index: int) -> dict[str, Any]:
        r, v = self.rng, self.v
        case: dict[str, Any] = {"id": f"bench-{index:07d}",
                                "patient": {"age": r.randint(18, 95), "sex": r.choice(["female", "male"])},
                                "diagnoses": [self.diagnosis() for _ in range(r.choices([1, 2, 3], [70, 25, 5])[0])]}
        findings = [self.finding(v.indicator_findings) for _ in range(r.randint(0, 3))]
        if self.maybe(0.04):
            findings.append(self.finding(self.red_flags))
        if findings:
            case["findings"] = findings
        history = [self.history_item(self.history) for _ in range(r.choices([0, 1, 2], [60, 30, 10])[0])]
        if self.maybe(0.06):
            history.append(self.history_item(self.serious))
        if history:
            case["history"] = history
        if self.maybe(0.3):
            case["medications"] = r.sample(self.medications, r.randint(1, 2))
        if self.maybe(0.1):
            case["labs"] = {"platelets_k": round(r.uniform(15, 400), 1)}
        if self.maybe(0.3):
            case["vitals"] = {"temperature_c": round(r.uniform(36.0, 38.4), 1),
                              "systolic": r.randint(95, 185), "diastolic": r.randint(55, 112)}
        if self.maybe(0.1):
            case["clearances"] = r.sample(sorted(v.clearances), r.randint(1, 2))
        prescription: dict[str, Any] = {}
        if self.maybe(0.6):
            prescription["max_minutes"] = r.choice([30, 45, 60, 90])
        if self.maybe(0.15):
            prescription["modalities"] = r.sample(sorted(v.modalities), 1)
        if self.maybe(0.15):
            prescription["focus_areas"] = r.sample(self.areas, 1)
        if prescription:
            case["prescription"] = prescription
        if index % 2 == 0:  # half of them state an invariant as an expectation, to run the checker too
            case["expect"] = {"minutes": {"min": 0, "max": prescription.get("max_minutes", 30)}}
        return case

    def cases(self, n: int) -> Iterator[dict[str, Any]]:
        return (self.consistent(self.case(i)) for i in range(n))

    @staticmethod
    def consistent(case: dict[str, Any]) -> dict[str, Any]:
        """A pregnant, recently delivered or pelvic-girdle patient is a woman: the case rules refuse
        the contradiction (clinical-v2.1 §2.8), so a benchmark case never holds it."""
        female_only = any(h.get("item") in ("pregnancy", "postpartum") for h in case.get("history", [])) \
            or any(d.get("condition") == "pelvic_girdle_pain" for d in case.get("diagnoses", []))
        if female_only:
            case["patient"]["sex"] = "female"
        return case


def write_jsonl(path: Path, vocab: Vocabulary, n: int, seed: int) -> Path:
    with path.open("w", encoding="utf-8") as out:
        for case in CaseGenerator(vocab, seed).cases(n):
            out.write(json.dumps(case) + "\n")
    return path


# -- measurements ------------------------------------------------------------------------------

def _ms(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    return {"median_ms": statistics.median(ordered) * 1e3, "p95_ms": ordered[int(0.95 * (len(ordered) - 1))] * 1e3,
            "mean_ms": statistics.fmean(ordered) * 1e3}


def _per_case(run: Callable[[Case], Any], cases: list[Case], warmup: int) -> dict[str, float]:
    for case in cases[:warmup]:
        run(case)
    samples = []
    clock = time.perf_counter
    for case in cases:
        start = clock()
        run(case)
        samples.append(clock() - start)
    return _ms(samples)


def bare_engine(kb: KnowledgeBase) -> Any:
    """A stock experta engine with the knowledge base's compiled rules: no trace, stock agenda, no planning."""
    from experta import KnowledgeEngine

    class BareEngine(KnowledgeEngine):
        def record(self, fact: Any) -> None:  # the compiled rules declare their conclusions through this
            self.declare(fact)

    attrs = {f"rule_{rule.order:04d}": compile_rule(rule, kb.vocabulary) for rule in kb.rules}
    return type("BareCompiledEngine", (BareEngine,), attrs)()


def stock_matcher_engine(kb: KnowledgeBase) -> Any:
    """The planner's engine with experta's own Rete matcher and deffacts lookup: before the lean matcher."""
    from experta import KnowledgeEngine
    from experta.matchers import ReteMatcher

    return type("StockMatcherEngine", (engine_class(kb),),
                {"__matcher__": ReteMatcher, "get_deffacts": KnowledgeEngine.get_deffacts})()


def measure_build(rules_dir: Path | None) -> dict[str, float]:
    start = time.perf_counter()
    kb = load_knowledge_base(rules_dir)
    loaded = time.perf_counter()
    cls = compile_engine(kb)
    compiled = time.perf_counter()
    cls()
    built = time.perf_counter()
    return {"rules": len(kb.rules), "load_ms": (loaded - start) * 1e3, "compile_ms": (compiled - loaded) * 1e3,
            "rete_ms": (built - compiled) * 1e3, "total_ms": (built - start) * 1e3}


def measure_planning(kb: KnowledgeBase, path: Path, warmup: int) -> dict[str, Any]:
    from medmassage_rules.files.reading import parse_json

    raw = path.read_text().splitlines()
    start = time.perf_counter()
    cases = [validate_case(parse_json(line), "bench", kb.vocabulary) for line in raw]
    parse_validate = (time.perf_counter() - start) / len(cases)
    vocab = kb.vocabulary
    engine = engine_for(kb)
    bare = bare_engine(kb)
    stock = stock_matcher_engine(kb)

    def bare_run(case: Case) -> None:
        bare.reset()
        bare.declare(*case_facts(case, vocab))
        bare.run()

    planner = _per_case(lambda c: plan_case(c, kb), cases, warmup)
    infer = _per_case(lambda c: engine.infer(case_facts(c, vocab)), cases, warmup)
    stock_infer = _per_case(lambda c: stock.infer(case_facts(c, vocab)), cases, warmup)
    floor = _per_case(bare_run, cases, warmup)
    statuses: dict[str, int] = {}
    for case in cases:
        status = plan_case(case, kb).plan.status
        statuses[status] = statuses.get(status, 0) + 1
    return {"cases": len(cases), "parse_validate_ms": parse_validate * 1e3, "planner": planner,
            "engine_infer": infer, "engine_infer_stock_matcher": stock_infer, "bare_experta": floor,
            "ratio_planner_to_bare": planner["median_ms"] / floor["median_ms"],
            "ratio_planner_to_infer": planner["median_ms"] / infer["median_ms"], "statuses": statuses}


def _cli(*args: str | Path) -> list[str]:
    return [sys.executable, str(ROOT / "cli.py"), *map(str, args)]


def measure_batch(path: Path, jobs: int, tmp: Path) -> dict[str, Any]:
    report = tmp / f"report-{jobs}.jsonl"
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    done = subprocess.run(_cli("batch", path, "--jobs", jobs, "--report", report, "--format", "json"),
                          capture_output=True, text=True, check=False)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    if done.returncode != 0:
        raise SystemExit(f"batch --jobs {jobs} exited {done.returncode}: {done.stderr[-2000:]}")
    summary = json.loads(done.stdout)
    return {"jobs": jobs, "cases": summary["cases"], "batch_s": summary["seconds"], "wall_s": wall,
            "cases_per_s": summary["cases"] / summary["seconds"], "cases_per_s_wall": summary["cases"] / wall,
            "cpu_ms_per_case": cpu / summary["cases"] * 1e3, "report_bytes": report.stat().st_size}


def rss_child(path: Path, jobs: int) -> None:
    """Run in a fresh process: a batch over ``path``, then its own peak RSS and its workers'."""
    from medmassage_rules.batch.runner import run_batch

    kb = load_knowledge_base()
    with tempfile.TemporaryDirectory() as tmp:
        summary = run_batch([path], kb, jobs=jobs, report=Path(tmp) / "report.jsonl")
    print(json.dumps({"cases": summary.cases, "errors": summary.errors, "seconds": summary.seconds,
                      "parent_kb": _own_peak_kb(),
                      "workers_kb": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss}))


def _own_peak_kb() -> int:
    """This process's peak RSS since it started its program.

    getrusage's ru_maxrss is not that for a process its parent started: Linux carries the
    peak over fork and exec, so a child of this (big) benchmark would report at least the
    benchmark's own peak. VmHWM is the high-water mark of the current address space only.
    Workers are forked from the measured process without exec, so getrusage(RUSAGE_CHILDREN)
    is right for them.
    """
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # not Linux: an upper bound


def measure_rss(path: Path, jobs: int) -> dict[str, Any]:
    done = subprocess.run([sys.executable, __file__, "--rss-child", str(path), "--jobs", str(jobs)],
                          capture_output=True, text=True, check=True)
    out = json.loads(done.stdout)
    return {"cases": out["cases"], "jobs": jobs, "parent_peak_mb": out["parent_kb"] / 1024,
            "worker_peak_mb": out["workers_kb"] / 1024 if jobs > 1 else None,
            "cases_per_s": out["cases"] / out["seconds"]}


def measure_cold_start(runs: int, case: Path = P01) -> dict[str, float]:
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(_cli("recommend", case), capture_output=True, check=True)
        samples.append(time.perf_counter() - start)
    return {"runs": runs, "median_s": statistics.median(samples), "min_s": min(samples), "max_s": max(samples)}


# -- report ------------------------------------------------------------------------------------

def machine() -> dict[str, Any]:
    model = ""
    try:
        model = next(line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                     if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    return {"python": platform.python_version(), "platform": platform.platform(), "cpu": model,
            "cpus": os.cpu_count(), "start_method": __import__("multiprocessing").get_start_method()}


def _timing(t: dict[str, float]) -> str:
    return f"median {t['median_ms']:.3f} ms, p95 {t['p95_ms']:.3f} ms, mean {t['mean_ms']:.3f} ms"


def table(r: dict[str, Any]) -> str:
    p, b, m = r["planning"], r["build"], r["machine"]
    rows = [
        ("machine", f"{m['cpus']} x {m['cpu'] or '?'}, Python {m['python']}, start method {m['start_method']}"),
        ("load average", f"{r['load_before'][0]:.2f} before, {r['load_after'][0]:.2f} after (0: nothing else ran)"),
        ("engine build", f"{b['total_ms']:.0f} ms for {b['rules']} rules (load {b['load_ms']:.0f}, "
                         f"compile {b['compile_ms']:.0f}, Rete {b['rete_ms']:.0f})"),
        ("cases", f"{p['cases']} generated (seed {r['seed']}): {p['statuses']}"),
        ("parse + validate", f"{p['parse_validate_ms']:.3f} ms/case"),
        ("planner (plan_case)", _timing(p["planner"])),
        ("engine infer alone", _timing(p["engine_infer"])),
        ("  same, stock matcher", _timing(p["engine_infer_stock_matcher"])),
        ("bare experta floor", _timing(p["bare_experta"])),
        ("planner / bare", f"{p['ratio_planner_to_bare']:.2f}x (planner / own engine "
                           f"{p['ratio_planner_to_infer']:.2f}x), medians"),
    ]
    for run in r["batch"]:
        rows.append((f"batch --jobs {run['jobs']}",
                     f"{run['cases_per_s']:,.0f} cases/s ({run['cases']} in {run['batch_s']:.2f} s; "
                     f"whole command {run['wall_s']:.2f} s = {run['cases_per_s_wall']:,.0f}/s; "
                     f"{run['cpu_ms_per_case']:.2f} CPU ms/case)"))
    for rss in r["rss"]:
        workers = f", each worker {rss['worker_peak_mb']:.1f} MB" if rss["worker_peak_mb"] else ""
        rows.append((f"peak RSS {rss['cases']:,}", f"parent {rss['parent_peak_mb']:.1f} MB{workers} "
                                                   f"(--jobs {rss['jobs']}, {rss['cases_per_s']:,.0f} cases/s)"))
    for key, label in (("cold_start", "recommend cold start (p01)"),
                       ("cold_start_no_codes", "  same, icd10 removed"),
                       ("cold_start_intake", "  p23: codes and a drug list")):
        c = r[key]
        rows.append((label, f"median {c['median_s']:.3f} s (min {c['min_s']:.3f}, max {c['max_s']:.3f}, "
                            f"{c['runs']} runs)"))
    width = max(len(k) for k, _ in rows)
    return "\n".join(f"{k:<{width}}  {v}" for k, v in rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cases", type=int, default=2000, help="generated cases for planning and batch (>= 1000)")
    parser.add_argument("--seed", type=int, default=20240601)
    parser.add_argument("--warmup", type=int, default=200)
    parser.add_argument("--big", action="store_true", help="also measure peak RSS over 100,000 cases (minutes)")
    parser.add_argument("--cold-runs", type=int, default=7)
    parser.add_argument("--rss-child", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--jobs", type=int, default=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.rss_child is not None:
        rss_child(args.rss_child, args.jobs)
        return

    results: dict[str, Any] = {"seed": args.seed, "machine": machine(), "when": time.strftime("%Y-%m-%d %H:%M:%S"),
                               "load_before": os.getloadavg()}
    results["build"] = measure_build(None)
    kb = load_knowledge_base()
    with tempfile.TemporaryDirectory() as name:
        tmp = Path(name)
        cases = write_jsonl(tmp / "cases.jsonl", kb.vocabulary, args.cases, args.seed)
        results["planning"] = measure_planning(kb, cases, args.warmup)
        results["batch"] = [measure_batch(cases, jobs, tmp) for jobs in (1, 2)]
        sizes = [10_000, 100_000] if args.big else [10_000]
        results["rss"] = []
        for n in sizes:
            path = write_jsonl(tmp / f"rss-{n}.jsonl", kb.vocabulary, n, args.seed)
            results["rss"].append(measure_rss(path, 2))
            path.unlink()
    results["cold_start"] = measure_cold_start(args.cold_runs)
    with tempfile.TemporaryDirectory() as name:  # p01 gives its ICD-10-CM code: the same case without it
        bare = Path(name) / "p01-no-codes.yaml"
        bare.write_text(P01.read_text(encoding="utf-8").replace(", icd10: G56.01", ""), encoding="utf-8")
        results["cold_start_no_codes"] = measure_cold_start(args.cold_runs, bare)
    results["cold_start_intake"] = measure_cold_start(args.cold_runs, ROOT / "facts" / "p23-icd10-and-intake-meds.yaml")
    results["load_after"] = os.getloadavg()
    print(table(results))
    RESULTS.mkdir(parents=True, exist_ok=True)
    out = RESULTS / f"bench-{time.strftime('%Y%m%d-%H%M%S')}.json"
    out.write_text(json.dumps(results, indent=2))
    print(f"\nwritten to {out.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
