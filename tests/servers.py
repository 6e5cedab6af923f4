"""Real server processes for the end-to-end tests: `python -m authserver serve` on a free
port, settings through the environment, ready when /readyz says so; always killed."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx2 as httpx

ROOT = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Server:
    url: str
    process: subprocess.Popen[bytes]
    log: Path

    def client(self) -> httpx.Client:
        return httpx.Client(base_url=self.url, timeout=30)


@contextmanager
def running_server(
    env: dict[str, str],
    workdir: Path,
    port: int | None = None,
    extra_args: tuple[str, ...] = (),
    program: list[str] | None = None,
) -> Iterator[Server]:
    """``program`` (default: this checkout's ``python -m authserver``) ``serve``."""
    port = port or free_port()
    url = f"http://127.0.0.1:{port}"
    full_env = {
        **os.environ,
        "AUTHSERVER_ISSUER": env.get("AUTHSERVER_ISSUER", url),
        **env,
        "PYTHONPATH": str(ROOT),
    }
    if program is not None:  # an installed authserver: nothing from the checkout
        full_env.pop("PYTHONPATH")
    full_env.pop("CI", None)
    log = workdir / f"server-{port}.log"
    with open(log, "wb") as out:
        process = subprocess.Popen(
            [
                *(program or [sys.executable, "-m", "authserver"]),
                "serve",
                "--port",
                str(port),
                *extra_args,
            ],
            env=full_env,
            cwd=workdir,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        deadline = time.time() + 60
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"server exited:\n{log.read_text()}")
            try:
                if httpx.get(f"{url}/readyz", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.time() > deadline:
                raise RuntimeError(f"server not ready:\n{log.read_text()}")
            time.sleep(0.1)
        yield Server(url, process, log)
    finally:
        try:
            os.killpg(process.pid, signal.SIGTERM)
            process.wait(timeout=15)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
