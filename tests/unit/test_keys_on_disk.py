"""Keys on disk and the running key ring."""

from __future__ import annotations

import os
import time

import pytest
from joserfc.jwk import RSAKey

from authserver.errors import SigningKeyError
from authserver.keys import admin
from authserver.keys.keyring import KeyRing
from authserver.keys.keystore import KeyStore
from authserver.keys.lifecycle import KeyState

GRACE = 3660


class FakeClock:
    def __init__(self, now: float) -> None:
        self.t = now

    def now(self) -> float:
        return self.t


@pytest.fixture
def store(tmp_path, key_template):
    import shutil

    d = tmp_path / "keys"
    shutil.copytree(key_template, d)
    return KeyStore(d)


def test_private_files_are_0600_and_kid_is_the_thumbprint(store):
    (schedule,) = store.schedules()
    pem = store.directory / f"{schedule.kid}.pem"
    assert oct(os.stat(pem).st_mode & 0o777) == "0o600"
    (key,) = store.load()
    assert RSAKey.import_key(key.private.as_dict(private=False)).thumbprint() == schedule.kid


def test_a_group_readable_private_key_is_refused(store):
    (schedule,) = store.schedules()
    os.chmod(store.directory / f"{schedule.kid}.pem", 0o644)
    with pytest.raises(SigningKeyError, match="chmod 600"):
        store.load()


def test_encrypted_keys_need_the_passphrase(tmp_path):
    enc = KeyStore(tmp_path / "k", passphrase="open sesame")
    admin.ensure_signing_key(enc, 0, GRACE, 2048)
    assert b"ENCRYPTED" in next((tmp_path / "k").glob("*.pem")).read_bytes()
    assert len(enc.load()) == 1
    with pytest.raises(SigningKeyError):
        KeyStore(tmp_path / "k", passphrase="wrong").load()


def test_ensure_creates_only_the_first_key(tmp_path):
    s = KeyStore(tmp_path / "k")
    assert admin.ensure_signing_key(s, 0, GRACE, 2048) is not None
    assert admin.ensure_signing_key(s, 0, GRACE, 2048) is None
    assert len(s.schedules()) == 1


def test_keyring_follows_rotation_without_restart(store):
    clock = FakeClock(time.time())
    ring = KeyRing(store, clock, GRACE, check_interval=0)
    first = ring.snapshot()
    new = admin.rotate(store, clock.now(), 600, 2048)
    second = ring.snapshot()
    assert second.signing_kid == first.signing_kid
    assert {k.kid for k in second.public_keyset.keys} == {first.signing_kid, new.kid}
    assert second.etag != first.etag
    clock.t += 600
    third = ring.snapshot()
    assert third.signing_kid == new.kid
    assert third.states[first.signing_kid] is KeyState.RETIRING
    clock.t += GRACE
    assert [k.kid for k in ring.snapshot().public_keyset.keys] == [new.kid]


def test_retire_refuses_to_break_valid_tokens_unless_forced(store):
    (only,) = store.schedules()
    t = time.time()
    with pytest.raises(SigningKeyError, match="only signing key"):
        admin.retire(store, only.kid, t + 10, GRACE)
    new = admin.rotate(store, t + 10, 0, 2048, immediately=True)
    with pytest.raises(SigningKeyError, match="--force"):
        admin.retire(store, only.kid, t + 20, GRACE)
    admin.retire(store, only.kid, t + 20, GRACE, force=True)
    infos = {i.kid: i.state for i in admin.list_keys(store, t + 21, GRACE)}
    assert infos == {only.kid: KeyState.RETIRED, new.kid: KeyState.ACTIVE}


def test_a_broken_key_file_keeps_the_last_good_key_set(store):
    clock = FakeClock(time.time())
    ring = KeyRing(store, clock, GRACE, check_interval=0)
    good = ring.snapshot()
    (schedule,) = store.schedules()
    (store.directory / f"{schedule.kid}.pem").write_bytes(b"garbage")
    assert ring.snapshot() is good
