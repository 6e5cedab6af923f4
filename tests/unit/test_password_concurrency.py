"""Password hashing holds argon2id's memory per computation: at most one per usable core
runs at a time, however many protocol threads ask at once."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

from authserver.accounts.passwords import PasswordHasher, usable_cores


class CountingArgon2:
    """argon2-cffi's hasher, watched: how many computations run at once."""

    def __init__(self, real) -> None:
        self.real = real
        self.lock = threading.Lock()
        self.running = 0
        self.most = 0

    def verify(self, stored, password):
        with self.lock:
            self.running += 1
            self.most = max(self.most, self.running)
        try:
            time.sleep(0.01)  # long enough for the other threads to pile up
            return self.real.verify(stored, password)
        finally:
            with self.lock:
                self.running -= 1

    def __getattr__(self, name):
        return getattr(self.real, name)


def test_at_most_one_hash_per_usable_core_at_a_time():
    hasher = PasswordHasher(time_cost=1, memory_kib=8, parallelism=1)
    stored = hasher.hash("correct horse")
    watched = CountingArgon2(hasher._argon2)
    hasher._argon2 = watched
    with ThreadPoolExecutor(16) as pool:
        results = list(pool.map(lambda _: hasher.verify(stored, "correct horse").ok, range(32)))
    assert all(results)
    assert 1 <= watched.most <= usable_cores()
