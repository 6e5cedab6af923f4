"""Every command is listed in its group's --help, takes --json and prints JSON with it;
usage mistakes are one line and exit code 2."""

from __future__ import annotations

import argparse
import json

from authserver import __version__
from authserver.cli import build_parser

# `serve` runs the server: its output is the JSON log, not a result.
NO_JSON = {("serve",)}


def leaves(parser: argparse.ArgumentParser, path: tuple[str, ...] = ()):
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield from leaves(sub, (*path, name))
            return
    yield path, parser


def commands() -> set[tuple[str, ...]]:
    return {path for path, _ in leaves(build_parser())}


def test_every_group_help_lists_all_its_actions_and_every_action_takes_json(cli):
    parser = build_parser()
    for path, leaf in leaves(parser):
        if len(path) == 2:
            r = cli(path[0], "--help")
            listed = {line.split()[0] for line in r.out.splitlines() if line.startswith("    ")}
            assert r.code == 0 and path[1] in listed, (path, r.out)
        if path not in NO_JSON:
            assert "--json" in leaf.format_help(), path
    top = cli("--help").out
    assert all(f"    {path[0]}" in top for path in commands())


def test_version_and_usage_mistakes(cli):
    r = cli("--version")
    assert r.code == 0 and r.out.strip() == f"authserver {__version__}"
    r = cli("clients", "create", "--name", "x")
    assert r.code == 2 and r.err.count("\n") == 1
    assert "--scope" in r.err and "authserver clients create --help" in r.err
    r = cli("clients", "frobnicate")
    assert r.code == 2 and r.err.count("\n") == 1 and "invalid choice" in r.err
    # A kid from an older release may start with "-": the mistake says how to pass it.
    r = cli("keys", "retire", "-d_TL6BH52qBhY")
    assert r.code == 2 and r.err.count("\n") == 1 and "after `--`" in r.err
    r = cli("keys", "retire", "--json", "--", "-d_TL6BH52qBhY")
    assert r.code == 2 and "no key -d_TL6BH52qBhY" in r.err


def test_every_command_prints_json(cli, data_dir, monkeypatch):
    """One operator session through every command with --json; each answer parses."""
    seen: set[tuple[str, ...]] = set()

    def run(*argv: str, stdin: str = "", lines: bool = False):
        r = cli(*argv, "--json", stdin=stdin)
        assert r.code == 0, (argv, r.err)
        path = next(p for p in commands() if tuple(argv[: len(p)]) == p)
        seen.add(path)
        if lines:
            return [json.loads(line) for line in r.out.splitlines()]
        return json.loads(r.out)

    assert run("migrate")["revision"]
    assert run("config", "show")[0]["name"] == "AUTHSERVER_DATA_DIR"
    assert run("config", "check")["ok"] is True
    assert run("config", "reference")["markdown"].startswith("# Configuration reference")
    boot = run(
        "admin",
        "bootstrap",
        "--email",
        "root@example.com",
        "--password-stdin",
        stdin="a long enough password\n",
    )
    assert boot["client_id"] == "admin-cli" and boot["client_secret"]
    c = run("clients", "create", "--name", "App", "--client-id", "app", "--scope", "api")
    assert c["client_secret"]
    assert [x["client_id"] for x in run("clients", "list")] == ["admin-cli", "app"]
    assert run("clients", "show", "app")["scope"] == "api"
    assert run("clients", "update", "app", "--scope", "api other")["scope"] == "api other"
    strict = run("clients", "update", "app", "--require-verified-email")
    assert strict["require_verified_email"] is True
    assert run("clients", "rotate-secret", "app")["client_secret"] != c["client_secret"]
    assert run("clients", "initial-token")["registration_endpoint"].endswith("/oauth/register")
    assert run("clients", "delete", "app")["deleted"] is True
    u = run(
        "users",
        "create",
        "--email",
        "ann@example.com",
        "--password-stdin",
        stdin="a long enough password\n",
    )
    assert run("users", "show", "ann@example.com")["id"] == u["id"]
    assert run("roles", "create", "billing")["name"] == "billing"
    assert "billing" in [r["name"] for r in run("roles", "list")]
    assert run("users", "set-roles", u["id"], "billing")["roles"] == ["billing", "user"]
    assert len(run("users", "list")) == 2
    assert run("users", "disable", u["id"])["disabled"] is True
    assert run("users", "enable", u["id"])["disabled"] is False
    assert run("users", "end-sessions", u["id"])["ended_sessions"] == 0
    assert run("mfa", "show", "ann@example.com")["factors"] == []
    assert run("mfa", "reset", u["id"])["factors_removed"] == 0
    assert run("users", "reset-password", u["id"])["link_sent"] is True
    assert run("users", "verify-email", "--unverify", u["id"])["email_verified"] is False
    assert run("users", "verify-email", u["id"])["email_verified"] is True
    assert run("users", "delete", u["id"])["deleted"] is True
    assert run("roles", "delete", "billing")["deleted"] == "billing"
    added = run(
        "providers",
        "add",
        "corp",
        "--kind",
        "oidc",
        "--name",
        "Corp SSO",
        "--issuer",
        "https://idp.corp.example",
        "--client-id",
        "authserver",
        "--domain",
        "corp.example",
        "--jit",
        "--group-role",
        "it-admins=admin",
        "--client-secret-stdin",
        stdin="upstream secret\n",
    )
    assert added["has_client_secret"] is True and "upstream secret" not in json.dumps(added)
    assert added["redirect_uri"].endswith("/federation/corp/callback")
    assert [p["id"] for p in run("providers", "list")] == ["corp"]
    assert run("providers", "show", "corp")["mapping"]["group_roles"] == {"it-admins": ["admin"]}
    assert run("providers", "test", "corp") == {
        "provider": "corp",
        "last_login": None,
        "last_refusal": None,
    }
    changed = run("providers", "update", "corp", "--domain", "", "--max-session", "3600")
    assert changed["domains"] == [] and changed["policy"]["max_session_seconds"] == 3600
    assert run("providers", "disable", "corp")["enabled"] is False
    assert run("providers", "enable", "corp")["enabled"] is True
    assert run("providers", "remove", "corp")["deleted"] is True
    listed = run("keys", "list")
    assert listed["rotation"] == {"interval": None, "next_at": None}
    (first,) = listed["keys"] or [None]
    new = run("keys", "rotate")
    assert run("keys", "retire", new["kid"])["retired"] is True
    assert first is None or first["state"] == "active"
    events = run("audit", "tail", lines=True)
    assert events[-1]["event"] == "key.retired"
    exported = run("audit", "export", lines=True)
    assert [e["event"] for e in exported][:2] == ["user.created", "client.created"]
    described = run("scopes", "describe", "photos:read", "--title", "See your photos")
    assert described["title"] == "See your photos"
    assert run("scopes", "list")["photos:read"]["en"]["title"] == "See your photos"
    assert run("scopes", "delete", "photos:read")["deleted"] is True
    assert run("cleanup")["deleted"] >= 0
    # The database key store: the folder's keys move in (once), sealed under the KEK.
    monkeypatch.setenv("AUTHSERVER_KEY_STORE", "database")
    monkeypatch.setenv("AUTHSERVER_ENCRYPTION_KEYS", "A" * 43)
    assert len(run("keys", "import-folder")["imported"]) == len(listed["keys"]) + 1
    assert run("keys", "import-folder")["imported"] == []
    assert run("keys", "rewrap")["rewrapped"] == 0
    assert seen >= commands() - NO_JSON, sorted(commands() - NO_JSON - seen)
