"""The direction of dependencies, checked by reading every import (module level and inside functions).

`domain/` is plain Python; `services/` are use cases that a scheduled function or the SQS worker can run
without loading the HTTP edge: neither imports `chalice` or `chalicelib.http`. The request/response models
(`schemas/`) need neither AWS nor the HTTP edge.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
HTTP_EDGE = ("chalice", "chalicelib.http")
AWS = ("boto3", "botocore", "pynamodb", "chalicelib.adapters", "chalicelib.services", "chalicelib.api")


def imported_modules(path: Path) -> set[str]:
    """Every module a file imports; `from pkg import name` also counts as importing `pkg.name`."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


def _offending(package: str, banned: tuple[str, ...]) -> dict[str, list[str]]:
    found = {}
    for path in sorted((ROOT / "chalicelib" / package).rglob("*.py")):
        bad = sorted(m for m in imported_modules(path) if any(m == b or m.startswith(b + ".") for b in banned))
        if bad:
            found[str(path.relative_to(ROOT))] = bad
    return found


@pytest.mark.parametrize("package", ["services", "domain"])
def test_no_http_edge_below_the_api(package: str) -> None:
    assert _offending(package, HTTP_EDGE) == {}


def test_domain_is_plain_python() -> None:
    assert _offending("domain", AWS) == {}


def test_schemas_need_no_aws_nor_http() -> None:
    assert _offending("schemas", AWS + HTTP_EDGE) == {}


def role_checks(path: Path) -> list[int]:
    """Lines that test the caller's role (`p.role == "pk"`, `p.role in (...)`, `p.is_admin`)."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        compares_role = isinstance(node, ast.Compare) and any(
            isinstance(n, ast.Attribute) and n.attr == "role" for n in [node.left, *node.comparators])
        reads_admin = isinstance(node, ast.Attribute) and node.attr == "is_admin" and isinstance(node.ctx, ast.Load)
        if compares_role or reads_admin:
            found.append(node.lineno)
    return found


def test_role_checks_live_in_access_only() -> None:
    """Who may do what is `chalicelib/access.py`; a service asks it instead of testing roles itself."""
    found = {str(path.relative_to(ROOT)): lines for path in sorted((ROOT / "chalicelib" / "services").rglob("*.py"))
             if (lines := role_checks(path))}
    assert found == {}


def test_the_scan_sees_what_it_must_refuse(tmp_path: Path) -> None:
    sample = tmp_path / "sample.py"
    sample.write_text("import chalice\nfrom chalicelib import http\n\ndef f(p):\n    from chalicelib.http import Page\n"
                      "    return p.role == 'pk' or p.is_admin\n")
    assert {"chalice", "chalicelib.http", "chalicelib.http.Page"} <= imported_modules(sample)
    assert role_checks(sample) == [6, 6]
