"""Benchmarks write their result into docs/benchmarks.md between their own markers (`--write`)."""

from __future__ import annotations

from pathlib import Path

DOC = Path(__file__).resolve().parents[1] / "docs" / "benchmarks.md"


def markers(name: str) -> tuple[str, str]:
    """`<!-- <name>:start -->` and `<!-- <name>:end -->`, which the section itself carries."""
    return f"<!-- {name}:start -->", f"<!-- {name}:end -->"


def write_section(name: str, section: str, after: str | None = None) -> None:
    """Replace the bench's section (between its markers) in the document; a first write goes after the section
    named `after` when that is there, else at the end."""
    start, end = markers(name)
    text = DOC.read_text()
    if start in text and end in text:
        before, rest = text.split(start, 1)
        text = before + section.strip() + rest.split(end, 1)[1]
    else:
        anchor = markers(after)[1] if after else None
        text = text.replace(anchor, anchor + "\n\n" + section.strip(), 1) if anchor and anchor in text else \
            text.rstrip() + "\n\n" + section.strip() + "\n"
    DOC.write_text(text)
