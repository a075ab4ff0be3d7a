"""The HTTP submit bench (bench/http_submit_bench.py) at a small size: every enterprise's submit through the
real server answered with the redirect, none lost or done twice, on either side."""

from __future__ import annotations

import pytest

from bench.http_submit_bench import measure


@pytest.mark.slow
@pytest.mark.postgres
def test_twenty_enterprises_submit_over_http_and_directly_once_each(pg_server) -> None:  # type: ignore[no-untyped-def]
    if pg_server.template is None:
        pytest.skip("the test role may not create databases")
    report = measure(pg_server.base_url, 20)
    assert report.problems == []
    assert report.statuses == {"303": 20}
    assert report.http_seconds > 0 and report.direct_seconds > 0
