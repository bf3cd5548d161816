"""The IAM pytest plugin lives with the tests (`tests/iam_plugin.py`, `make test` loads it as `-p tests.iam_plugin`);
this name keeps `pytest -p infra.iam_plugin` working."""

from tests.iam_plugin import pytest_configure, pytest_sessionfinish, pytest_terminal_summary

__all__ = ["pytest_configure", "pytest_sessionfinish", "pytest_terminal_summary"]
