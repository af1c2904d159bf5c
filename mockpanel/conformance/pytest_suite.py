"""``pytest --pyargs mockpanel.conformance.pytest_suite``: the conformance suite's tests, collected
from ``conformance.pytest_suite`` (one test per requirement)."""

from conformance.pytest_suite import conformance_report, test_requirement

__all__ = ["conformance_report", "test_requirement"]
