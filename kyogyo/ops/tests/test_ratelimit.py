"""The shared rate limiter: a fixed window that never lets more than the limit through."""

from __future__ import annotations

import pytest

from kyogyo.ops import ratelimit
from kyogyo.ops.models import RateCounter


def test_the_limit_holds_within_a_window_and_resets_after_it(db):
    decisions = [ratelimit.hit("k", limit=3, window=60, now=1000.0) for _ in range(5)]
    assert [d.allowed for d in decisions] == [True, True, True, False, False]
    assert [d.remaining for d in decisions] == [2, 1, 0, 0, 0]
    # 1000 is 40 s into the window that started at 960: 20 s to go.
    assert decisions[-1].retry_after == 20
    assert ratelimit.hit("k", limit=3, window=60, now=1020.0).allowed
    assert not ratelimit.hit("k", limit=3, window=60, now=1019.5).allowed


def test_keys_are_counted_apart(db):
    assert ratelimit.hit("a", limit=1, window=10, now=5.0).allowed
    assert ratelimit.hit("b", limit=1, window=10, now=5.0).allowed
    assert not ratelimit.hit("a", limit=1, window=10, now=5.0).allowed


def test_sweep_forgets_old_windows(db):
    ratelimit.hit("old", limit=5, window=60, now=0.0)
    ratelimit.hit("new", limit=5, window=60, now=100_000.0)
    assert ratelimit.sweep(now=100_000.0) == 1
    assert list(RateCounter.objects.values_list("key", flat=True)) == ["new"]


@pytest.mark.parametrize(("limit", "window"), [(0, 60), (5, 0), (-1, 1)])
def test_a_limit_needs_positive_numbers(db, limit, window):
    with pytest.raises(ValueError, match="positive"):
        ratelimit.hit("k", limit=limit, window=window)
