"""What the fuzz runner excepts: only the 501 that `chalice local`'s http.server gives to methods it does not hand
to the app (TRACE, QUERY); a server error on any method the app serves always fails the run."""

from __future__ import annotations

from tests.fuzz import LOCAL_SERVER_METHODS, _excepted


def test_only_methods_the_local_server_does_not_serve_are_excepted():
    assert _excepted("ST101", ["QUERY /r/{token}", "TRACE /dashboard"])
    assert _excepted("ST204", ["TRACE /v1/me"])
    for method in LOCAL_SERVER_METHODS:
        assert not _excepted("ST101", [f"{method} /v1/me"])
        assert not _excepted("ST101", ["TRACE /v1/me", f"{method} /v1/clients"])  # a real 5xx among them fails
    assert not _excepted("ST102", ["TRACE /v1/me"])  # only the server-error and undeclared-method checks
