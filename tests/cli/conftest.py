"""The command line as an operator runs it: in-process through ``main()`` with the
environment of a fresh shell (embedded default, the data directory in a temporary folder)."""

from __future__ import annotations

import io
import json
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from authserver.app import create_app
from authserver.cli import main
from authserver.settings import load_settings


@dataclass
class Result:
    code: int
    out: str
    err: str

    def json(self) -> Any:
        assert self.code == 0, self.err
        return json.loads(self.out)


Cli = Callable[..., Result]


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    for key in list(os.environ):
        if key.startswith("AUTHSERVER_"):
            monkeypatch.delenv(key)
    monkeypatch.setenv("AUTHSERVER_DATA_DIR", str(tmp_path / "state"))
    monkeypatch.setenv("AUTHSERVER_ARGON2_MEMORY_KIB", "8192")
    monkeypatch.setenv("AUTHSERVER_ARGON2_TIME_COST", "1")
    return tmp_path / "state"


@pytest.fixture
def cli(data_dir: Path, capsys: pytest.CaptureFixture[str], monkeypatch) -> Cli:
    def run(*argv: str, stdin: str = "") -> Result:
        monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
        try:
            code = main(list(argv))
        except SystemExit as exc:  # --help, --version, usage mistakes
            code = int(exc.code or 0)
        captured = capsys.readouterr()
        return Result(code, captured.out, captured.err)

    return run


@pytest.fixture
def server(data_dir: Path) -> Iterator[Callable[[], Any]]:
    """The server on the same settings as the commands, over HTTP in process."""

    @contextmanager
    def start() -> Iterator[TestClient]:
        settings = load_settings(env_file=None)
        with TestClient(create_app(settings), base_url=settings.issuer) as http:
            yield http

    yield start
