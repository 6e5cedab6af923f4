"""The database key store on both backends: private keys sealed with the envelope (bound
to their kid), refused when they do not open, one rotation when several are due at once,
the scheduled rotation, the import from a key folder and the KEK rotation."""

from __future__ import annotations

import base64
import secrets
import threading
import time

import jwt as pyjwt
import pytest
import sqlalchemy as sa

from authserver import preflight
from authserver.audit import AuditEvent
from authserver.errors import SigningKeyError, UnsafeSettings
from authserver.keys import admin, lifecycle
from authserver.keys.db_store import TABLE
from authserver.keys.keyring import KeyRing
from authserver.keys.keystore import KeyStore
from authserver.keys.lifecycle import KeySchedule, KeyState
from authserver.keys.maintenance import KeyMaintenance
from authserver.services import build_services, close_services
from authserver.settings import DEFAULT_KEY_ROTATION_INTERVAL, build_settings

GRACE = 3660
HOUR = 3600


def kek() -> str:
    return base64.urlsafe_b64encode(secrets.token_bytes(32)).decode().rstrip("=")


KEK1, KEK2 = kek(), kek()


@pytest.fixture
def db_services(make_settings):
    built = []

    def make(**overrides):
        fields = {"key_store": "database", "encryption_keys": KEK1, **overrides}
        svc = build_services(make_settings(**fields))
        built.append(svc)
        return svc

    yield make
    for svc in built:
        close_services(svc)


def rows(svc) -> list[sa.Row]:
    with svc.db.engine.connect() as conn:
        return list(conn.execute(sa.select(TABLE).order_by(TABLE.c.created_at)))


def first_key(svc, created_at: float) -> KeySchedule:
    with svc.key_store.exclusive() as keys:
        return keys.create(lambda kid: KeySchedule(kid, created_at, created_at), 2048)


def test_keys_are_sealed_and_bound_to_their_kid(db_services):
    svc = db_services()
    now = time.time()
    a = admin.ensure_signing_key(svc.key_store, now, GRACE, 2048)
    assert a is not None
    assert admin.ensure_signing_key(svc.key_store, now, GRACE, 2048) is None
    b = admin.rotate(svc.key_store, now, 600, 2048)
    row_a = next(r for r in rows(svc) if r.kid == a.kid)
    assert row_a.private_key.startswith("v1.") and "PRIVATE" not in row_a.private_key
    # Every process loads the same keys; they sign and verify.
    other = db_services()
    snap = KeyRing(other.key_store, other.clock, GRACE).snapshot()
    assert snap.signing_kid == a.kid and {k.kid for k in snap.public_keyset.keys} == {
        a.kid,
        b.kid,
    }
    # A sealed key copied onto another row does not open there.
    with svc.db.engine.begin() as conn:
        conn.execute(
            TABLE.update().where(TABLE.c.kid == b.kid).values(private_key=row_a.private_key)
        )
    with pytest.raises(SigningKeyError, match=f"{b.kid}.*cannot be decrypted"):
        svc.key_store.load()


def test_a_wrong_kek_refuses_to_load_or_add_keys(db_services):
    svc = db_services()
    admin.ensure_signing_key(svc.key_store, time.time(), GRACE, 2048)
    wrong = db_services(encryption_keys=KEK2)
    with pytest.raises(SigningKeyError, match="AUTHSERVER_ENCRYPTION_KEYS"):
        wrong.key_store.load()
    with pytest.raises(SigningKeyError, match="AUTHSERVER_ENCRYPTION_KEYS"):
        KeyRing(wrong.key_store, wrong.clock, GRACE).snapshot()
    # Nor does it add a key the others could not read.
    with pytest.raises(SigningKeyError, match="AUTHSERVER_ENCRYPTION_KEYS"):
        admin.rotate(wrong.key_store, time.time(), 600, 2048)
    assert len(rows(svc)) == 1


def test_a_half_written_row_is_named_and_a_running_ring_keeps_its_keys(db_services):
    svc = db_services()
    now = time.time()
    admin.ensure_signing_key(svc.key_store, now, GRACE, 2048)
    ring = KeyRing(svc.key_store, svc.clock, GRACE)
    good = ring.snapshot()
    new = admin.rotate(svc.key_store, now, 600, 2048)
    row = next(r for r in rows(svc) if r.kid == new.kid)
    with svc.db.engine.begin() as conn:
        conn.execute(
            TABLE.update()
            .where(TABLE.c.kid == new.kid)
            .values(private_key=row.private_key[: len(row.private_key) // 2])
        )
    # Logged; still signs with the key it could read (until the store says it stops).
    kept = ring.poll()
    assert kept.signing_kid == good.signing_kid
    assert {k.kid for k in kept.public_keyset.keys} == {good.signing_kid}
    with pytest.raises(SigningKeyError, match=new.kid):
        KeyRing(svc.key_store, svc.clock, GRACE).snapshot()  # a starting process refuses


def test_two_processes_due_at_once_make_exactly_one_key(db_services):
    # Each "process" has its own engine and connections.
    svcs = [db_services() for _ in range(4)]
    t0 = time.time() - HOUR - 5
    first = first_key(svcs[0], t0)
    barrier = threading.Barrier(len(svcs))
    made: list[KeySchedule | None] = []

    def rotate(svc) -> None:
        barrier.wait()
        made.append(admin.rotate_if_due(svc.key_store, time.time(), HOUR, 600, 2048, GRACE))

    threads = [threading.Thread(target=rotate, args=(s,)) for s in svcs]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    new = [m for m in made if m is not None]
    assert len(new) == 1 and len(made) == len(svcs)
    by_kid = {s.kid: s for s in svcs[0].key_store.schedules()}
    assert set(by_kid) == {first.kid, new[0].kid}
    # Published ahead; the old key hands over then and stays published for the grace.
    assert by_kid[first.kid].deactivates_at == new[0].activates_at
    assert new[0].activates_at == pytest.approx(new[0].created_at + 600)
    assert lifecycle.next_rotation(by_kid.values(), HOUR) == new[0].created_at + HOUR


def test_the_scheduled_rotation_is_carried_out_and_audited(db_services):
    svc = db_services(key_rotation_interval=HOUR, key_publish_ahead=600)
    old = first_key(svc, time.time() - HOUR - 1)
    svc.keys.snapshot()
    wait = KeyMaintenance(svc).round()
    (new,) = [s for s in svc.key_store.schedules() if s.kid != old.kid]
    snap = svc.keys.snapshot()  # this process sees it at once
    assert snap.states == {old.kid: KeyState.ACTIVE, new.kid: KeyState.NEXT}
    assert wait <= 2.01  # the next look at the store (DATABASE_POLL_SECONDS)
    with svc.db.unit_of_work() as uow:
        (event,) = uow.audit.query(event=str(AuditEvent.KEY_ROTATED))
    assert event.details == {"kid": new.kid, "via": "schedule"}
    # Nothing due any more: a second round (or process) does nothing.
    KeyMaintenance(svc).round()
    assert len(svc.key_store.schedules()) == 2


def test_import_from_the_folder_keeps_kids_and_schedules(db_services, keys_dir, services):
    folder = KeyStore(keys_dir)
    old = admin.rotate(folder, time.time(), 600, 2048)
    token = pyjwt.encode(
        {"sub": "x"},
        folder.load()[0].private.private_key,
        algorithm="RS256",
        headers={"kid": folder.load()[0].kid},
    )
    svc = db_services()
    imported = admin.import_folder(folder, svc.key_store)
    assert sorted(imported) == sorted(s.kid for s in folder.schedules())
    assert admin.import_folder(folder, svc.key_store) == []
    assert sorted(svc.key_store.schedules(), key=lambda s: s.kid) == sorted(
        folder.schedules(), key=lambda s: s.kid
    )
    ring = KeyRing(svc.key_store, svc.clock, GRACE).snapshot()
    assert old.kid in {k.kid for k in ring.public_keyset.keys}
    kid = pyjwt.get_unverified_header(token)["kid"]
    public = ring.public_keyset.get_by_kid(kid).public_key
    assert pyjwt.decode(token, public, algorithms=["RS256"])["sub"] == "x"


def test_kek_rotation_rewraps_the_keys(db_services):
    svc = db_services()
    admin.ensure_signing_key(svc.key_store, time.time(), GRACE, 2048)
    both = db_services(encryption_keys=f"{KEK2},{KEK1}")
    assert admin.rewrap(both.key_store) == 1
    assert admin.rewrap(both.key_store) == 0
    only_new = db_services(encryption_keys=KEK2)
    assert len(only_new.key_store.load()) == 1
    with pytest.raises(SigningKeyError):
        svc.key_store.load()  # the old KEK alone no longer opens it


def test_settings_for_the_database_store():
    pg = "postgresql+psycopg://u@h/db"
    s = build_settings(key_store="database", encryption_keys=KEK1, database_url=pg)
    assert s.rotation_interval == DEFAULT_KEY_ROTATION_INTERVAL
    assert build_settings(key_store="database", encryption_keys=KEK1).rotation_interval is None
    assert build_settings(database_url=pg).rotation_interval is None
    assert build_settings(key_rotation_interval=0, database_url=pg).rotation_interval is None
    with pytest.raises(UnsafeSettings, match="ENCRYPTION_KEYS: needed with AUTHSERVER_KEY_STORE"):
        build_settings(key_store="database")
    with pytest.raises(UnsafeSettings, match="KEY_ROTATION_INTERVAL: must be longer"):
        build_settings(key_rotation_interval=60, key_publish_ahead=600)


def break_row(svc, kid: str) -> None:
    with svc.db.engine.begin() as conn:
        sealed = conn.execute(sa.select(TABLE.c.private_key).where(TABLE.c.kid == kid)).scalar()
        conn.execute(
            TABLE.update().where(TABLE.c.kid == kid).values(private_key=sealed[: len(sealed) // 2])
        )


def test_a_retired_key_stops_signing_even_where_a_new_key_does_not_open(db_services):
    # A compromised key: rotate --now, then retire --force. A process that cannot read the
    # new key (a KEK it lacks) must not go on signing with, or publishing, the retired one.
    svc = db_services()
    now = time.time()
    old = admin.ensure_signing_key(svc.key_store, now, GRACE, 2048)
    ring = KeyRing(svc.key_store, svc.clock, GRACE)
    assert ring.snapshot().signing_kid == old.kid
    new = admin.rotate(svc.key_store, now, 600, 2048, immediately=True)
    break_row(svc, new.kid)
    admin.retire(svc.key_store, old.kid, time.time(), GRACE, force=True)
    snap = ring.poll()
    assert snap.signing_kid is None
    assert old.kid not in {k.kid for k in snap.public_keyset.keys}
    with pytest.raises(SigningKeyError):
        snap.require_signing_keyset()


def test_an_import_with_a_kek_the_stored_keys_do_not_open_adds_nothing(
    db_services, keys_dir, tmp_path
):
    svc = db_services()
    admin.ensure_signing_key(svc.key_store, time.time(), GRACE, 2048)
    folder = KeyStore(tmp_path / "other-keys")
    admin.rotate(folder, time.time(), 600, 2048)
    wrong = db_services(encryption_keys=KEK2)
    with pytest.raises(SigningKeyError, match="AUTHSERVER_ENCRYPTION_KEYS"):
        admin.import_folder(folder, wrong.key_store)
    assert len(rows(svc)) == 1
    assert len(svc.key_store.load()) == 1


def test_kek_rotation_rewraps_every_sealed_secret(db_services):
    # Upstream client secrets and authenticator-app keys are sealed too: after the rewrap
    # the new KEK alone opens them (dropping the old one must not lock TOTP users out).
    from authserver.federation import providers
    from authserver.federation.config import ProviderConfig
    from authserver.keys import sealed_values
    from authserver.mfa import totp
    from authserver.storage.models import TotpFactor
    from tests.factories import Factory

    svc = db_services()
    user = Factory(svc).user()
    with svc.db.unit_of_work() as uow:
        config = ProviderConfig(display_name="GitHub", settings={"client_id": "Iv1.abc"})
        providers.create(uow, providers.registry(svc), "gh", "github", config, "gh-secret")
        enrolment = totp.begin(uow, svc, uow.users.get(user.id))
    # Dropping KEK1 before the rewrap is refused at start, naming the setting.
    problems = preflight.signing_key_problems(db_services(encryption_keys=KEK2).settings)
    assert [p.split(" are sealed")[0] for p in problems] == [
        "AUTHSERVER_ENCRYPTION_KEYS: upstream client secrets",
        "AUTHSERVER_ENCRYPTION_KEYS: authenticator app keys",
    ]
    both = db_services(encryption_keys=f"{KEK2},{KEK1}")
    assert preflight.signing_key_problems(both.settings) == []
    with both.db.engine.begin() as conn:
        assert sum(sealed_values.rewrap(conn, both.envelope).values()) == 2
    with both.db.engine.begin() as conn:
        assert sum(sealed_values.rewrap(conn, both.envelope).values()) == 0
    only_new = db_services(encryption_keys=KEK2)
    assert preflight.signing_key_problems(only_new.settings) == []
    with only_new.db.unit_of_work() as uow:
        assert providers.client_secret(only_new.envelope, providers.get(uow, "gh")) == "gh-secret"
        factor = uow.session.get(TotpFactor, enrolment.factor_id)
        assert only_new.envelope.decrypt(factor.secret_sealed, f"totp:{factor.id}:secret")
