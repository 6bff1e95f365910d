"""How the cost grows (a script, not a test): ``python bench/scaling.py``.

Ratios measured in one run, on one set of generated cases (``bench.CaseGenerator``):

- **floor**: a stock experta ``KnowledgeEngine`` of the knowledge base's size (one rule per
  rule of the base, each matching the subject of that rule's first pattern and doing nothing
  when it fires), reused with ``reset()``: the least any experta-based planner can cost per
  case. CPU per case of ``case_facts`` + ``reset`` + ``declare`` + ``run``;
- **batch**: ``medmassage batch --jobs 1`` and ``--jobs 2`` as subprocesses, CPU of the command
  and its workers per case, against the floor; and how much faster two jobs are than one;
- **rules**: the planner's engine with never-firing copies of every rule (x1, x2, x4): each copy
  is the rule with its first pattern's subject id replaced by one no case has (or, where the
  pattern names no id, a field no fact has) - CPU per case relative to x1;
- **case size**: the diagnoses and findings of every case declared x1, x4 and x16 times (as
  distinct facts): CPU per fact relative to x1;
- **cold start**: a fresh ``recommend`` (median of several runs), and its split, timed inside a
  fresh process: imports, knowledge-base load, first plan (engine build included), rendering.

CPU is ``time.process_time`` (the machine may be shared: CPU is steadier than wall time).
Prints a table and writes the numbers to ``bench/results/scaling-*.json`` (not in git).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from bench import P01, CaseGenerator  # noqa: E402
from medmassage_rules.cases import validate_case  # noqa: E402
from medmassage_rules.engine.cache import engine_for  # noqa: E402
from medmassage_rules.engine.compiler import compile_engine  # noqa: E402
from medmassage_rules.errors import CaseError  # noqa: E402
from medmassage_rules.kb import fact_types as F  # noqa: E402
from medmassage_rules.kb.knowledge_base import KnowledgeBase  # noqa: E402
from medmassage_rules.kb.loading import load_knowledge_base  # noqa: E402
from medmassage_rules.kb.rule_specs import RuleSpec  # noqa: E402
from medmassage_rules.planning.case_facts import case_facts  # noqa: E402

RESULTS = ROOT / "bench" / "results"


def floor_engine(kb: KnowledgeBase) -> Any:
    """A stock experta engine of ``kb``'s size doing trivial work per fact.

    One rule per rule of ``kb``, testing the kind and subject field of that rule's first
    pattern against an id no fact has (never firing), so every fact is tested against an alpha
    network as wide as the knowledge base's; and one rule per fact kind that fires once for every
    fact of the case and does nothing.
    """
    from experta import KnowledgeEngine, Rule

    def trivial(name: str, pattern: Any) -> Any:
        def fire(self: Any) -> None:
            pass
        fire.__name__ = name
        return Rule(pattern)(fire)

    attrs: dict[str, Any] = {}
    for rule in kb.rules:
        kind, fields = rule.positive[0] if rule.positive else ("patient", {})
        subject = F.SUBJECT_FIELD.get(kind, "index")
        value = f"{(fields or {}).get(subject)}~none-{rule.order}"
        attrs[f"r{rule.order}"] = trivial(f"r{rule.order}", F.INPUT_KINDS[kind](**{subject: value}))
    for kind, cls in F.INPUT_KINDS.items():
        attrs[f"each_{kind}"] = trivial(f"each_{kind}", cls())
    return type("FloorEngine", (KnowledgeEngine,), attrs)()


def _cpu_per(run: Any, items: list[Any], repeat: int = 1) -> float:
    """Mean CPU ms per item (best of ``repeat`` passes)."""
    best = float("inf")
    for _ in range(repeat):
        start = time.process_time()
        for item in items:
            run(item)
        best = min(best, time.process_time() - start)
    return best / len(items) * 1e3


def never_firing_copy(rule: RuleSpec, k: int, size: int) -> RuleSpec:
    """The rule, its first pattern made to match no fact any case declares."""
    when = [dict(p) for p in rule.when]
    kind, fields = next(iter(when[0].items()))
    fields = dict(fields or {})
    subject = F.SUBJECT_FIELD.get(kind)
    if subject and isinstance(fields.get(subject), str):
        fields[subject] = f"{fields[subject]}~copy{k}"
    else:
        fields["copy"] = f"never{k}"
    when[0] = {kind: fields}
    return replace_rule(rule, id=f"{rule.id}~{k}", when=tuple(when), order=rule.order + k * size)


def replace_rule(rule: RuleSpec, **changes: Any) -> RuleSpec:
    return rule.model_copy(update=changes) if hasattr(rule, "model_copy") else replace(rule, **changes)


def scaled_facts(facts: list[Any], times: int) -> list[Any]:
    """The case's facts with every diagnosis and finding declared ``times`` times (distinct indexes)."""
    out = list(facts)
    for k in range(1, times):
        for fact in facts:
            if isinstance(fact, (F.Diagnosis, F.Finding)):
                fields = {key: value for key, value in fact.items() if not str(key).startswith("__")}
                fields["index"] = fields["index"] + 1000 * k
                out.append(type(fact)(**fields))
    return out


def measure_engine(kb: KnowledgeBase, cases: list[Any], repeat: int) -> dict[str, Any]:
    vocab = kb.vocabulary
    facts = [case_facts(c, vocab) for c in cases]
    floor = floor_engine(kb)

    def floor_run(case: Any) -> None:
        floor.reset()
        floor.declare(*case_facts(case, vocab))
        floor.run()

    engine = engine_for(kb)
    out: dict[str, Any] = {"cases": len(cases), "rules": len(kb.rules)}
    out["floor_cpu_ms"] = _cpu_per(floor_run, cases, repeat)
    out["infer_cpu_ms"] = _cpu_per(lambda c: engine.infer(case_facts(c, vocab)), cases, repeat)
    size = 10 ** len(str(max(r.order for r in kb.rules)))
    engines = {}
    for times in (1, 2, 4):
        rules = list(kb.rules) + [never_firing_copy(r, k, size) for k in range(1, times) for r in kb.rules]
        engines[times] = compile_engine(kb, rules)() if times > 1 else engine
    rules_cost = {times: float("inf") for times in engines}
    for _ in range(repeat):  # interleaved, so that a change in the machine's load touches every size alike
        for times, eng in engines.items():
            rules_cost[times] = min(rules_cost[times], _cpu_per(eng.infer, facts))
    out["rules_cpu_ms"] = rules_cost
    out["rules_ratio"] = {t: v / rules_cost[1] for t, v in rules_cost.items()}
    size_cost = {}
    scaled_cases = {times: [scaled_facts(f, times) for f in facts] for times in (1, 4, 16)}
    best = {times: float("inf") for times in scaled_cases}
    for _ in range(repeat):
        for times, scaled in scaled_cases.items():
            best[times] = min(best[times], _cpu_per(engine.infer, scaled))
    for times, scaled in scaled_cases.items():
        n = sum(map(len, scaled))
        firings = sum(len(engine.infer(f)[1]) for f in scaled)
        per_case = best[times]
        size_cost[times] = {"facts_per_case": n / len(scaled), "firings_per_case": firings / len(scaled),
                            "cpu_ms_per_case": per_case, "cpu_us_per_fact": per_case * 1e3 * len(scaled) / n,
                            "cpu_us_per_fact_or_firing": per_case * 1e3 * len(scaled) / (n + firings)}
    out["size"] = size_cost
    out["size_ratio_per_fact"] = {t: v["cpu_us_per_fact"] / size_cost[1]["cpu_us_per_fact"]
                                  for t, v in size_cost.items()}
    out["size_ratio_per_fact_or_firing"] = {
        t: v["cpu_us_per_fact_or_firing"] / size_cost[1]["cpu_us_per_fact_or_firing"] for t, v in size_cost.items()}
    return out


def _cli(*args: str | Path | int) -> list[str]:
    return [sys.executable, str(ROOT / "cli.py"), *map(str, args)]


def measure_batch(path: Path, jobs: int, tmp: Path, env: dict[str, str]) -> dict[str, Any]:
    report = tmp / f"report-{jobs}.jsonl"
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    done = subprocess.run(_cli("batch", path, "--jobs", jobs, "--report", report, "--format", "json"),
                          capture_output=True, text=True, check=False, env=env)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode not in (0, 1):
        raise SystemExit(f"batch --jobs {jobs} exited {done.returncode}: {done.stderr[-2000:]}")
    cases = json.loads(done.stdout)["cases"]
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return {"jobs": jobs, "cases": cases, "wall_s": wall, "cases_per_s": cases / wall,
            "cpu_ms_per_case": cpu / cases * 1e3, "report": report.read_bytes()}


SPLIT = """
import time, sys, io
t0 = time.perf_counter()
from medmassage_rules.cli import main
from medmassage_rules.kb.loading import load_knowledge_base
from medmassage_rules.cases.loading import iter_cases
from medmassage_rules.planning.pipeline import plan_case
t1 = time.perf_counter()
kb = load_knowledge_base()
t2 = time.perf_counter()
case = next(iter_cases(sys.argv[1], kb.vocabulary)).case
result = plan_case(case, kb)
t3 = time.perf_counter()
print(repr([t1 - t0, t2 - t1, t3 - t2]))
"""


def measure_cold(runs: int, env: dict[str, str]) -> dict[str, Any]:
    walls, splits = [], []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(_cli("recommend", P01), capture_output=True, check=True, env=env)
        walls.append(time.perf_counter() - start)
        done = subprocess.run([sys.executable, "-c", SPLIT, str(P01)], capture_output=True, text=True,
                              check=True, cwd=ROOT, env=env)
        splits.append(json.loads(done.stdout.strip().replace("(", "[").replace(")", "]")))
    start = time.perf_counter()
    subprocess.run([sys.executable, "-c", "pass"], check=True)
    bare = time.perf_counter() - start
    return {"runs": runs, "median_s": statistics.median(walls), "min_s": min(walls), "python_s": bare,
            "imports_s": statistics.median(s[0] for s in splits),
            "kb_load_s": statistics.median(s[1] for s in splits),
            "first_plan_s": statistics.median(s[2] for s in splits)}


def table(r: dict[str, Any]) -> str:
    e, c = r["engine"], r["cold"]
    b1, b2 = r["batch"]
    rows = [
        ("load average", f"{r['load_before'][0]:.2f} before, {r['load_after'][0]:.2f} after"),
        ("floor (stock experta, trivial rules)", f"{e['floor_cpu_ms']:.3f} CPU ms/case ({e['rules']} rules)"),
        ("planner's engine infer", f"{e['infer_cpu_ms']:.3f} CPU ms/case = "
                                   f"{e['infer_cpu_ms'] / e['floor_cpu_ms']:.2f}x floor"),
        ("batch --jobs 1", f"{b1['cpu_ms_per_case']:.3f} CPU ms/case = "
                           f"{b1['cpu_ms_per_case'] / e['floor_cpu_ms']:.2f}x floor; "
                           f"{b1['cases_per_s']:,.0f} cases/s whole command"),
        ("batch --jobs 2", f"{b2['cpu_ms_per_case']:.3f} CPU ms/case; {b2['cases_per_s']:,.0f} cases/s = "
                           f"{b2['cases_per_s'] / b1['cases_per_s']:.2f}x --jobs 1"),
        ("reports identical", str(r["reports_identical"])),
        ("rules x1, x2, x4 (never firing)", ", ".join(f"{float(v):.3f}" for v in e["rules_cpu_ms"].values())
         + " CPU ms/case = " + ", ".join(f"{float(v):.2f}x" for v in e["rules_ratio"].values())),
        ("case size x1, x4, x16", ", ".join(f"{v['facts_per_case']:.1f} facts {v['cpu_us_per_fact']:.1f} us/fact"
                                            for v in e["size"].values())
         + " = " + ", ".join(f"{float(v):.2f}x" for v in e["size_ratio_per_fact"].values()) + " per fact"),
        ("  per fact or firing", ", ".join(f"{v['firings_per_case']:.1f} firings" for v in e["size"].values())
         + " = " + ", ".join(f"{float(v):.2f}x" for v in e.get("size_ratio_per_fact_or_firing", {}).values())),
        ("cold recommend p01", f"median {c['median_s']:.3f} s (min {c['min_s']:.3f}; "
                               f"bare python {c['python_s']:.3f} s)"),
        ("  split", f"imports {c['imports_s']:.3f} s, kb load {c['kb_load_s']:.3f} s, "
                    f"first plan (engine build included) {c['first_plan_s']:.3f} s"),
    ]
    width = max(len(k) for k, _ in rows)
    return "\n".join(f"{k:<{width}}  {v}" for k, v in rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cases", type=int, default=1000, help="generated cases")
    parser.add_argument("--seed", type=int, default=20240601)
    parser.add_argument("--repeat", type=int, default=3, help="passes over the cases; the best counts")
    parser.add_argument("--cold-runs", type=int, default=7)
    parser.add_argument("--skip-batch", action="store_true")
    args = parser.parse_args()
    results: dict[str, Any] = {"seed": args.seed, "when": time.strftime("%Y-%m-%d %H:%M:%S"),
                               "load_before": os.getloadavg()}
    kb = load_knowledge_base()
    env = {**os.environ, "PYTHONHASHSEED": "0"}
    with tempfile.TemporaryDirectory() as name:
        tmp = Path(name)
        env["XDG_CACHE_HOME"] = str(tmp / "cache")
        path = tmp / "cases.jsonl"
        raw, cases = [], []
        for data in CaseGenerator(kb.vocabulary, args.seed).cases(args.cases):
            try:  # the generator may draw what the case rules refuse (a contradiction): left out
                cases.append(validate_case(data, "bench", kb.vocabulary))
            except CaseError:
                continue
            raw.append(json.dumps(data))
        path.write_text("\n".join(raw) + "\n", encoding="utf-8")
        results["engine"] = measure_engine(kb, cases, args.repeat)
        results["batch"] = [] if args.skip_batch else [measure_batch(path, j, tmp, env) for j in (1, 2)]
        if results["batch"]:
            results["reports_identical"] = results["batch"][0]["report"] == results["batch"][1]["report"]
            for b in results["batch"]:
                del b["report"]
        results["cold"] = measure_cold(args.cold_runs, env)
    results["load_after"] = os.getloadavg()
    if results["batch"]:
        print(table(results))
    else:
        print(json.dumps(results, indent=1, default=str))
    RESULTS.mkdir(parents=True, exist_ok=True)
    out = RESULTS / f"scaling-{time.strftime('%Y%m%d-%H%M%S')}.json"
    out.write_text(json.dumps(results, indent=2, default=str))
    print(f"\nwritten to {out}")


if __name__ == "__main__":
    main()
