"""What a write did, as the use case knows it; the HTTP edge (`api/`, `http.saved_response`) turns it into a
status code. A service never returns one, so a scheduled function or a queue worker can call it as well.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from typing import Any


class Written(Enum):
    CREATED = "created"  # stored now
    REPLAYED = "replayed"  # the same request again (a retry after a lost answer): nothing written, the stored result
    UPDATED = "updated"  # an existing resource replaced or changed


@dataclass(frozen=True)
class Saved:
    """The body of what was stored, and how it came to be."""

    body: dict[str, Any]
    written: Written
