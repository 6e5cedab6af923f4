"""The attempt counters: in process memory (embedded) and on the machine's Redis."""

from __future__ import annotations

import threading
import uuid

import pytest
import redis as redis_lib

from authserver.storage.ratelimit import MemoryRateLimiter, RedisRateLimiter
from tests.accounts_helpers import FakeClock


@pytest.fixture(params=["memory", "redis"])
def limiter_and_clock(request):
    # One second before a multiple of 600: where a clock-aligned 600 s window would end.
    clock = FakeClock(start=1_000_199.0)
    if request.param == "memory":
        yield MemoryRateLimiter(clock), clock
        return
    url = request.getfixturevalue("redis_url")
    client = redis_lib.Redis.from_url(url)
    prefix = f"authserver-test:{uuid.uuid4().hex[:10]}:"
    try:
        yield RedisRateLimiter(client, prefix, clock), clock
    finally:
        keys = list(client.scan_iter(prefix + "*"))
        if keys:
            client.delete(*keys)
        client.close()


def test_counts_up_to_the_limit_then_refuses_without_counting(limiter_and_clock):
    limiter, _ = limiter_and_clock
    assert [limiter.hit("k", 3, 600) for _ in range(3)] == [None, None, None]
    wait = limiter.hit("k", 3, 600)
    assert wait == 600  # when the first of the three stops counting
    for _ in range(10):
        assert limiter.hit("k", 3, 600) == wait
    limiter.undo("k", 600)
    assert limiter.hit("k", 3, 600) is None  # only one slot came back
    assert limiter.hit("k", 3, 600) is not None


def test_an_event_counts_for_exactly_one_window(limiter_and_clock):
    limiter, clock = limiter_and_clock
    for _ in range(2):
        limiter.hit("k", 2, 600)
    wait = limiter.hit("k", 2, 600)
    clock.advance(wait - 0.5)
    assert limiter.hit("k", 2, 600) is not None
    clock.advance(0.5)
    assert limiter.hit("k", 2, 600) is None


def test_a_burst_straddling_a_clock_boundary_gets_the_limit_once(limiter_and_clock):
    """Three at 1_000_199 and three more at 1_000_200 (a multiple of 600): clock-aligned
    windows would count them apart and let six through."""
    limiter, clock = limiter_and_clock
    assert [limiter.hit("k", 3, 600) for _ in range(3)] == [None] * 3
    clock.advance(1)
    assert limiter.hit("k", 3, 600) == 599
    clock.advance(598)
    assert limiter.hit("k", 3, 600) == 1


def test_slots_come_back_one_by_one_as_events_age(limiter_and_clock):
    limiter, clock = limiter_and_clock
    for _ in range(3):
        assert limiter.hit("k", 3, 600) is None
        clock.advance(100)
    # Events at 0, 100 and 200 s; now 300 s: full until the first is 600 s old.
    assert limiter.hit("k", 3, 600) == 300
    clock.advance(300)
    assert limiter.hit("k", 3, 600) is None  # the slot of the event at 0
    assert limiter.hit("k", 3, 600) == 100  # next: the event at 100 s


def test_keys_and_windows_are_independent(limiter_and_clock):
    limiter, _ = limiter_and_clock
    limiter.hit("a", 1, 600)
    assert limiter.hit("a", 1, 600) is not None
    assert limiter.hit("b", 1, 600) is None
    assert limiter.hit("a", 1, 60) is None


def test_clear_and_undo_below_zero(limiter_and_clock):
    limiter, _ = limiter_and_clock
    limiter.undo("never", 600)
    limiter.hit("k", 1, 600)
    limiter.clear("k", 600)
    assert limiter.hit("k", 1, 600) is None


def test_concurrent_hits_never_pass_the_limit(limiter_and_clock):
    limiter, _ = limiter_and_clock
    allowed = []
    barrier = threading.Barrier(8)

    def attempt():
        barrier.wait()
        for _ in range(10):
            if limiter.hit("shared", 25, 600) is None:
                allowed.append(1)

    threads = [threading.Thread(target=attempt) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(allowed) == 25


def test_redis_outage_is_a_503_not_a_silent_pass():
    from authserver.errors import ServiceUnavailable

    client = redis_lib.Redis(host="127.0.0.1", port=1, socket_connect_timeout=0.5)
    limiter = RedisRateLimiter(client, "x:", FakeClock())
    with pytest.raises(ServiceUnavailable):
        limiter.hit("k", 1, 60)


def test_a_flood_of_fresh_keys_does_not_reset_a_counter_at_its_limit():
    """Embedded mode keeps at most MAX_MEMORY_KEYS counters; filling them with fresh keys
    (say, one per IPv6 /64) must not wipe the counter of an account under attack."""
    from authserver.storage import ratelimit

    limiter = MemoryRateLimiter(FakeClock(start=1_000_000.0))
    for _ in range(3):
        assert limiter.hit("pw:acct:victim", 3, 600) is None
    for i in range(ratelimit.MAX_MEMORY_KEYS + 10):
        limiter.hit(f"pw:ip:flood-{i}", 100, 600)
    assert limiter.hit("pw:acct:victim", 3, 600) is not None
