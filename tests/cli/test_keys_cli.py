"""The key commands on the database key store: the next scheduled rotation in `keys list`,
the move from a key folder, and `config check` naming a key-encryption key that does not
open the stored keys."""

from __future__ import annotations

import json

from authserver.cli.common import iso

KEK1 = "A" * 43
KEK2 = "B" * 43


def test_database_store_listing_import_and_a_wrong_kek(cli, monkeypatch):
    assert cli("migrate").code == 0
    folder_key = cli("keys", "rotate", "--now", "--json").json()["kid"]
    monkeypatch.setenv("AUTHSERVER_KEY_STORE", "database")
    monkeypatch.setenv("AUTHSERVER_ENCRYPTION_KEYS", KEK1)
    monkeypatch.setenv("AUTHSERVER_KEY_ROTATION_INTERVAL", "86400")
    assert cli("keys", "import-folder", "--json").json()["imported"] == [folder_key]
    listed = cli("keys", "list", "--json").json()
    (key,) = listed["keys"]
    assert key["kid"] == folder_key
    assert listed["rotation"] == {"interval": 86400, "next_at": key["created_at"] + 86400}
    text = cli("keys", "list").out
    assert f"next scheduled rotation: {iso(key['created_at'] + 86400)}" in text
    assert cli("config", "check", "--json").json()["ok"] is True

    monkeypatch.setenv("AUTHSERVER_ENCRYPTION_KEYS", KEK2)
    r = cli("config", "check", "--json")
    problems = json.loads(r.out)["problems"]
    assert r.code == 2 and any(
        folder_key in p and "AUTHSERVER_ENCRYPTION_KEYS" in p for p in problems
    )
    r = cli("keys", "rotate")
    # One line (after the note that the database has no users yet), no new key.
    assert r.code == 2 and "AUTHSERVER_ENCRYPTION_KEYS" in r.err.splitlines()[-1]
    assert "Traceback" not in r.err
    monkeypatch.delenv("AUTHSERVER_ENCRYPTION_KEYS")
    r = cli("keys", "list")
    assert r.code == 2 and "AUTHSERVER_ENCRYPTION_KEYS: needed with" in r.err
    r = cli("keys", "import-folder", "--from", "/nonexistent", "--json")
    assert r.code == 2
