"""`make package`: the deployable CloudFormation template and function zip for one stage.

    python -m infra.package [--stage prod] [--out build/prod]

1. `chalice package --stage <stage> --merge-template infra/template.yaml <out>`: Chalice's functions, roles
   (with `.chalice/policy-<stage>-<function>.json`), REST API and schedules, merged with our resources
   into `<out>/sam.yaml`, and `<out>/deployment.zip`.
2. boto3, botocore, s3transfer and jmespath are removed from the zip: the Lambda Python runtime provides them
   (they come in only because PynamoDB depends on botocore). They are 16 MB of the 30 MB Chalice builds.
3. The template's `Prefix` parameter is pinned to the stage's `PANTAU_TABLE_PREFIX` (the policies name it).
4. Report the zip's size and its largest packages.

Chalice caches the built dependencies in `.chalice/deployments/` keyed by requirements.txt, so after the first
run (which downloads the Lambda wheels) packaging takes seconds.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import zipfile
from collections import Counter
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
MERGE_TEMPLATE = ROOT / "infra" / "template.yaml"
RUNTIME_PROVIDED = ("boto3", "botocore", "s3transfer", "jmespath")
REGION = "ap-southeast-3"


def _runtime_provided(name: str) -> bool:
    top = name.split("/", 1)[0]
    for package in RUNTIME_PROVIDED:
        if top == package or (top.startswith(package + "-") and top.endswith((".dist-info", ".egg-info", ".data"))):
            return True
    return False


def strip_runtime_packages(zip_path: Path) -> list[str]:
    """Rewrite the zip without what the Lambda runtime already has. Returns the removed top-level names."""
    removed: set[str] = set()
    tmp = zip_path.with_suffix(".tmp")
    with zipfile.ZipFile(zip_path) as src, zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            if _runtime_provided(info.filename):
                removed.add(info.filename.split("/", 1)[0])
                continue
            dst.writestr(info, src.read(info), compress_type=zipfile.ZIP_DEFLATED)
    tmp.replace(zip_path)
    return sorted(removed)


def pin_prefix(template_path: Path, prefix: str) -> None:
    template = yaml.safe_load(template_path.read_text())
    parameter = template["Parameters"]["Prefix"]
    parameter["Default"] = prefix
    parameter["AllowedValues"] = [prefix]
    parameter.pop("AllowedPattern", None)
    template_path.write_text(yaml.safe_dump(template, sort_keys=False, width=120, allow_unicode=True))


def sizes(zip_path: Path) -> list[tuple[str, int]]:
    by_top: Counter[str] = Counter()
    with zipfile.ZipFile(zip_path) as z:
        for info in z.infolist():
            by_top[info.filename.split("/", 1)[0]] += info.compress_size
    return by_top.most_common()


def chalice_package(stage: str, out: Path) -> None:
    env = dict(os.environ)
    env.setdefault("AWS_DEFAULT_REGION", REGION)
    env.pop("AWS_ENDPOINT_URL", None)
    chalice = Path(sys.executable).with_name("chalice")
    command = [str(chalice) if chalice.exists() else "chalice", "package", "--stage", stage,
               "--merge-template", str(MERGE_TEMPLATE), str(out)]
    subprocess.run(command, cwd=ROOT, env=env, check=True, stdout=subprocess.DEVNULL)


def package(stage: str = "prod", out: Path | None = None) -> dict[str, Any]:
    from infra.iam import stage_prefixes

    out = out or ROOT / "build" / stage
    if out.exists():
        shutil.rmtree(out)
    chalice_package(stage, out)
    zip_path = out / "deployment.zip"
    before = zip_path.stat().st_size
    removed = strip_runtime_packages(zip_path)
    template = out / "sam.yaml"
    pin_prefix(template, stage_prefixes()[stage])
    return {"stage": stage, "template": template, "zip": zip_path, "zip_bytes": zip_path.stat().st_size,
            "zip_bytes_before_strip": before, "removed": removed, "largest": sizes(zip_path)[:8]}


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--stage", default="prod")
    parser.add_argument("--out", type=Path)
    args = parser.parse_args(argv)
    result = package(args.stage, args.out)
    mib = 1024 * 1024
    print(f"template: {result['template']}")
    print(f"zip:      {result['zip']}  {result['zip_bytes'] / mib:.1f} MiB "
          f"(Chalice built {result['zip_bytes_before_strip'] / mib:.1f} MiB; removed, the runtime has them: "
          f"{', '.join(result['removed']) or 'nothing'})")
    print("largest:  " + ", ".join(f"{name} {size / mib:.1f} MiB" for name, size in result["largest"]))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
