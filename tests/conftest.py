"""Test harness.

AWS credentials, region and table prefix are set before anything imports `app` or boto3 clients are made,
and moto is imported first, so no test can ever reach real AWS.
"""

from __future__ import annotations

import os

from infra.fake_aws import use_fake_aws

use_fake_aws()

import moto  # noqa: F401  (before any boto3 client exists)
import pytest

from tests.support import InProcess, reset_caches


@pytest.fixture
def aws():
    """A fresh moto account with every Pantau resource bootstrapped and the demo staff and Bapas seeded."""
    with InProcess() as env:
        yield env
    reset_caches()


@pytest.fixture
def api(aws):
    return aws


@pytest.fixture(scope="module")
def module_api():
    """One moto account for a whole module: for tests that create their own data and never need an empty table
    (a fresh account per test costs a second or more)."""
    with InProcess() as env:
        yield env
    reset_caches()


@pytest.fixture(scope="session")
def stack(tmp_path_factory):
    """The real local stack over HTTP: moto server + chalice local on free loopback ports, seeded."""
    from infra.local import start_stack
    from tests.support import HttpStack

    saved = dict(os.environ)
    s = start_stack(log_dir=tmp_path_factory.mktemp("stack-logs"))
    try:
        yield HttpStack(s)
    finally:
        s.stop()
        os.environ.clear()
        os.environ.update(saved)
        reset_caches()


@pytest.fixture
def atomic_moto_transactions(monkeypatch):
    """DynamoDB runs each request in isolation; moto's in-memory backend does not. Its TransactWriteItems checks,
    writes and, on a failure, restores a snapshot of whole tables with no lock, so two threads can interleave
    inside one "transaction", and a GetItem running meanwhile can serialise an item that the restore is
    rewriting ("dictionary changed size during iteration", after the backend call has returned). Serialise whole
    moto DynamoDB requests, answer included, as DynamoDB isolates them; the app's race between requests stays."""
    import threading

    from moto.dynamodb.responses import DynamoHandler

    lock = threading.RLock()
    original = DynamoHandler.call_action

    def isolated(self, *args, **kwargs):
        with lock:
            return original(self, *args, **kwargs)

    monkeypatch.setattr(DynamoHandler, "call_action", isolated)


@pytest.fixture
def daytime(monkeypatch):
    """The messages API's clock at 10:00 WIB today: verification codes go only in the village's daytime, so a
    test that sends one must not depend on the hour it runs at."""
    from chalicelib.api import messages
    from tests.escalation_support import at_wib, today_wib

    clock = {"now": at_wib(today_wib(), 10)}
    monkeypatch.setattr(messages, "now_utc", lambda: clock["now"])
    return clock
