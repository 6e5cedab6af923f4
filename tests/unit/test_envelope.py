"""Envelope encryption: values open only with their context and a configured KEK; a KEK
rotation re-seals data keys; wrong keys and altered values fail with a message naming the
setting and no key material."""

from __future__ import annotations

import secrets

import pytest

from authserver.errors import UnsafeSettings
from authserver.keys.envelope import DecryptionError, Envelope, build_envelope, kek_id
from authserver.settings import build_settings

K1, K2 = secrets.token_bytes(32), secrets.token_bytes(32)


def test_round_trip_and_fresh_randomness():
    env = Envelope((K1,))
    a = env.encrypt(b"upstream secret", "provider:p1:client_secret")
    b = env.encrypt(b"upstream secret", "provider:p1:client_secret")
    assert a != b and b"upstream secret" not in a.encode()
    assert env.decrypt(a, "provider:p1:client_secret") == b"upstream secret"


def test_a_value_moved_to_another_context_does_not_open():
    env = Envelope((K1,))
    token = env.encrypt(b"s", "provider:p1:client_secret")
    with pytest.raises(DecryptionError):
        env.decrypt(token, "provider:p2:client_secret")


def test_an_altered_value_does_not_open():
    env = Envelope((K1,))
    v, kid, key, value = env.encrypt(b"secret value", "c").split(".")
    flipped = value[:-2] + ("A" if value[-2] != "A" else "B") + value[-1]
    with pytest.raises(DecryptionError):
        env.decrypt(".".join((v, kid, key, flipped)), "c")
    for garbage in ("", "v1.x", "v2.a.b.c", "v1.a.!!.c"):
        with pytest.raises(DecryptionError):
            env.decrypt(garbage, "c")


def test_rotation_old_key_still_opens_and_rewrap_moves_to_the_new_one():
    old = Envelope((K1,)).encrypt(b"totp key", "mfa:u1:totp")
    rotated = Envelope((K2, K1))
    assert rotated.decrypt(old, "mfa:u1:totp") == b"totp key"
    assert rotated.needs_rewrap(old)
    new = rotated.rewrap(old, "mfa:u1:totp")
    assert not rotated.needs_rewrap(new) and new.split(".")[3] == old.split(".")[3]
    assert Envelope((K2,)).decrypt(new, "mfa:u1:totp") == b"totp key"


def test_a_missing_kek_names_the_setting_not_the_key():
    token = Envelope((K1,)).encrypt(b"x", "c")
    with pytest.raises(DecryptionError) as info:
        Envelope((K2,)).decrypt(token, "c")
    assert "AUTHSERVER_ENCRYPTION_KEYS" in str(info.value) and kek_id(K1) in str(info.value)
    assert K1.hex() not in str(info.value)


def test_settings_keys_first_seals_and_the_derived_key_still_opens(tmp_path):
    cookie = b"c" * 48
    default = build_envelope(build_settings(keys_dir=tmp_path), cookie)
    before = default.encrypt(b"v", "c")
    encoded = secrets.token_urlsafe(32)
    configured = build_envelope(build_settings(keys_dir=tmp_path, encryption_keys=encoded), cookie)
    assert configured.decrypt(before, "c") == b"v"
    assert configured.current_kek_id != default.current_kek_id


# A fixed 16-byte value (too short for a 256-bit KEK): test ids must be the same in every
# pytest-xdist worker.
@pytest.mark.parametrize(
    "bad", ["short", "!!!!" * 11, "RzJXLCtQK4Hh8ilQeuGGAg"], ids=["short", "not-base64", "16-bytes"]
)
def test_malformed_keys_are_refused_at_start_up(bad, tmp_path):
    with pytest.raises(UnsafeSettings) as info:
        build_settings(keys_dir=tmp_path, encryption_keys=bad)
    assert "AUTHSERVER_ENCRYPTION_KEYS" in str(info.value)
