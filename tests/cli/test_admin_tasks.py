"""What an operator does to users and for administration, checked against the running
server: bootstrap gives a working admin token, a reset or a delete takes effect."""

from __future__ import annotations

import json
import re
import shlex
from email import message_from_bytes
from email.message import Message

PASSWORD = "a long enough password"


def outbox(data_dir) -> list[Message]:
    return [message_from_bytes(p.read_bytes()) for p in sorted((data_dir / "outbox").glob("*"))]


def token(http, client_id: str, secret: str, email: str, password: str, scope: str = "openid"):
    return http.post(
        "/token",
        data={"grant_type": "password", "username": email, "password": password, "scope": scope},
        auth=(client_id, secret),
    )


def test_admin_bootstrap_prints_a_working_way_to_an_admin_token(cli, server):
    r = cli(
        "admin",
        "bootstrap",
        "--email",
        "root@example.com",
        "--password-stdin",
        stdin=PASSWORD + "\n",
    )
    assert r.code == 0, r.err
    curl = next(line for line in r.out.splitlines() if "grant_type=password" in line)
    words = shlex.split(curl[curl.index("curl") :].split("|")[0])
    client_id, secret = words[words.index("-u") + 1].split(":")
    with server() as http:
        access = token(http, client_id, secret, "root@example.com", PASSWORD, "admin")
        assert access.status_code == 200, access.text
        users = http.get(
            "/admin/users", headers={"Authorization": f"Bearer {access.json()['access_token']}"}
        )
        assert users.status_code == 200 and users.json()["items"][0]["role"] == "admin"
    again = cli("admin", "bootstrap", "--email", "two@example.com", "--password", PASSWORD)
    assert again.code == 2 and "exists already (root@example.com)" in again.err


def test_reset_disable_and_delete_take_effect(cli, server, data_dir):
    boot = json.loads(
        cli(
            "admin", "bootstrap", "--email", "root@example.com", "--password", PASSWORD, "--json"
        ).out
    )
    app = (boot["client_id"], boot["client_secret"])
    cli("users", "create", "--email", "ann@example.com", "--password-stdin", stdin=PASSWORD)
    with server() as http:
        first = token(http, *app, "ann@example.com", PASSWORD, "openid")
        assert first.status_code == 200

        r = cli(
            "users",
            "reset-password",
            "ann@example.com",
            "--password-stdin",
            stdin="the new long password\n",
        )
        assert r.code == 0 and "signed out everywhere" in r.out
        assert token(http, *app, "ann@example.com", PASSWORD).status_code == 400
        assert token(http, *app, "ann@example.com", "the new long password").status_code == 200
        bearer = {"Authorization": f"Bearer {first.json()['access_token']}"}
        assert http.get("/userinfo", headers=bearer).status_code == 401  # older tokens void
        changed = outbox(data_dir)[-1]
        assert changed["To"] == "ann@example.com" and "changed" in changed["Subject"]

        r = cli("users", "reset-password", "ann@example.com")
        assert r.code == 0 and "reset link was sent to ann@example.com" in r.out
        link = re.search(r"http\S+/password/reset\?token=\S+", outbox(data_dir)[-1].as_string())
        assert link

        assert cli("users", "disable", "ann@example.com").code == 0
        assert token(http, *app, "ann@example.com", "the new long password").status_code == 400
        assert cli("users", "enable", "ann@example.com").code == 0
        fresh = token(http, *app, "ann@example.com", "the new long password").json()
        assert cli("users", "delete", "ann@example.com").code == 0
        bearer = {"Authorization": f"Bearer {fresh['access_token']}"}
        assert http.get("/userinfo", headers=bearer).status_code == 401
        assert cli("users", "show", "ann@example.com").code == 2
    events = [json.loads(x)["event"] for x in cli("audit", "tail", "--json").out.splitlines()]
    assert events[-1] == "user.deleted" and "password.changed" in events


def test_audit_export_as_json_lines_and_csv_with_a_time_range(cli, data_dir, tmp_path):
    cli("clients", "create", "--name", "A", "--client-id", "a", "--scope", "x")
    cli("clients", "delete", "a")
    lines = cli("audit", "export").out.splitlines()
    assert [json.loads(x)["event"] for x in lines] == ["client.created", "client.deleted"]
    out = tmp_path / "audit.csv"
    r = cli("audit", "export", "--format", "csv", "--output", str(out), "--client", "a")
    assert r.code == 0 and "2 events written" in r.err
    rows = out.read_text().splitlines()
    assert rows[0].startswith("id,at,ts,event") and len(rows) == 3
    assert cli("audit", "export", "--until", "2000-01-01T00:00:00Z").out == ""
    bad = cli("audit", "export", "--since", "yesterday")
    assert bad.code == 2 and "not an ISO 8601 time" in bad.err


def test_clients_create_and_update_grant_and_withdraw_introspection(cli, server):
    def create(*extra: str) -> dict:
        r = cli("clients", "create", "--name", "X", "--scope", "x", *extra, "--json")
        assert r.code == 0, r.err
        return json.loads(r.out)

    api, svc = create("--allow-introspection"), create()
    assert api["allow_introspection"] is True and svc["allow_introspection"] is False

    def active(http, token: str) -> bool:
        auth = (api["client_id"], api["client_secret"])
        return http.post("/introspect", data={"token": token}, auth=auth).json()["active"]

    with server() as http:
        auth = (svc["client_id"], svc["client_secret"])
        cc = http.post("/token", data={"grant_type": "client_credentials"}, auth=auth).json()
        assert active(http, cc["access_token"]) is True
    r = cli("clients", "update", api["client_id"], "--no-allow-introspection")
    assert r.code == 0 and "allow_introspection" in r.out
    with server() as http:
        assert active(http, cc["access_token"]) is False


def test_initial_tokens_expire_by_default_and_can_be_limited(cli, server):
    r = cli("clients", "initial-token", "--json")
    assert r.code == 0, r.err
    default = json.loads(r.out)
    assert default["expires_in"] == 86_400 and default["max_uses"] is None
    once = json.loads(cli("clients", "initial-token", "--max-uses", "1", "--json").out)
    assert cli("clients", "initial-token", "--max-uses", "0").code == 2
    assert cli("clients", "initial-token", "--expires-in", "0").code == 2
    meta = {"redirect_uris": ["https://a.example/cb"]}
    with server() as http:
        bearer = {"Authorization": f"Bearer {once['initial_access_token']}"}
        assert http.post("/oauth/register", json=meta, headers=bearer).status_code == 201
        assert http.post("/oauth/register", json=meta, headers=bearer).status_code == 401
    events = [json.loads(x)["event"] for x in cli("audit", "tail", "--json").out.splitlines()]
    assert events.count("registration.initial_token_issued") == 2
    assert "registration.initial_token_used" in events
    assert "registration.initial_token_refused" in events


def test_user_changes_from_the_command_line_are_audited(cli):
    user = cli("users", "create", "--email", "ana@example.com", "--password", PASSWORD, "--json")
    user_id = user.json()["id"]
    for argv in (
        ("set-roles", user_id, "admin"),
        ("set-roles", user_id, "admin"),  # the same roles: nothing changes, nothing recorded
        ("disable", user_id),
        ("enable", "ana@example.com"),
        ("verify-email", user_id, "--unverify"),
    ):
        assert cli("users", *argv).code == 0, argv
    events = [json.loads(x) for x in cli("audit", "export", "--user", user_id).out.splitlines()]
    changed = [e["details"] for e in events if e["event"] == "user.changed"]
    assert [(d["via"], d["changes"]) for d in changed] == [
        ("cli", {"roles": ["admin", "user"]}),
        ("cli", {"disabled": True}),
        ("cli", {"disabled": False}),
        ("cli", {"email_verified": False}),
    ]
