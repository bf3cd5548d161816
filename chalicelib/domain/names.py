"""Name search: the folded form a client's name is indexed and searched by (standard library only)."""

from __future__ import annotations

import unicodedata

MAX_QUERY = 60


def fold(text: str) -> str:
    """Lower case, accents dropped, punctuation other than letters/digits/space dropped, spaces collapsed:
    `  Muh. Ádi  ` -> `muh adi`. The same folding for the stored key and the query, so `adi` finds `Ádi`."""
    decomposed = unicodedata.normalize("NFKD", text or "")
    kept = "".join(c if c.isalnum() else " " for c in decomposed if not unicodedata.combining(c))
    return " ".join(kept.lower().split())


def name_key(name: str, client_id: str) -> str:
    """The range key of `bapas-name-index`: folded name, then the id (names repeat; keys must not)."""
    return f"{fold(name)}#{client_id}"
