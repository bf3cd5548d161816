"""The deployable function: zip size, and cold import time of `app` against `import boto3, chalice` alone.

    python -m bench.package_bench [runs] [--write] [--zip=build/prod/deployment.zip]

Builds the prod package (`infra/package.py`: `chalice package` + merge, boto3/botocore left to the runtime,
bytecode for what `import app` loads),
unzips it, and imports it the way the Lambda Python runtime does: a fresh interpreter without site-packages
(`python -S`), the package directory first on `sys.path`, then a directory holding only what the runtime
provides (boto3, botocore, s3transfer, jmespath, python-dateutil, six, urllib3), and the prod stage's
environment. Each run is a new process; `import app` and `import boto3, chalice` alternate so machine noise hits
both alike; medians are compared. `-X importtime` of one more `import app` says where the time goes.

`--write` puts the result in `docs/benchmarks.md` (its own section, between markers; the rest is left alone).
"""

from __future__ import annotations

import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import zipfile
from collections import Counter
from pathlib import Path
from typing import Any

from bench.docs import DOC, markers, write_section
from infra.package import lambda_env, runtime_dir

ROOT = Path(__file__).resolve().parent.parent
START, END = markers("package_bench")
TIMER = "import sys, time; sys.path[:0] = {paths!r}; t, c = time.perf_counter(), time.process_time(); {stmt}; " \
        "print(time.perf_counter() - t, time.process_time() - c)"


def time_import(stmt: str, paths: list[str], env: dict[str, str], cwd: Path) -> tuple[float, float]:
    """(wall seconds, CPU seconds) of `stmt` in a fresh interpreter. CPU time hardly moves with machine load."""
    code = TIMER.format(paths=paths, stmt=stmt)
    out = subprocess.run([sys.executable, "-S", "-c", code], env=env, cwd=cwd, capture_output=True, text=True,
                         check=True)
    wall, cpu = out.stdout.strip().splitlines()[-1].split()
    return float(wall), float(cpu)


def import_profile(paths: list[str], env: dict[str, str], cwd: Path, top: int = 8) -> list[tuple[str, float]]:
    """Self time per top-level package while importing app (`-X importtime`), in ms, largest first."""
    code = f"import sys; sys.path[:0] = {paths!r}; import app"
    out = subprocess.run([sys.executable, "-S", "-X", "importtime", "-c", code], env=env, cwd=cwd,
                         capture_output=True, text=True, check=True)
    by_package: Counter[str] = Counter()
    for line in out.stderr.splitlines():
        m = re.match(r"import time:\s+(\d+) \|\s+(\d+) \|\s*(\S+)", line)
        if m:
            by_package[m.group(3).split(".")[0]] += int(m.group(1)) / 1000
    return [(name, round(ms, 1)) for name, ms in by_package.most_common(top)]


def tracing_import_error(paths: list[str], env: dict[str, str], cwd: Path) -> str | None:
    """Does the package import with Powertools tracing on? (it needs aws-xray-sdk, which is not packaged)"""
    code = f"import sys; sys.path[:0] = {paths!r}; import app"
    result = subprocess.run([sys.executable, "-S", "-c", code], env={**env, "POWERTOOLS_TRACE_DISABLED": "false"},
                            cwd=cwd, capture_output=True, text=True)
    if result.returncode == 0:
        return None
    return (result.stderr.strip().splitlines() or ["?"])[-1]


def run(runs: int = 9, zip_path: Path | None = None) -> dict[str, Any]:
    work = Path(tempfile.mkdtemp(prefix="pantau-package-bench-"))
    try:
        if zip_path is None:
            from infra.package import package

            built = package("prod", work / "build")
            zip_path = built["zip"]
        zip_bytes = zip_path.stat().st_size
        with zipfile.ZipFile(zip_path) as z:
            unzipped = sum(i.file_size for i in z.infolist())
            z.extractall(work / "task")
        task = work / "task"
        runtime = runtime_dir(work / "runtime")
        paths = [str(task), str(runtime)]
        env = lambda_env(task)
        source_only = work / "source-only"  # the same package without its bytecode, for comparison
        shutil.copytree(task, source_only, ignore=shutil.ignore_patterns("__pycache__"))
        app_times, base_times = [], []
        time_import("import boto3, chalice", paths, env, task)  # warm the page cache, not the interpreter
        for _ in range(runs):
            base_times.append(time_import("import boto3, chalice", paths, env, task))
            app_times.append(time_import("import app", paths, env, task))
        source_times = [time_import("import app", [str(source_only), str(runtime)], env, source_only)[0]
                        for _ in range(max(3, runs // 3))]
        app_cpu = statistics.median(t[1] for t in app_times) * 1000
        base_cpu = statistics.median(t[1] for t in base_times) * 1000
        app_times = [t[0] for t in app_times]
        base_times = [t[0] for t in base_times]
        app_ms, base_ms = statistics.median(app_times) * 1000, statistics.median(base_times) * 1000
        return {
            "zip_bytes": zip_bytes, "unzipped_bytes": unzipped, "runs": runs,
            "app_ms": round(app_ms, 1), "base_ms": round(base_ms, 1), "ratio": round(app_ms / base_ms, 2),
            "source_ms": round(statistics.median(source_times) * 1000, 1),
            "app_cpu_ms": round(app_cpu, 1), "base_cpu_ms": round(base_cpu, 1),
            "cpu_ratio": round(app_cpu / base_cpu, 2),
            "app_range": (round(min(app_times) * 1000), round(max(app_times) * 1000)),
            "base_range": (round(min(base_times) * 1000), round(max(base_times) * 1000)),
            "profile": import_profile(paths, env, task),
            "tracing_error": tracing_import_error(paths, env, task),
            "load": round(os.getloadavg()[0], 1),
        }
    finally:
        shutil.rmtree(work, ignore_errors=True)


def markdown(r: dict[str, Any]) -> str:
    mib = 1024 * 1024
    profile = ", ".join(f"{name} {ms:.0f} ms" for name, ms in r["profile"])
    tracing = (f"With `POWERTOOLS_TRACE_DISABLED=false` the package does **not** import (`{r['tracing_error']}`)."
               if r["tracing_error"] else "It imports with Powertools tracing on (prod) as well as off; the Tracer "
               "(and `aws-xray-sdk` with it) is built on the first request, not at import.")
    rows = [
        ("`deployment.zip` (all functions share it)",
         f"**{r['zip_bytes'] / mib:.1f} MiB** ({r['unzipped_bytes'] / mib:.1f} MiB unzipped; Lambda's limits: "
         "50 MiB zipped, 250 MiB unzipped)"),
        ("cold `import app`", f"**{r['app_ms']:.0f} ms** (range {r['app_range'][0]}–{r['app_range'][1]} ms)"),
        ("cold `import boto3, chalice` alone",
         f"{r['base_ms']:.0f} ms (range {r['base_range'][0]}–{r['base_range'][1]} ms)"),
        ("ratio (wall time)", f"**{r['ratio']:.2f}**"),
        ("CPU time of the import: `app` / `boto3, chalice`",
         f"**{r['app_cpu_ms']:.0f} ms** / {r['base_cpu_ms']:.0f} ms = **{r['cpu_ratio']:.2f}** (stable under load)"),
        ("cold `import app`, same package without its bytecode",
         f"{r['source_ms']:.0f} ms (Chalice's zip as is: Lambda cannot write `__pycache__`)"),
    ]
    table = "\n".join(f"| {k} | {v} |" for k, v in rows)
    return f"""{START}
## The function package: zip size and cold import (`bench/package_bench.py`)

`python -m bench.package_bench [runs] [--write]`: builds the prod package (`make package`), unzips it and imports
it in a fresh `python -S` per run with only the package and what the Lambda runtime provides (boto3, botocore,
s3transfer, jmespath, dateutil, six, urllib3) on `sys.path`, in the prod stage's environment. `import app` and
`import boto3, chalice` alone alternate, {r['runs']} runs each; medians.

| what | value |
|---|---|
{table}

Load average {r['load']} on the 2-vCPU VM while measuring: absolute times move with it, the ratio much less.
A 512 MB Lambda has about a third of a vCPU, so expect the absolute import to take roughly three times as long
there (it is billed: Lambda bills the INIT phase).

Where `import app` spends its time (self time by top-level package, `-X importtime`): {profile}.

What makes the zip small and the import short (issue 16):
- **Runtime python3.12**, the bytecode in the zip is 3.12's (`make` builds the venv from it: `infra/find_python.sh`).
- **Not in the zip**: boto3, botocore, s3transfer, jmespath, dateutil, six and urllib3 (the Lambda runtime has
  them: PynamoDB pulls botocore in), Powertools' `event_handler` (never imported: `infra/package.py` `UNUSED`),
  `cryptography`/`cffi` (RS256 is verified by `chalicelib/rs256.py` with the standard library, compared with
  `cryptography` in `tests/unit/test_rs256.py`), and the phone library's geocoder, carrier and time-zone data
  (`phonenumberslite` instead of `phonenumbers`: the same parsing, validation and mobile/fixed-line types; on
  60,000 generated Indonesian and foreign numbers, `normalize_id_phone` and `is_mobile` gave identical results
  with phonenumbers 9.0.43 and phonenumberslite 9.0.42).
- **Not at import**: pydantic and the schema modules: the routes name their request and response classes
  (`chalicelib/schemas/refs.py` `LazyModel`), which are imported with the first request that validates a body
  (or for the OpenAPI document), and built then (`defer_build`); PyJWT and the RS256 verifier with the first
  token; the phone library, EXIF reader, `requests` (JWKS fetch), village list, `statistics` and Powertools'
  batch utilities (which import asyncio) on first use; the JWKS is fetched on the first authenticated request.
  A scheduled function or the SQS worker never loads pydantic or PyJWT at all. SnapStart's before-snapshot hook
  imports and builds all of them (`chalicelib/snapstart.py` `FIRST_USE_MODULES`); `infra/package.py` still adds
  bytecode for them, and `tests/test_infra.py` checks the cold import loads none.
- With SnapStart (the API function) none of the import is met by a user: Lambda restores a snapshot taken after
  `import app` and the before-snapshot hook (`chalicelib/snapstart.py`). {tracing}
{END}
"""


def write(section: str) -> None:
    write_section("package_bench", section)


def main(argv: list[str]) -> int:
    runs = int(next((a for a in argv if a.isdigit()), "9"))
    zip_arg = next((a.split("=", 1)[1] for a in argv if a.startswith("--zip=")), None)
    result = run(runs, Path(zip_arg) if zip_arg else None)
    section = markdown(result)
    print(section)
    if "--write" in argv:
        write(section)
        print(f"updated {DOC.relative_to(ROOT)}")
        from infra import cost  # the cost model reads the cold-start figure from there

        cost.DOC.write_text(cost.render())
        print(f"updated {cost.DOC.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
