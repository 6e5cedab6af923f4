"""``bench/run.py --compare``: node-oidc-provider, a bare Starlette floor and authserver in
one invocation, under the same wrk settings, with the ratios the targets are read from.

Every server runs pinned to core 0 (two-worker runs: unpinned), wrk on core 1, one wrk
thread, the same connections and duration; each run starts a fresh server, warms it for
2 s and measures. The raw RSA-2048 signing rate of core 0 is measured before and after.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from harness import (
    BENCH_PASSWORD,
    PYTHON,
    ROOT,
    SERVER_CORE,
    RssSampler,
    Series,
    authserver_env,
    drop_database,
    free_port,
    lua_each,
    lua_post,
    lua_refresh_chain,
    peak_rss_mib,
    raw_argon2_rate,
    raw_sign_rate,
    scratch_database,
    seed,
    start,
    start_authserver,
    stop,
    wrk,
)

PEER_DIR = ROOT / "bench" / "node-oidc-provider"
CC_BODY = "grant_type=client_credentials&scope=api:read"
PEER_SECRET = "x" * 43
NO_OPENID = "api:read"
WITH_OPENID = "openid email api:read"
FRESH_PER_RUN = 1000  # refresh chains broken by an error restart from these


@dataclass
class Plan:
    key: str
    label: str
    start: Callable[[], subprocess.Popen[bytes]]
    url: str
    lua: Callable[[int], Path | None]  # by run number
    warm: Path | None
    connections: int


def basic(client_id: str, secret: str) -> str:
    import base64

    return "Basic " + base64.b64encode(f"{client_id}:{secret}".encode()).decode()


def ensure_peer_installed() -> None:
    if not (PEER_DIR / "node_modules" / "oidc-provider").is_dir():
        print("# installing node-oidc-provider (npm ci) ...", flush=True)
        subprocess.run(
            ["npm", "ci", "--no-audit", "--no-fund", "--silent"], cwd=PEER_DIR, check=True
        )


def measure_series(plan: Plan, runs: int, duration: float) -> Series:
    rps, p99s, errors, rss, load_rss = [], [], 0, 0.0, 0.0
    for run in range(runs):
        proc = plan.start()
        try:
            wrk(plan.url, plan.warm, 2, plan.connections)
            time.sleep(1)
            with RssSampler(proc.pid) as sampled:
                res = wrk(plan.url, plan.lua(run), duration, plan.connections)
            rss = max(rss, peak_rss_mib(proc.pid))
            load_rss = max(load_rss, sampled.largest)
        finally:
            stop(proc)
        rps.append(res.rps)
        p99s.append(res.p99_ms)
        errors += res.errors
    return Series(rps, p99s, errors, rss, load_rss)


def plans(args: argparse.Namespace, work: Path, raw_sign: float) -> tuple[list[Plan], dict]:
    out: list[Plan] = []
    lua = work / "lua"
    lua.mkdir()
    extra: dict[str, float] = {}

    # node-oidc-provider
    peer_port = free_port()
    peer_env = {**os.environ, "PORT": str(peer_port), "NODE_ENV": "production"}
    peer_base = f"http://127.0.0.1:{peer_port}"

    def start_peer() -> subprocess.Popen[bytes]:
        return start(
            ["node", "server.mjs"],
            peer_env,
            str(PEER_DIR),
            f"{peer_base}/.well-known/openid-configuration",
            SERVER_CORE,
        )

    peer_cc = lua_post(lua / "peer_cc.lua", CC_BODY, basic("cc", PEER_SECRET))
    out += [
        Plan(
            "peer.cc",
            "node-oidc-provider",
            start_peer,
            f"{peer_base}/token",
            lambda _: peer_cc,
            peer_cc,
            args.connections,
        ),
        Plan(
            "peer.jwks",
            "node-oidc-provider",
            start_peer,
            f"{peer_base}/jwks",
            lambda _: None,
            None,
            args.connections,
        ),
    ]

    # The floor
    floor_port = free_port()
    floor_env = {
        **os.environ,
        "FLOOR_CLIENT_ID": "cc",
        "FLOOR_CLIENT_SECRET": PEER_SECRET,
        "FLOOR_ISSUER": f"http://127.0.0.1:{floor_port}",
        "PYTHONPATH": str(ROOT),
    }
    floor_base = f"http://127.0.0.1:{floor_port}"

    def start_floor() -> subprocess.Popen[bytes]:
        argv = [
            PYTHON,
            "-m",
            "uvicorn",
            "bench.floor:app",
            "--port",
            str(floor_port),
            "--loop",
            "uvloop",
            "--http",
            "httptools",
            "--no-access-log",
            "--log-level",
            "warning",
        ]
        return start(argv, floor_env, str(ROOT), f"{floor_base}/jwks", SERVER_CORE)

    out += [
        Plan(
            "floor.cc",
            "bare Starlette + PyJWT floor",
            start_floor,
            f"{floor_base}/token",
            lambda _: peer_cc,
            peer_cc,
            args.connections,
        ),
        Plan(
            "floor.jwks",
            "bare Starlette floor",
            start_floor,
            f"{floor_base}/jwks",
            lambda _: None,
            None,
            args.connections,
        ),
    ]

    # authserver, embedded (SQLite)
    sq_dir = work / "sqlite"
    sq_dir.mkdir()
    sq_port = free_port()
    sq_env = authserver_env(sq_dir, sq_port, None, None)
    sq = seed(sq_env, {"password": BENCH_PASSWORD})
    sq_base = f"http://127.0.0.1:{sq_port}"
    sq_cc = lua_post(lua / "sq_cc.lua", CC_BODY, sq["cc"])
    pw_body = "grant_type=password&username=bench%40example.com&password=" + (
        BENCH_PASSWORD.replace(" ", "+")
    )
    sq_pw = lua_post(lua / "sq_pw.lua", pw_body, sq["app"])
    from authserver.settings import load_settings

    extra["argon2"] = raw_argon2_rate(load_settings(sq_env, env_file=None))

    def start_sq() -> subprocess.Popen[bytes]:
        return start_authserver(sq_env, sq_port, 1)

    out += [
        Plan(
            "sqlite.cc",
            "authserver, SQLite",
            start_sq,
            f"{sq_base}/token",
            lambda _: sq_cc,
            sq_cc,
            args.connections,
        ),
        Plan(
            "sqlite.jwks",
            "authserver, SQLite",
            start_sq,
            f"{sq_base}/.well-known/jwks.json",
            lambda _: None,
            None,
            args.connections,
        ),
        # argon2id takes ~100 ms a hash: 8 connections saturate it.
        Plan(
            "sqlite.password",
            "authserver, SQLite",
            start_sq,
            f"{sq_base}/token",
            lambda _: sq_pw,
            sq_pw,
            min(8, args.connections),
        ),
    ]

    # authserver, production (PostgreSQL + Redis)
    pg_dir = work / "pg"
    pg_dir.mkdir()
    pg_port = free_port()
    pg_env = authserver_env(pg_dir, pg_port, args.database_url, args.redis_url)
    runs = args.runs
    codes_per_run = int(raw_sign * 0.6 * args.duration) + 1000
    refresh_files = {}
    spec_refresh = []
    for scope_name, scope in (("plain", NO_OPENID), ("openid", WITH_OPENID)):
        for workers in (1, 2):
            f = pg_dir / f"refresh_{scope_name}_{workers}.txt"
            refresh_files[(scope_name, workers)] = f
            spec_refresh.append({"scope": scope, "count": FRESH_PER_RUN * runs, "file": str(f)})
    codes_file = pg_dir / "codes.txt"
    pg = seed(
        pg_env,
        {
            "password": BENCH_PASSWORD,
            "refresh": spec_refresh,
            "codes": {"count": codes_per_run * runs, "file": str(codes_file)},
        },
    )
    pg_base = f"http://127.0.0.1:{pg_port}"
    pg_cc = lua_post(lua / "pg_cc.lua", CC_BODY, pg["cc"])

    def slices(source: Path, per_run: int, name: str) -> list[Path]:
        lines = source.read_text().split()
        paths = []
        for run in range(runs):
            p = lua / f"{name}_{run}.txt"
            p.write_text("\n".join(lines[run * per_run : (run + 1) * per_run]) + "\n")
            paths.append(p)
        return paths

    def refresh_lua(scope_name: str, workers: int) -> Callable[[int], Path]:
        files = slices(
            refresh_files[(scope_name, workers)], FRESH_PER_RUN, f"rt_{scope_name}_{workers}"
        )
        luas = [
            lua_refresh_chain(lua / f"rt_{scope_name}_{workers}_{r}.lua", files[r], pg["app"])
            for r in range(runs)
        ]
        return lambda run: luas[run]

    code_files = slices(codes_file, codes_per_run, "codes")
    code_prefix = (
        "grant_type=authorization_code&redirect_uri="
        + pg["redirect_uri"].replace(":", "%3A").replace("/", "%2F")
        + "&code_verifier="
        + pg["code_verifier"]
        + "&code="
    )
    code_luas = [
        lua_each(lua / f"code_{r}.lua", code_files[r], code_prefix, pg["web"]) for r in range(runs)
    ]

    def start_pg(workers: int) -> Callable[[], subprocess.Popen[bytes]]:
        return lambda: start_authserver(pg_env, pg_port, workers)

    out += [
        Plan(
            "pg.cc",
            "authserver, PostgreSQL + Redis",
            start_pg(1),
            f"{pg_base}/token",
            lambda _: pg_cc,
            pg_cc,
            args.connections,
        ),
        Plan(
            "pg.refresh",
            "refresh_token, scope without openid (1 signature)",
            start_pg(1),
            f"{pg_base}/token",
            refresh_lua("plain", 1),
            pg_cc,
            args.connections,
        ),
        Plan(
            "pg.refresh_openid",
            "refresh_token, scope with openid (2 signatures)",
            start_pg(1),
            f"{pg_base}/token",
            refresh_lua("openid", 1),
            pg_cc,
            args.connections,
        ),
        Plan(
            "pg.code",
            "authorization_code + PKCE + ID token",
            start_pg(1),
            f"{pg_base}/token",
            lambda run: code_luas[run],
            pg_cc,
            args.connections,
        ),
        Plan(
            "pg.refresh.2w",
            "refresh_token without openid, 2 workers unpinned",
            start_pg(2),
            f"{pg_base}/token",
            refresh_lua("plain", 2),
            pg_cc,
            args.connections,
        ),
        Plan(
            "pg.refresh_openid.2w",
            "refresh_token with openid, 2 workers unpinned",
            start_pg(2),
            f"{pg_base}/token",
            refresh_lua("openid", 2),
            pg_cc,
            args.connections,
        ),
    ]
    return out, extra


@dataclass
class Target:
    what: str
    value: float | None
    bound: float
    text: str  # how the value is shown
    higher_is_better: bool = True

    @property
    def met(self) -> bool | None:
        if self.value is None:
            return None
        return self.value >= self.bound if self.higher_is_better else self.value <= self.bound


def targets(r: dict[str, Series], argon2: float) -> list[Target]:
    def ratio(a: str, b: str) -> float | None:
        return r[a].median / r[b].median if a in r and b in r else None

    out: list[Target] = []
    for db, name in (("sqlite", "SQLite"), ("pg", "PostgreSQL + Redis")):
        out.append(
            Target(
                f"client_credentials {name} / node-oidc-provider",
                ratio(f"{db}.cc", "peer.cc"),
                1.15,
                "x",
            )
        )
        out.append(
            Target(f"client_credentials {name} / floor", ratio(f"{db}.cc", "floor.cc"), 0.85, "%")
        )
        if f"{db}.cc" in r and "peer.cc" in r:
            out.append(
                Target(
                    f"client_credentials {name} p99 / peer's p99",
                    r[f"{db}.cc"].p99 / r["peer.cc"].p99,
                    1.0,
                    "x",
                    higher_is_better=False,
                )
            )
    out += [
        Target(
            "refresh_token without openid / client_credentials (PG)",
            ratio("pg.refresh", "pg.cc"),
            0.60,
            "%",
        ),
        Target(
            "refresh_token with openid / client_credentials (PG)",
            ratio("pg.refresh_openid", "pg.cc"),
            0.40,
            "%",
        ),
        Target(
            "refresh_token without openid: 2 workers / 1",
            ratio("pg.refresh.2w", "pg.refresh"),
            1.8,
            "x",
        ),
        Target(
            "refresh_token with openid: 2 workers / 1",
            ratio("pg.refresh_openid.2w", "pg.refresh_openid"),
            1.8,
            "x",
        ),
        Target(
            "authorization_code / client_credentials (PG)", ratio("pg.code", "pg.cc"), 0.35, "%"
        ),
        Target("JWKS / node-oidc-provider", ratio("sqlite.jwks", "peer.jwks"), 1.5, "x"),
        Target(
            "password / argon2id verifications per second",
            r["sqlite.password"].median / argon2 if "sqlite.password" in r else None,
            0.90,
            "%",
        ),
    ]
    single = {
        k: s for k, s in r.items() if k.startswith(("sqlite.", "pg.")) and not k.endswith(".2w")
    }
    out.append(
        Target(
            "RSS of one worker under load (largest VmRSS sampled while measured), MiB",
            max(s.load_rss_mib for s in single.values()) if single else None,
            150,
            "MiB",
            higher_is_better=False,
        )
    )
    hashing = [s.load_rss_mib for k, s in single.items() if not k.endswith(".password")]
    out.append(
        Target(
            "the same, outside the password grant (argon2id holds 64 MiB per hash), MiB",
            max(hashing) if hashing else None,
            150,
            "MiB",
            higher_is_better=False,
        )
    )
    return out


def shown(t: Target) -> str:
    if t.value is None:
        return "n/a"
    if t.text == "%":
        return f"{t.value:.0%} (target >= {t.bound:.0%})"
    if t.text == "MiB":
        return f"{t.value:.0f} MiB (target <= {t.bound:.0f})"
    sign = ">=" if t.higher_is_better else "<="
    return f"{t.value:.2f}x (target {sign} {t.bound:.2f}x)"


def report(
    results: dict[str, Series],
    labels: dict[str, str],
    raw_before: float,
    raw_after: float,
    argon2: float,
    args: argparse.Namespace,
) -> list[str]:
    lines = [
        f"Date: {time.strftime('%Y-%m-%d %H:%M')}; load average before the run: "
        f"{args.load_before}; {args.runs} x {args.duration} s, {args.connections} connections, "
        "server on core 0 (two workers: unpinned), wrk on core 1.",
        f"Raw RSA-2048 signing, core 0: {raw_before:,.0f}/s before, {raw_after:,.0f}/s after; "
        f"argon2id verifications: {argon2:.1f}/s.",
        "",
        "| scenario | server | req/s median (min-max) | p99 ms | errors "
        "| RSS under load / peak MiB |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for key, s in results.items():
        lines.append(
            f"| {key} | {labels[key]} | {s.summary().strip()} | {s.p99:,.1f} | {s.errors} "
            f"| {s.load_rss_mib:.0f} / {s.peak_rss_mib:.0f} |"
        )
    lines += ["", "| target | measured | met |", "| --- | --- | --- |"]
    for t in targets(results, argon2):
        met = {True: "yes", False: "**no**", None: "n/a"}[t.met]
        lines.append(f"| {t.what} | {shown(t)} | {met} |")
    return lines


def main(args: argparse.Namespace) -> int:
    if not shutil.which("wrk"):
        raise SystemExit("wrk is needed: apt-get install wrk")
    ensure_peer_installed()
    args.load_before = " ".join(Path("/proc/loadavg").read_text().split()[:3])
    work = Path(tempfile.mkdtemp(prefix="authserver-compare-"))
    args.database_url = scratch_database(args.postgres, "_cmp")
    try:
        raw_before = raw_sign_rate(3)
        print(f"# raw RSA-2048 sign rate, core 0, before: {raw_before:,.0f}/s", flush=True)
        all_plans, extra = plans(args, work, raw_before)
        only = set(args.only.split(",")) if args.only else None
        results: dict[str, Series] = {}
        labels = {}
        for plan in all_plans:
            if only and plan.key not in only:
                continue
            s = measure_series(plan, args.runs, args.duration)
            results[plan.key], labels[plan.key] = s, plan.label
            print(
                f"{plan.key:<22}{s.summary():>28}  p99 {s.p99:8.1f} ms  errors {s.errors}"
                f"  rss {s.load_rss_mib:.0f} MiB under load, peak {s.peak_rss_mib:.0f}",
                flush=True,
            )
        raw_after = raw_sign_rate(3)
        print(f"# raw RSA-2048 sign rate, core 0, after: {raw_after:,.0f}/s")
        lines = report(results, labels, raw_before, raw_after, extra["argon2"], args)
        print("\n".join(lines))
        if args.markdown:
            Path(args.markdown).write_text("\n".join(lines) + "\n")
        return 0
    finally:
        shutil.rmtree(work, ignore_errors=True)
        drop_database(args.postgres, args.database_url)
