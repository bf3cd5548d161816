"""The context of the current request (or scheduled run): its correlation id, for audit entries and logs.

The HTTP gate binds it for each request (`bind_request_id`); code outside a request reads "".
"""

from __future__ import annotations

import contextvars
from collections.abc import Iterator
from contextlib import contextmanager

_request_id: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="")


def request_id() -> str:
    return _request_id.get()


@contextmanager
def bind_request_id(value: str) -> Iterator[None]:
    token = _request_id.set(value)
    try:
        yield
    finally:
        _request_id.reset(token)
