"""Stored password hashes: argon2id on sign-up; bcrypt hashes imported from an older
system verify and are upgraded; argon2 hashes made with older parameters are rehashed on
the next successful login (page or password grant)."""

from __future__ import annotations

from datetime import UTC, datetime

import bcrypt
import pytest
from argon2 import PasswordHasher as Argon2

from tests.accounts_helpers import browser, login
from tests.helpers import password_grant


def _stored(services, user_id):
    with services.db.unit_of_work() as uow:
        return uow.users.get(user_id).password_hash


def _set_hash(services, user_id, value):
    with services.db.unit_of_work() as uow:
        uow.users.set_password_hash(user_id, value, datetime.now(UTC))


@pytest.mark.parametrize("prefix", [b"2b", b"2a", b"2y"])
def test_a_bcrypt_hash_from_an_older_system_verifies_and_is_upgraded(
    client, factory, services, settings, prefix
):
    user = factory.user()
    legacy = bcrypt.hashpw(user.password.encode(), bcrypt.gensalt(rounds=4, prefix=b"2b"))
    legacy = b"$" + prefix + legacy[3:]
    _set_hash(services, user.id, legacy.decode())
    assert login(client, user.email, "not it").status_code == 401
    assert _stored(services, user.id) == legacy.decode()
    assert login(client, user.email, user.password).status_code == 303
    upgraded = _stored(services, user.id)
    assert upgraded.startswith("$argon2id$")
    assert Argon2().verify(upgraded, user.password)
    with browser(settings) as again:
        assert login(again, user.email, user.password).status_code == 303


def test_argon2_parameters_changed_means_rehash_on_login(make_settings, factory, services):
    user = factory.user()
    old = _stored(services, user.id)
    assert "m=8192,t=1,p=1" in old
    stronger = make_settings(argon2_memory_kib=9216, argon2_time_cost=2)
    app = factory.password_client()
    with browser(stronger) as http:
        assert password_grant(http, app, user).status_code == 200
    new = _stored(services, user.id)
    assert new != old and "m=9216,t=2,p=1" in new
    with browser(stronger) as http:
        assert password_grant(http, app, user).status_code == 200
    assert _stored(services, user.id) == new  # current parameters: left alone


def test_a_wrong_password_never_rewrites_the_hash(make_settings, factory, services):
    user = factory.user()
    old = _stored(services, user.id)
    with browser(make_settings(argon2_memory_kib=9216)) as http:
        assert login(http, user.email, "wrong password").status_code == 401
    assert _stored(services, user.id) == old
