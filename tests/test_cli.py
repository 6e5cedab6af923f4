"""The `authserver` command line, as an operator uses it (embedded default)."""

from __future__ import annotations

import json
import os
import stat
import time

import pytest

from authserver.cli import main
from authserver.keys import admin
from authserver.keys.keystore import KeyStore
from tests.servers import running_server


@pytest.fixture
def env(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    for key in list(os.environ):
        if key.startswith("AUTHSERVER_"):
            monkeypatch.delenv(key)
    monkeypatch.setenv("AUTHSERVER_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("AUTHSERVER_ARGON2_MEMORY_KIB", "8192")
    monkeypatch.setenv("AUTHSERVER_ARGON2_TIME_COST", "1")
    return tmp_path


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out = capsys.readouterr()
    return code, out.out, out.err


def test_clients_create_list_show_rotate_delete(env, capsys):
    code, out, _ = run(
        capsys,
        "clients",
        "create",
        "--name",
        "Billing",
        "--client-id",
        "billing",
        "--scope",
        "api:read api:write",
        "--json",
    )
    assert code == 0
    created = json.loads(out)
    assert created["client_id"] == "billing" and len(created["client_secret"]) >= 40
    assert created["grant_types"] == ["client_credentials"]
    code, out, _ = run(
        capsys,
        "clients",
        "create",
        "--name",
        "SPA",
        "--public",
        "--grant",
        "authorization_code",
        "--grant",
        "refresh_token",
        "--redirect-uri",
        "https://spa.example.com/cb",
        "--scope",
        "openid",
        "--json",
    )
    spa = json.loads(out)
    assert spa["client_secret"] is None and spa["token_endpoint_auth_method"] == "none"
    code, out, _ = run(
        capsys,
        "clients",
        "create",
        "--name",
        "App",
        "--allow-password",
        "--scope",
        "openid",
        "--json",
    )
    assert json.loads(out)["grant_types"] == ["password"]
    _, out, _ = run(capsys, "clients", "list", "--json")
    assert {c["client_id"] for c in json.loads(out)} >= {"billing", spa["client_id"]}
    _, out, _ = run(capsys, "clients", "show", "billing", "--json")
    assert json.loads(out)["scope"] == "api:read api:write"
    code, out, _ = run(capsys, "clients", "rotate-secret", "billing")
    assert code == 0 and out.startswith("client_secret: ")
    assert run(capsys, "clients", "delete", "billing")[0] == 0
    code, _, err = run(capsys, "clients", "show", "billing")
    assert code == 2 and err == "authserver: no client billing\n"


def test_invalid_client_metadata_is_refused_with_reasons(env, capsys):
    code, _, err = run(
        capsys,
        "clients",
        "create",
        "--name",
        "x",
        "--grant",
        "authorization_code",
        "--redirect-uri",
        "http://evil.example/cb",
        "--scope",
        "openid",
    )
    assert code == 2 and "must use https" in err


def test_users_create_and_list(env, capsys, monkeypatch):
    code, out, _ = run(
        capsys,
        "users",
        "create",
        "--email",
        "Ann@Example.com",
        "--role",
        "admin",
        "--password",
        "a long enough password",
        "--json",
    )
    assert code == 0 and json.loads(out)["email"] == "Ann@example.com"
    code, _, err = run(
        capsys,
        "users",
        "create",
        "--email",
        "ann@example.com",
        "--password",
        "another long password",
    )
    assert code == 2 and "already exists" in err
    code, _, err = run(
        capsys, "users", "create", "--email", "bob@example.com", "--password", "short"
    )
    assert code == 2 and "at least 8" in err
    _, out, _ = run(capsys, "users", "list", "--json")
    assert [u["role"] for u in json.loads(out)] == ["admin"]


def test_keys_list_rotate_retire(env, capsys):
    # The first key is created on first use.
    assert run(capsys, "migrate")[0] == 0

    admin.ensure_signing_key(KeyStore(env / "data" / "keys"), time.time(), 3660, 2048)
    _, out, _ = run(capsys, "keys", "list", "--json")
    (first,) = json.loads(out)["keys"]
    assert first["state"] == "active"
    code, out, _ = run(capsys, "keys", "rotate")
    assert code == 0 and "signs from" in out
    _, out, _ = run(capsys, "keys", "list", "--json")
    states = {k["kid"]: k["state"] for k in json.loads(out)["keys"]}
    assert sorted(states.values()) == ["active", "next"]
    code, _, err = run(capsys, "keys", "retire", first["kid"])
    assert code == 2 and ("rotate first" in err or "--force" in err)
    new_kid = next(k for k, s in states.items() if s == "next")
    assert run(capsys, "keys", "retire", new_kid)[0] == 0
    _, out, _ = run(capsys, "keys", "list", "--json")
    assert {k["kid"]: k["state"] for k in json.loads(out)["keys"]}[new_kid] == "retired"


def test_unsafe_settings_stop_the_command_with_the_name(env, capsys, monkeypatch):
    monkeypatch.setenv("AUTHSERVER_ISSUER", "http://auth.example.com")
    code, _, err = run(capsys, "serve")
    assert code == 2 and "AUTHSERVER_ISSUER" in err


@pytest.mark.slow
def test_serve_on_a_fresh_machine_needs_nothing_else(tmp_path):
    """The README's first command: an empty folder, no settings, no services. The state
    goes to the default data directory, not the current folder."""
    home = tmp_path / "xdg"
    env = {
        "AUTHSERVER_ARGON2_MEMORY_KIB": "8192",
        "AUTHSERVER_ARGON2_TIME_COST": "1",
        "XDG_DATA_HOME": str(home),
    }
    with running_server(env, tmp_path) as server, server.client() as http:
        assert http.get("/readyz").status_code == 200
        pems = list((home / "authserver" / "keys").glob("*.pem"))
        assert len(pems) == 1
        assert stat.S_IMODE(pems[0].stat().st_mode) == 0o600
        assert (home / "authserver" / "authserver.db").exists()
        assert not (tmp_path / "data").exists() and not (tmp_path / "keys").exists()
        assert len(http.get("/.well-known/jwks.json").json()["keys"]) == 1
