"""The documentation stays inside the repository: every relative link in a Markdown file points at a file
that exists in the repo, and no text names a path outside it. The API guide keeps its glossary."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
LINK = re.compile(r"\]\(([^)\s]+)\)")
GLOSSARY = ("klien", "PK", "Kasubsi", "Bapas", "Bhabinkamtibmas", "Polsek", "Polres", "kelurahan", "desa",
            "asimilasi", "PB", "CB", "CMB", "LPP", "litmas", "TPP")


def tracked(*patterns: str) -> list[Path]:
    out = subprocess.run(["git", "ls-files", "--cached", "--others", "--exclude-standard", "--", *patterns],
                         cwd=ROOT, capture_output=True, text=True, check=True).stdout
    return [ROOT / line for line in out.splitlines() if (ROOT / line).is_file()]


def links(path: Path) -> list[str]:
    return [m.group(1) for m in LINK.finditer(path.read_text(encoding="utf-8"))]


@pytest.mark.parametrize("doc", tracked("*.md"), ids=lambda p: str(p.relative_to(ROOT)))
def test_relative_links_stay_in_the_repo_and_resolve(doc: Path) -> None:
    for target in links(doc):
        if re.match(r"^[a-z][a-z0-9+.-]*:", target) or target.startswith("#"):
            continue  # a URL or an anchor on the same page
        resolved = (doc.parent / target.split("#")[0]).resolve()
        assert resolved.is_relative_to(ROOT), f"{doc.name} links {target}, outside the repository"
        assert resolved.exists(), f"{doc.name} links {target}, which does not exist"


def test_no_text_names_the_shared_contract_outside_the_repo() -> None:
    offenders = [str(p.relative_to(ROOT)) for p in tracked("*.md", "*.py", "*.yaml", "*.html")
                 if p != Path(__file__) and "shared/contract" in p.read_text(encoding="utf-8", errors="replace")]
    assert offenders == []


def test_the_api_guide_explains_every_term_and_its_name_in_the_code() -> None:
    guide = (ROOT / "docs" / "api.md").read_text(encoding="utf-8")
    glossary = guide.split("## Glossary", 1)[1]
    rows = [line for line in glossary.splitlines() if line.startswith("| ") and not line.startswith("| term")]
    for term in GLOSSARY:
        assert any(re.search(rf"\b{re.escape(term)}\b", row.split("|")[1]) for row in rows), term
    assert all(row.count("|") == 4 and row.split("|")[3].strip() for row in rows)  # each has its code name
    assert "[glossary](#glossary)" in guide and "](docs/api.md)" in (ROOT / "README.md").read_text(encoding="utf-8")
