"""Fixtures for the HTTP edge tests: the demo register template of the end-to-end tests."""

from tests.e2e.conftest import demo_template

__all__ = ["demo_template"]
