"""Benchmark of ``medmassage serve`` (a script, not a test): ``python bench/web.py [--rounds N]``.

Through the ASGI application in-process (FastAPI's ``TestClient``: request parsing, the guard,
the library, the template, no network), per public case p01-p20 after a warm-up:

- ``GET /plan/{id}``: a typical plan page - brief, timeline, body chart, every why and why-not,
  advisories, SOAP draft - median and p95 of all pages over the rounds;
- ``POST /api/plan``: a case in, the plan JSON out;
- ``POST /plan``: the intake form, validated, planned and held (the redirect).

Prints a table and writes the numbers as JSON to ``bench/results/`` (not in git).
"""

from __future__ import annotations

import argparse
import json
import platform
import re
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from fastapi.testclient import TestClient  # noqa: E402  (after the sys.path line)

from medmassage_rules.kb.loading import load_knowledge_base  # noqa: E402
from medmassage_rules.web import create_app  # noqa: E402

CASES = sorted((ROOT / "facts").glob("p[0-2][0-9]-*.yaml"))[:20]


def timed(call) -> tuple[float, object]:
    started = time.perf_counter()
    result = call()
    return (time.perf_counter() - started) * 1000, result


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    web = TestClient(create_app(load_knowledge_base()), base_url="http://127.0.0.1:8000")
    csrf = re.search(r'name="csrf" value="([^"]+)"', web.get("/").text).group(1)
    pages = {}
    for path in CASES:  # warm-up: each case planned once, its page held
        r = web.post("/upload", data={"csrf": csrf}, files={"case": (path.name, path.read_bytes(), "")},
                     follow_redirects=False)
        assert r.status_code == 303, r.text[:300]
        pages[path] = r.headers["location"]
        web.get(pages[path])
    page_ms, api_ms, form_ms = [], [], []
    for _ in range(args.rounds):
        for path in CASES:
            ms, r = timed(lambda p=path: web.get(pages[p]))
            assert r.status_code == 200
            page_ms.append(ms)
            ms, r = timed(lambda p=path: web.post("/api/plan", content=p.read_bytes(),
                                                  headers={"content-type": "application/yaml"}))
            assert r.status_code == 200
            api_ms.append(ms)
        ms, r = timed(lambda: web.post("/plan", data={"csrf": csrf, "diagnoses-0-condition": "fibromyalgia",
                                                      "medications": "warfarin", "modalities": "deep_tissue"},
                                       follow_redirects=False))
        assert r.status_code == 303
        form_ms.append(ms)
    rows = {"plan page (GET /plan/{id})": page_ms, "POST /api/plan": api_ms, "intake form (POST /plan)": form_ms}
    print(f"{len(CASES)} cases x {args.rounds} rounds, in-process, {platform.python_version()}")
    print(f"{'request':<30} {'median ms':>10} {'p95 ms':>8} {'max ms':>8}")
    out = {}
    for name, values in rows.items():
        out[name] = {"median_ms": statistics.median(values), "p95_ms": percentile(values, 0.95), "max_ms": max(values),
                     "n": len(values)}
        print(f"{name:<30} {out[name]['median_ms']:>10.1f} {out[name]['p95_ms']:>8.1f} {out[name]['max_ms']:>8.1f}")
    results = ROOT / "bench" / "results"
    results.mkdir(exist_ok=True)
    (results / f"web-{time.strftime('%Y%m%d-%H%M%S')}.json").write_text(json.dumps(out, indent=2), encoding="utf-8")


if __name__ == "__main__":
    main()
