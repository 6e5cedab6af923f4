"""What the benchmarks share: ceilings, wrk, Lua bodies, server processes, scratch databases.

Servers run pinned to core 0 (one worker) or unpinned (several); wrk is pinned to core 1.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PYTHON = sys.executable
BENCH_PASSWORD = "correct horse battery staple"
SERVER_CORE = "0"
LOAD_CORE = "1"

RAW_SIGN = """
import time
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa
key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
msg = b"x" * 300
n, t0 = 0, time.perf_counter()
while time.perf_counter() - t0 < {seconds}:
    key.sign(msg, padding.PKCS1v15(), hashes.SHA256()); n += 1
print(n / (time.perf_counter() - t0))
"""

RAW_ARGON2 = """
import time
from argon2 import PasswordHasher, Type
ph = PasswordHasher(time_cost={t}, memory_cost={m}, parallelism={p}, type=Type.ID)
h = ph.hash("pw")
n, t0 = 0, time.perf_counter()
while time.perf_counter() - t0 < {seconds}:
    ph.verify(h, "pw"); n += 1
print(n / (time.perf_counter() - t0))
"""


@dataclass
class Result:
    rps: float
    p99_ms: float
    errors: int


@dataclass
class Series:
    """The runs of one scenario."""

    rps: list[float]
    p99_ms: list[float]
    errors: int
    peak_rss_mib: float = 0.0
    # The largest resident size seen while the measured load ran (VmRSS, sampled).
    load_rss_mib: float = 0.0

    @property
    def median(self) -> float:
        return statistics.median(self.rps)

    @property
    def p99(self) -> float:
        return statistics.median(self.p99_ms)

    def summary(self) -> str:
        return f"{self.median:>9,.0f}  ({min(self.rps):,.0f}-{max(self.rps):,.0f})"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def pinned(core: str | None, argv: list[str]) -> list[str]:
    return ["taskset", "-c", core, *argv] if core and shutil.which("taskset") else argv


def measure(script: str, core: str = SERVER_CORE) -> float:
    out = subprocess.run(
        pinned(core, [PYTHON, "-c", script]), capture_output=True, text=True, check=True
    )
    return float(out.stdout.strip())


def raw_sign_rate(seconds: float = 3) -> float:
    """RSA-2048 PKCS#1 v1.5 SHA-256 signatures per second on the server's core."""
    return measure(RAW_SIGN.format(seconds=seconds))


def raw_argon2_rate(settings: object, seconds: float = 3) -> float:
    """argon2id verifications per second with the server's parameters, server's core."""
    return measure(
        RAW_ARGON2.format(
            t=settings.argon2_time_cost,  # type: ignore[attr-defined]
            m=settings.argon2_memory_kib,  # type: ignore[attr-defined]
            p=settings.argon2_parallelism,  # type: ignore[attr-defined]
            seconds=seconds,
        )
    )


def wrk(url: str, lua: Path | None, duration: float, connections: int) -> Result:
    argv = ["wrk", "-t1", f"-c{connections}", f"-d{duration}s", "--timeout", "30s", "--latency"]
    if lua:
        argv += ["-s", str(lua)]
    out = subprocess.run(
        pinned(LOAD_CORE, [*argv, url]), capture_output=True, text=True, check=True
    ).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    p99 = re.search(r"99%\s+([\d.]+)(us|ms|s)", out)
    assert p99 is not None, out
    scale = {"us": 0.001, "ms": 1.0, "s": 1000.0}[p99.group(2)]
    errors = 0
    for pattern in (r"Non-2xx or 3xx responses:\s+(\d+)", r"Socket errors:.*?timeout (\d+)"):
        m = re.search(pattern, out)
        errors += int(m.group(1)) if m else 0
    return Result(rps, float(p99.group(1)) * scale, errors)


def lua_post(path: Path, body: str, auth: str | None = None) -> Path:
    headers = ['wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"']
    if auth:
        headers.append(f'wrk.headers["Authorization"] = "{auth}"')
    path.write_text(
        'wrk.method = "POST"\n' + f"wrk.body = {json.dumps(body)}\n" + "\n".join(headers) + "\n"
    )
    return path


def lua_each(path: Path, values_file: Path, prefix: str, auth: str) -> Path:
    """Each request sends ``prefix`` followed by the next line of ``values_file`` (codes:
    single use, so never sent twice; past the end the bench would replay and count errors)."""
    path.write_text(f"""
local values = {{}}
for line in io.lines("{values_file}") do values[#values + 1] = line end
local i = 0
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
wrk.headers["Authorization"] = "{auth}"
request = function()
  i = i + 1
  return wrk.format(nil, nil, nil, {json.dumps(prefix)} .. values[(i - 1) % #values + 1])
end
""")
    return path


def lua_refresh_chain(path: Path, tokens_file: Path, auth: str) -> Path:
    """Refresh rotation as clients do it: each request presents the refresh token the
    previous answer handed out (a chain per connection, so every token is used once);
    a chain that breaks (an error answer) is replaced from the pre-minted tokens."""
    path.write_text(f"""
local fresh = {{}}
for line in io.lines("{tokens_file}") do fresh[#fresh + 1] = line end
local next_fresh = 0
local ready = {{}}
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
wrk.headers["Authorization"] = "{auth}"
request = function()
  local token = table.remove(ready)
  if token == nil then
    next_fresh = next_fresh + 1
    token = fresh[(next_fresh - 1) % #fresh + 1]
  end
  return wrk.format(nil, nil, nil, "grant_type=refresh_token&refresh_token=" .. token)
end
response = function(status, headers, body)
  local token = string.match(body, '"refresh_token":"([^"]+)"')
  if token then ready[#ready + 1] = token end
end
""")
    return path


def wait_ready(proc: subprocess.Popen[bytes], url: str, timeout: float = 30) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"server exited ({proc.returncode}) before {url} answered")
        try:
            with urllib.request.urlopen(url, timeout=1) as r:
                if r.status == 200:
                    return
        except OSError:
            time.sleep(0.2)
    stop(proc)
    raise SystemExit(f"server did not become ready: {url}")


def start(
    argv: list[str], env: dict[str, str], cwd: str, ready_url: str, core: str | None
) -> subprocess.Popen[bytes]:
    proc = subprocess.Popen(
        pinned(core, argv),
        env=env,
        cwd=cwd,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    wait_ready(proc, ready_url)
    return proc


def stop(proc: subprocess.Popen[bytes]) -> None:
    try:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=10)
    except (ProcessLookupError, subprocess.TimeoutExpired):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)


def _process_tree(pid: int) -> list[int]:
    pids = [pid]
    with contextlib.suppress(OSError):
        pids += [int(c) for c in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    return pids


def rss_mib(pid: int, field: str = "VmRSS") -> float:
    """The largest ``field`` (VmRSS now, VmHWM the peak) of a process and its children."""
    largest = 0
    for p in _process_tree(pid):
        try:
            status = Path(f"/proc/{p}/status").read_text()
        except OSError:
            continue
        m = re.search(rf"{field}:\s+(\d+) kB", status)
        largest = max(largest, int(m.group(1)) if m else 0)
    return largest / 1024


class RssSampler:
    """The largest VmRSS of a process tree while a block runs (sampled every 0.2 s): the
    memory a worker needs under load, which the peak (VmHWM) overstates when start-up
    touched more (the argon2id dummy hash, 64 MiB, computed once at start)."""

    def __init__(self, pid: int) -> None:
        self.pid, self.largest = pid, 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.wait(0.2):
            self.largest = max(self.largest, rss_mib(self.pid))

    def __enter__(self) -> RssSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.largest = max(self.largest, rss_mib(self.pid))


def peak_rss_mib(pid: int) -> float:
    """The largest peak RSS (VmHWM) of a process and its children (uvicorn workers)."""
    return rss_mib(pid, "VmHWM")


def authserver_env(
    work: Path, port: int, database_url: str | None, redis_url: str | None
) -> dict[str, str]:
    env = {
        **os.environ,
        "BENCH_DIR": str(work),
        "AUTHSERVER_ISSUER": f"http://127.0.0.1:{port}",
        "AUTHSERVER_DATABASE_URL": database_url or f"sqlite:///{work}/bench.db",
        "AUTHSERVER_KEYS_DIR": str(work / "keys"),
        "AUTHSERVER_AUTO_MIGRATE": "true",
        "PYTHONPATH": str(ROOT),
    }
    if redis_url:
        env["AUTHSERVER_REDIS_URL"] = redis_url
        env["AUTHSERVER_REDIS_PREFIX"] = f"bench-{port}:"
    return env


def start_authserver(env: dict[str, str], port: int, workers: int) -> subprocess.Popen[bytes]:
    # One worker: pinned to core 0 (the load generator has core 1). Several: unpinned.
    core = SERVER_CORE if workers == 1 else None
    argv = [PYTHON, "-m", "authserver", "serve", "--port", str(port), "--workers", str(workers)]
    return start(argv, env, env["BENCH_DIR"], f"http://127.0.0.1:{port}/readyz", core)


def seed(env: dict[str, str], spec: dict[str, object]) -> dict[str, str]:
    """Clients, a user, refresh tokens and codes (bench/seed.py); returns credentials."""
    argv = [PYTHON, str(ROOT / "bench" / "seed.py"), json.dumps(spec)]
    out = subprocess.run(
        argv, env=env, cwd=env["BENCH_DIR"], capture_output=True, text=True, check=True
    )
    creds: dict[str, str] = json.loads(out.stdout.strip().splitlines()[-1])
    return creds


def scratch_database(admin_url: str, tag: str = "") -> str:
    import sqlalchemy as sa

    name = f"authserver_bench_{os.getpid()}{tag}"
    engine = sa.create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}"'))
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    engine.dispose()
    return sa.engine.make_url(admin_url).set(database=name).render_as_string(hide_password=False)


def drop_database(admin_url: str, database_url: str) -> None:
    import sqlalchemy as sa

    name = sa.engine.make_url(database_url).database
    engine = sa.create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    engine.dispose()
