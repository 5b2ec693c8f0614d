"""Shared test configuration: pytester drives the pytest plugin's tests."""

pytest_plugins = ["pytester"]
