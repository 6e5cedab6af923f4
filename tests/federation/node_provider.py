"""node-oidc-provider (npm, ``tests/federation/node_upstream``) as a real upstream OpenID
Provider: ``node server.mjs`` on a free port, ready when its discovery document answers;
always killed."""

from __future__ import annotations

import json
import os
import secrets
import shutil
import signal
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx2 as httpx
import pytest

from tests.conftest import IN_CI
from tests.servers import free_port

FOLDER = Path(__file__).resolve().parent / "node_upstream"
NODE = shutil.which("node") or "/usr/bin/node"


@dataclass
class NodeUpstream:
    url: str
    client_id: str
    client_secret: str
    log: Path


def _missing(message: str) -> None:
    if IN_CI:
        pytest.fail(f"{message}: CI must run the node-oidc-provider tests", pytrace=False)
    pytest.skip(message)


@contextmanager
def running_node_upstream(
    workdir: Path,
    callback: str,
    accounts: dict[str, dict[str, Any]],
    *,
    ignore_reauth: bool = False,
) -> Iterator[NodeUpstream]:
    """``accounts``: login -> claims (e-mail, e-mail verified, name, groups).
    ``ignore_reauth``: it answers from its session whatever `prompt=login`/`max_age` ask."""
    if not (FOLDER / "node_modules" / "oidc-provider").is_dir():
        _missing(f"oidc-provider is not installed (npm ci --prefix {FOLDER})")
    if not Path(NODE).exists():
        _missing("node is missing (apt-get install nodejs)")
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    client_id, client_secret = "authserver", secrets.token_urlsafe(32)
    env = {
        **os.environ,
        "PORT": str(port),
        "CALLBACK": callback,
        "CLIENT_ID": client_id,
        "CLIENT_SECRET": client_secret,
        "ACCOUNTS": json.dumps(accounts),
        "IGNORE_REAUTH": "1" if ignore_reauth else "0",
    }
    workdir.mkdir(parents=True, exist_ok=True)
    log = workdir / f"node-upstream-{port}.log"
    with open(log, "wb") as out:
        process = subprocess.Popen(
            [NODE, str(FOLDER / "server.mjs")],
            env=env,
            cwd=FOLDER,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        deadline = time.time() + 30
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"node-oidc-provider exited:\n{log.read_text()}")
            try:
                r = httpx.get(f"{url}/.well-known/openid-configuration", timeout=2)
                if r.status_code == 200 and r.json()["issuer"] == url:
                    break
            except httpx.HTTPError:
                pass
            if time.time() > deadline:
                raise RuntimeError(f"node-oidc-provider not ready:\n{log.read_text()}")
            time.sleep(0.1)
        yield NodeUpstream(url, client_id, client_secret, log)
    finally:
        try:
            os.killpg(process.pid, signal.SIGTERM)
            process.wait(timeout=10)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
