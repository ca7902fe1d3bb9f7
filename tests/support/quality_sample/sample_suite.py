"""A sample suite with known results: one passes, one fails, one is skipped, one errors (a
fixture that does not exist). tests/integrations/test_quality_reports.py runs it with pytest's
own --junitxml and under coverage.py; the main run does not collect it (not test_*.py)."""

import pytest
from sample_code import add, sign


def test_adds():
    assert add(1, 2) == 3


def test_fails_on_purpose():
    assert sign(5) == -1


@pytest.mark.skip(reason="skipped on purpose")
def test_skipped():
    pass


def test_errors_on_purpose(no_such_fixture):
    pass
