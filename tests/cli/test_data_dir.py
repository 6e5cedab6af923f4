"""One home for state: the server and every command resolve the same data directory from
any folder, and a database left in the current folder by 0.1 is not silently replaced."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from tests.servers import ROOT


def authserver(cwd: Path, *argv: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith("AUTHSERVER_")}
    return subprocess.run(
        [sys.executable, "-m", "authserver", *argv],
        cwd=cwd,
        env={**base, **env, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_commands_in_different_folders_share_the_default_data_directory(tmp_path):
    env = {
        "XDG_DATA_HOME": str(tmp_path / "xdg"),
        "AUTHSERVER_ARGON2_MEMORY_KIB": "8192",
        "AUTHSERVER_ARGON2_TIME_COST": "1",
    }
    one, two = tmp_path / "one", tmp_path / "two"
    one.mkdir()
    two.mkdir()
    created = authserver(one, "clients", "create", "--name", "A", "--scope", "x", "--json", env=env)
    assert created.returncode == 0, created.stderr
    state = tmp_path / "xdg" / "authserver"
    assert f"data directory {state}" in created.stderr  # a new, empty database is named
    listed = authserver(two, "clients", "list", "--json", env=env)
    assert [c["client_id"] for c in json.loads(listed.stdout)] == [
        json.loads(created.stdout)["client_id"]
    ]
    assert "no clients or users yet" not in listed.stderr
    assert not list(one.iterdir()) and not list(two.iterdir())


def test_the_default_data_directory_holds_the_database_keys_and_outbox(cli, monkeypatch, tmp_path):
    monkeypatch.delenv("AUTHSERVER_DATA_DIR")
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    state = tmp_path / "xdg" / "authserver"
    values = {r["name"]: (r["value"], r["source"]) for r in cli("config", "show", "--json").json()}
    assert values["AUTHSERVER_DATA_DIR"] == (str(state), "default")
    assert values["AUTHSERVER_DATABASE_URL"][0] == f"sqlite:///{state}/authserver.db"
    assert values["AUTHSERVER_KEYS_DIR"][0] == str(state / "keys")
    assert values["AUTHSERVER_MAIL_OUTBOX_DIR"][0] == str(state / "outbox")
    monkeypatch.delenv("XDG_DATA_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    values = {r["name"]: r["value"] for r in cli("config", "show", "--json").json()}
    assert values["AUTHSERVER_DATA_DIR"] == str(tmp_path / "home/.local/share/authserver")


def test_relative_paths_are_inside_the_data_directory(cli, data_dir, monkeypatch):
    monkeypatch.setenv("AUTHSERVER_KEYS_DIR", "signing")
    monkeypatch.setenv("AUTHSERVER_DATABASE_URL", "sqlite:///db/main.db")
    rows = {r["name"]: r for r in cli("config", "show", "--json").json()}
    assert rows["AUTHSERVER_KEYS_DIR"]["value"] == str(data_dir / "signing")
    assert rows["AUTHSERVER_KEYS_DIR"]["source"] == "environment"
    assert rows["AUTHSERVER_DATABASE_URL"]["value"] == f"sqlite:///{data_dir}/db/main.db"
    assert cli("migrate").code == 0 and (data_dir / "db" / "main.db").is_file()


def test_a_database_left_by_0_1_in_the_current_folder_stops_the_commands(cli, monkeypatch):
    monkeypatch.delenv("AUTHSERVER_DATA_DIR")  # the default, as after an upgrade
    Path("data").mkdir()
    Path("data/authserver.db").write_bytes(b"")
    for argv in (("clients", "list"), ("migrate",), ("serve",)):
        r = cli(*argv)
        assert r.code == 2 and "AUTHSERVER_DATA_DIR" in r.err and "data/authserver.db" in r.err
    r = cli("config", "check")
    assert r.code == 2 and "AUTHSERVER_DATA_DIR" in r.out
    monkeypatch.setenv("AUTHSERVER_DATA_DIR", str(Path("elsewhere").resolve()))
    assert cli("clients", "list").code == 0  # a choice was made: no more refusal
