"""Key lifecycle: pure functions of timestamps."""

from __future__ import annotations

from authserver.keys.lifecycle import (
    KeySchedule,
    KeyState,
    next_transition,
    plan_rotation,
    published,
    signing_key,
    state,
)

GRACE = 3660.0


def test_states_follow_the_timestamps():
    k = KeySchedule("k", created_at=0, activates_at=100, deactivates_at=200)
    assert state(k, 50, GRACE) is KeyState.NEXT
    assert state(k, 100, GRACE) is KeyState.ACTIVE
    assert state(k, 200, GRACE) is KeyState.RETIRING
    assert state(k, 200 + GRACE, GRACE) is KeyState.RETIRED


def test_explicit_retirement_wins():
    k = KeySchedule("k", 0, 0, retired_at=10)
    assert state(k, 9, GRACE) is KeyState.ACTIVE
    assert state(k, 10, GRACE) is KeyState.RETIRED


def test_rotation_publishes_first_signs_later_and_keeps_the_old_key_published():
    old = KeySchedule("old", 0, 0)
    new, changed = plan_rotation([old], "new", now=1000, publish_ahead=600)
    keys = [new, *changed]
    # Published at once, not signing yet.
    assert state(new, 1000, GRACE) is KeyState.NEXT
    assert signing_key(keys, 1000, GRACE).kid == "old"
    assert {k.kid for k in published(keys, 1000, GRACE)} == {"old", "new"}
    # At the hand-over the new key signs and the old one is still published.
    assert signing_key(keys, 1600, GRACE).kid == "new"
    assert {k.kid for k in published(keys, 1600, GRACE)} == {"old", "new"}
    # Once every token the old key signed has expired, it is gone.
    assert {k.kid for k in published(keys, 1600 + GRACE, GRACE)} == {"new"}


def test_exactly_one_key_signs_at_any_moment():
    keys = [KeySchedule("a", 0, 0)]
    for i, now in enumerate((100, 200, 300)):
        new, changed = plan_rotation(keys, f"k{i}", now, publish_ahead=50)
        keys = [
            *(c for c in changed),
            *(k for k in keys if k.kid not in {c.kid for c in changed}),
            new,
        ]
    for t in range(0, 400, 7):
        active = [k for k in keys if state(k, t, GRACE) is KeyState.ACTIVE]
        assert len(active) <= 1 or signing_key(keys, t, GRACE) is not None
        assert signing_key(keys, t, GRACE) is not None


def test_next_transition_is_the_earliest_future_change():
    keys = [KeySchedule("a", 0, 0, deactivates_at=500), KeySchedule("b", 0, 500)]
    assert next_transition(keys, 100, GRACE) == 500
    assert next_transition(keys, 500, GRACE) == 500 + GRACE
