"""`make package`: the deployable CloudFormation template and function zip for one stage.

    python -m infra.package [--stage prod] [--out build/prod]

1. `chalice package --stage <stage> --merge-template infra/template.yaml <out>`: Chalice's functions, roles
   (with `.chalice/policy-<stage>-<function>.json`), REST API and schedules, merged with our resources
   into `<out>/sam.yaml`, and `<out>/deployment.zip`.
2. boto3, botocore, s3transfer, jmespath, dateutil, six and urllib3 are left out of the zip: the Lambda Python
   runtime provides them (they come in only because PynamoDB depends on botocore): 16 MB of the 29 MB Chalice
   builds. So are the parts of dependencies the app never imports (`UNUSED`).
3. Bytecode is added for every module `import app` loads (`__pycache__/*.cpython-312.pyc`, unchecked
   hash-based, PEP 552): Lambda's task directory is read-only, so without it every cold start compiles every
   imported module from source again (measured: cold import 2.5x slower). Modules that are never imported
   get none, which keeps the zip small; modules imported on first use (phone numbers, EXIF, requests, the
   tracer: `chalicelib/snapstart.py`) get bytecode too, so the first request does not compile them.
4. The template's `Prefix` parameter is pinned to the stage's `PANTAU_TABLE_PREFIX` (the policies name it), and
   API Gateway invokes the API function's SnapStart alias (`invoke_through_alias`).
5. Report the zip's size and its largest packages.

Speed. Chalice names its package cache (`.chalice/deployments/<md5>-python3.12.zip`) after requirements.txt *and*
the app's files, so every code change makes it download and unpack every wheel again (about 40 s on a 2-vCPU
VM). We keep the finished dependencies (steps 2 and 3) in `.chalice/deployments/pantau-deps-<requirements
hash>.zip` and hand Chalice its package ready-made (dependencies + app files + their bytecode) under the name it
looks for, so it only assembles the template: a few seconds. Stale Chalice packages are deleted.
"""

from __future__ import annotations

import argparse
import hashlib
import importlib.util
import json
import os
import shutil
import subprocess
import sys
import tempfile
import zipfile
from collections import Counter
from importlib._bootstrap_external import _code_to_hash_pyc  # type: ignore[attr-defined]  # PEP 552 writer
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
MERGE_TEMPLATE = ROOT / "infra" / "template.yaml"
CACHE_DIR = ROOT / ".chalice" / "deployments"
RUNTIME_PROVIDED = ("boto3", "botocore", "s3transfer", "jmespath", "dateutil", "python_dateutil", "six", "urllib3")
# What the Lambda Python runtime puts on sys.path besides the task: boto3 and its dependencies (botocore needs
# dateutil, six and urllib3, so the runtime has them too), and SnapStart's runtime hooks (chalicelib/snapstart.py).
RUNTIME_PACKAGES = ("boto3", "botocore", "s3transfer", "jmespath", "dateutil", "six.py", "urllib3",
                    "snapshot_restore_py.py")
# Parts of dependencies the app never imports, left out of the zip. Powertools' event_handler (its own REST
# router, 0.5 MiB zipped: Pantau routes with Chalice) is imported elsewhere in Powertools only by
# `Logger.inject_lambda_context(log_event=True)` for pydantic events, which the app does not use
# (tests/test_infra.py checks both: the app never asks for it, and the package imports without it).
UNUSED = ("aws_lambda_powertools/event_handler/",)
REGION = "ap-southeast-3"
FINISH_VERSION = "5"  # bump when the finishing steps change, to rebuild the dependency cache


# ----- a Lambda-like interpreter -------------------------------------------------------------------------------

def runtime_dir(where: Path) -> Path:
    """A directory with only what the Lambda Python runtime adds to sys.path, linked from this venv."""
    import boto3

    site = Path(boto3.__file__).resolve().parent.parent
    where.mkdir(parents=True, exist_ok=True)
    for name in RUNTIME_PACKAGES:
        if (site / name).exists() and not (where / name).exists():
            (where / name).symlink_to(site / name)
    return where


def lambda_env(task: Path, stage: str = "prod", function: str = "api_handler") -> dict[str, str]:
    """The environment a function of the stage starts with (Lambda's variables + the stage's)."""
    config = json.loads((ROOT / ".chalice" / "config.json").read_text())
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LANG": "C.UTF-8", "TZ": ":UTC",
           "AWS_REGION": REGION, "AWS_DEFAULT_REGION": REGION, "LAMBDA_TASK_ROOT": str(task),
           "AWS_LAMBDA_FUNCTION_NAME": f"pantau-{stage}-{function}", "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "512",
           "AWS_EXECUTION_ENV": "AWS_Lambda_python{}.{}".format(*sys.version_info[:2]), "PYTHONDONTWRITEBYTECODE": "1"}
    env.update(config.get("environment_variables", {}))
    env.update(config["stages"][stage].get("environment_variables", {}))
    return env


def lambda_python(task: Path, code: str, stage: str = "prod", extra_env: dict[str, str] | None = None,
                  flags: tuple[str, ...] = ()) -> subprocess.CompletedProcess[str]:
    """Run `code` in a fresh interpreter that sees only the task directory and the runtime's packages."""
    runtime = runtime_dir(task.parent / "lambda-runtime")
    prelude = f"import sys; sys.path[:0] = [{str(task)!r}, {str(runtime)!r}]; "
    env = {**lambda_env(task, stage), **(extra_env or {})}
    return subprocess.run([sys.executable, "-S", *flags, "-c", prelude + code], env=env, cwd=task,
                          capture_output=True, text=True)


# ----- the zip ------------------------------------------------------------------------------------------------

def _runtime_provided(name: str) -> bool:
    top = name.split("/", 1)[0]
    for package in RUNTIME_PROVIDED:
        if top in (package, package + ".py") or (
                top.startswith(package + "-") and top.endswith((".dist-info", ".egg-info", ".data"))):
            return True
    return False


def _pyc_name(name: str) -> str:
    """`pkg/mod.py` -> `pkg/__pycache__/mod.cpython-312.pyc` (the interpreter's own layout)."""
    return importlib.util.cache_from_source(name)


def _compile(name: str, source: bytes) -> bytes | None:
    """Unchecked hash-based bytecode: used without looking at the source's mtime. For this interpreter's
    version, which is the functions' runtime (Chalice takes the runtime from the Python it runs on)."""
    try:
        code = compile(source, f"/var/task/{name}", "exec", dont_inherit=True)
    except (SyntaxError, ValueError):
        return None  # e.g. a package's Python 2 test file: never imported
    return bytes(_code_to_hash_pyc(code, importlib.util.source_hash(source), checked=False))


def _entry(name: str) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
    info.external_attr = 0o644 << 16
    info.compress_type = zipfile.ZIP_DEFLATED
    return info


def _is_app(name: str) -> bool:
    return name == "app.py" or name.startswith(("chalice/", "chalicelib/", "vendor/", "__pycache__/app."))


def imported_modules(zip_path: Path) -> set[str]:
    """The archive names of the modules a cold `import app` loads, in a Lambda-like interpreter, and those the
    first requests load on first use (what SnapStart's before-snapshot hook imports: chalicelib/snapstart.py)."""
    with tempfile.TemporaryDirectory(prefix="pantau-imports-") as tmp:
        task = Path(tmp) / "task"
        with zipfile.ZipFile(zip_path) as z:
            z.extractall(task)
        code = ("import app, json; from chalicelib import snapstart; snapstart.before_snapshot(); "
                "print(json.dumps(sorted({m.__file__ for m in list(sys.modules.values()) "
                "if getattr(m, '__file__', None)})))")
        result = lambda_python(task, code)
        if result.returncode != 0:
            raise RuntimeError("the package does not import in a Lambda-like interpreter:\n" + result.stderr[-3000:])
        prefix = str(task) + "/"
        return {f[len(prefix):] for f in json.loads(result.stdout.splitlines()[-1]) if f.startswith(prefix)}


def rewrite(src_path: Path, dst_path: Path, keep: Any, add: dict[str, bytes]) -> None:
    tmp = dst_path.with_suffix(".tmp")
    with zipfile.ZipFile(src_path) as src, zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            if keep(info.filename) and info.filename not in add:
                dst.writestr(info, src.read(info), compress_type=zipfile.ZIP_DEFLATED)
        for name, data in sorted(add.items()):
            dst.writestr(_entry(name), data)
    tmp.replace(dst_path)


def finish(zip_path: Path) -> dict[str, int]:
    """Chalice's package -> ours: without the runtime's packages and the developer's stale `__pycache__`,
    with bytecode for what `import app` loads. Returns counts."""
    with zipfile.ZipFile(zip_path) as z:
        names = z.namelist()
    drop = {n for n in names if _runtime_provided(n) or (_is_app(n) and "__pycache__/" in n) or n.startswith(UNUSED)}
    stripped = zip_path.with_suffix(".stripped")
    rewrite(zip_path, stripped, lambda n: n not in drop, {})
    try:
        wanted = {n for n in imported_modules(stripped) if n.endswith(".py")}
        wanted |= {n for n in names if _is_app(n) and n.endswith(".py")}
        pycs: dict[str, bytes] = {}
        with zipfile.ZipFile(stripped) as z:
            for name in sorted(wanted):
                data = _compile(name, z.read(name))
                if data is not None:
                    pycs[_pyc_name(name)] = data
        rewrite(stripped, zip_path, lambda n: True, pycs)
    finally:
        stripped.unlink(missing_ok=True)
    return {"stripped": len(drop), "compiled": len(pycs)}


def sizes(zip_path: Path) -> list[tuple[str, int]]:
    by_top: Counter[str] = Counter()
    with zipfile.ZipFile(zip_path) as z:
        for info in z.infolist():
            by_top[info.filename.split("/", 1)[0]] += info.compress_size
    return by_top.most_common()


# ----- Chalice's cache ----------------------------------------------------------------------------------------

def _packager() -> Any:
    from chalice.deploy.packager import LambdaDeploymentPackager
    from chalice.utils import OSUtils

    return LambdaDeploymentPackager(OSUtils(), None, None)  # type: ignore[arg-type]  # naming only


def chalice_cache_file() -> Path:
    """The package file Chalice reuses if it exists (named after requirements.txt and the app's files)."""
    version = "python{}.{}".format(*sys.version_info[:2])
    return Path(_packager().deployment_package_filename(str(ROOT), version))


def deps_cache_file() -> Path:
    import chalice

    h = hashlib.sha256((ROOT / "requirements.txt").read_bytes())
    h.update(f"{sys.version_info[:2]}|{chalice.__version__}|{FINISH_VERSION}".encode())
    return CACHE_DIR / f"pantau-deps-{h.hexdigest()[:16]}.zip"


def app_files() -> list[tuple[str, str]]:
    """(path, archive name) of what Chalice adds to the dependencies, without `__pycache__`."""
    return [(full, arc) for full, arc in _packager()._iter_app_filenames(str(ROOT)) if "__pycache__" not in arc]


def duplicates(zip_path: Path) -> list[str]:
    with zipfile.ZipFile(zip_path) as z:
        names = Counter(z.namelist())
    return sorted(n for n, count in names.items() if count > 1)


def assemble(deps: Path, target: Path) -> None:
    """Chalice's package from our finished dependencies: + the app's files and their bytecode."""
    tmp = target.with_suffix(".tmp")
    shutil.copyfile(deps, tmp)
    with zipfile.ZipFile(tmp, "a", zipfile.ZIP_DEFLATED) as z:
        for full, arc in app_files():
            source = Path(full).read_bytes()
            z.writestr(_entry(arc), source)
            if arc.endswith(".py"):
                data = _compile(arc, source)
                if data is not None:
                    z.writestr(_entry(_pyc_name(arc)), data)
    tmp.replace(target)


def save_deps(finished: Path, deps: Path) -> None:
    rewrite(finished, deps, lambda n: not _is_app(n), {})


def prune(keep: set[Path]) -> None:
    for stale in CACHE_DIR.glob("*.zip"):
        if stale not in keep:
            stale.unlink(missing_ok=True)


# ----- the steps ----------------------------------------------------------------------------------------------

def pin_prefix(template_path: Path, prefix: str) -> None:
    template = yaml.safe_load(template_path.read_text())
    parameter = template["Parameters"]["Prefix"]
    parameter["Default"] = prefix
    parameter["AllowedValues"] = [prefix]
    parameter.pop("AllowedPattern", None)
    template_path.write_text(yaml.safe_dump(template, sort_keys=False, width=120, allow_unicode=True))


def alias_logical_id(function: str = "APIHandler") -> str:
    """The logical id SAM gives the alias of a function with AutoPublishAlias (`<function>Alias<name>`)."""
    from infra.template import SNAPSTART_ALIAS

    return f"{function}Alias{SNAPSTART_ALIAS}"


def invoke_through_alias(template_path: Path, function: str = "APIHandler") -> int:
    """API Gateway invokes the API function's SnapStart alias, not `$LATEST` (which SnapStart never applies to):
    every integration URI Chalice wrote with `${APIHandler.Arn}` names the alias SAM creates for
    `AutoPublishAlias` (logical id `APIHandlerAliaslive`; a Ref to it is the alias ARN) instead, and the invoke
    permission is granted on the alias. Returns the number of integrations rewritten."""
    from infra.template import SNAPSTART_ALIAS

    template = yaml.safe_load(template_path.read_text())
    resources = template["Resources"]
    if resources[function]["Properties"].get("AutoPublishAlias") != SNAPSTART_ALIAS:
        raise ValueError(f"{function} has no AutoPublishAlias {SNAPSTART_ALIAS!r}: regenerate infra/template.yaml")
    alias = alias_logical_id(function)
    old, new = "${" + function + ".Arn}/invocations", "${" + alias + "}/invocations"
    rewritten = 0
    for methods in resources["RestAPI"]["Properties"]["DefinitionBody"]["paths"].values():
        for operation in methods.values():
            integration = operation.get("x-amazon-apigateway-integration") if isinstance(operation, dict) else None
            uri = (integration or {}).get("uri")
            if isinstance(uri, dict) and old in uri.get("Fn::Sub", ""):
                uri["Fn::Sub"] = uri["Fn::Sub"].replace(old, new)
                rewritten += 1
    permission = resources[function + "InvokePermission"]["Properties"]
    if permission["FunctionName"] != {"Ref": function}:
        raise ValueError(f"unexpected {function}InvokePermission: {permission['FunctionName']}")
    permission["FunctionName"] = {"Ref": alias}
    template_path.write_text(yaml.safe_dump(template, sort_keys=False, width=120, allow_unicode=True))
    return rewritten


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
    CACHE_DIR.mkdir(parents=True, exist_ok=True)
    deps, cached = deps_cache_file(), chalice_cache_file()
    if not deps.exists():
        cached.unlink(missing_ok=True)  # not made from the current finished dependencies: let Chalice build it
    elif not cached.exists():
        assemble(deps, cached)
    reused = cached.exists()
    chalice_package(stage, out)
    zip_path = out / "deployment.zip"
    done = {"stripped": 0, "compiled": 0}
    if not reused:  # Chalice built it from the wheels: finish it, and keep its dependencies for next time
        done = finish(zip_path)
        save_deps(zip_path, deps)
        shutil.copyfile(zip_path, cached)
    prune({deps, cached})
    template = out / "sam.yaml"
    pin_prefix(template, stage_prefixes()[stage])
    invoke_through_alias(template)
    return {"stage": stage, "template": template, "zip": zip_path, "zip_bytes": zip_path.stat().st_size,
            "largest": sizes(zip_path)[:8], "reused_dependencies": reused, **done}


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--stage", default="prod")
    parser.add_argument("--out", type=Path)
    args = parser.parse_args(argv)
    result = package(args.stage, args.out)
    mib = 1024 * 1024
    print(f"template: {result['template']}")
    print(f"zip:      {result['zip']}  {result['zip_bytes'] / mib:.1f} MiB, without "
          f"{', '.join(RUNTIME_PROVIDED)} (the Lambda runtime has them); dependencies "
          f"{'reused' if result['reused_dependencies'] else 'built and cached'}")
    print("largest:  " + ", ".join(f"{name} {size / mib:.1f} MiB" for name, size in result["largest"]))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
