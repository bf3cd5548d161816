"""Schema classes named, not imported: the route table and the handlers refer to them through `LazyModel`, so
pydantic and the schema modules stay out of the cold import (issue 16) and load on the first request that
validates a body or on the OpenAPI document (before the SnapStart snapshot: `chalicelib/snapstart.py`).

Standard library only.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import Any


class LazyModel:
    """`chalicelib.schemas.<module>.<name>`, imported on first use; attribute access and calls go to the class."""

    __slots__ = ("_cls", "_module", "_name")

    def __init__(self, module: str, name: str) -> None:
        self._module, self._name, self._cls = module, name, None

    def resolve(self) -> Any:
        if self._cls is None:
            self._cls = getattr(importlib.import_module(f"chalicelib.schemas.{self._module}"), self._name)
        return self._cls

    def __getattr__(self, attr: str) -> Any:
        return getattr(self.resolve(), attr)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self.resolve()(*args, **kwargs)

    def __repr__(self) -> str:
        return f"LazyModel(chalicelib.schemas.{self._module}.{self._name})"


def models(module: str, *names: str) -> tuple[LazyModel, ...]:
    """`A, B = models("clients", "A", "B")` for `from chalicelib.schemas.clients import A, B`, imported later."""
    return tuple(LazyModel(module, name) for name in names)


def resolve(ref: Any) -> Any:
    """The class behind a `LazyModel` (anything else as it is; a tuple part by part)."""
    if isinstance(ref, tuple):
        return tuple(resolve(part) for part in ref)
    return ref.resolve() if isinstance(ref, LazyModel) else ref


@dataclass(frozen=True)
class Text:
    """A response body that is not JSON (HTML, CSV): its media type, documented as a string.

    A route's `response=` is a pydantic model, a `Text`, or a tuple of them (one per media type it can answer).
    """

    media_type: str
    description: str = ""
