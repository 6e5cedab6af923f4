"""Load benchmark of a real authserver process.

    python bench/run.py [--duration 20] [--runs 3] [--connections 64]
                        [--postgres ADMIN_URL] [--redis-url redis://...]
                        [--workers 1] [--only client_credentials,jwks,...]
                        [--profile DIR]
    python bench/run.py --compare [--duration 10] [--runs 3]     (see bench/compare.py)

The server runs under uvicorn (uvloop + httptools) pinned to core 0 with `taskset`; `wrk`
runs pinned to core 1. Before each run, the same core measures the raw ceiling: RSA-2048
PKCS#1 v1.5 SHA-256 signs per second, or argon2id verifications per second with the
server's parameters. Every result is printed beside the ceiling that bounds it and the
ratio. Medians of ``--runs`` runs, with min-max.

``--profile DIR`` records each scenario's last run with py-spy (``--gil --native``, the
GIL holder's stacks) into DIR/<scenario>.txt and prints its top frames.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from harness import (
    BENCH_PASSWORD,
    LOAD_CORE,
    PYTHON,
    ROOT,
    authserver_env,
    drop_database,
    free_port,
    lua_each,
    lua_post,
    lua_refresh_chain,
    pinned,
    raw_argon2_rate,
    raw_sign_rate,
    scratch_database,
    seed,
    start_authserver,
    stop,
    wrk,
)

SCENARIOS = "client_credentials,refresh_token,authorization_code,password,jwks,introspection"
CC_BODY = "grant_type=client_credentials&scope=api:read"


def main() -> int:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--compare", action="store_true", help="peer, floor and authserver")
    ap.add_argument("--duration", type=int, default=None, help="seconds (20; --compare: 10)")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--connections", type=int, default=64)
    ap.add_argument("--workers", type=int, default=1)
    ap.add_argument(
        "--postgres",
        metavar="ADMIN_URL",
        help="run on PostgreSQL: a scratch database is created through this URL "
        "(e.g. postgresql+psycopg://postgres@127.0.0.1/test) and dropped after",
    )
    ap.add_argument("--redis-url")
    ap.add_argument("--refresh-scope", default="openid email api:read")
    ap.add_argument("--only", default=None, help=f"scenarios (default: {SCENARIOS},admin_clients)")
    ap.add_argument("--profile", type=Path, metavar="DIR")
    ap.add_argument("--markdown", help="--compare: also write the report to this file")
    args = ap.parse_args()
    if not shutil.which("wrk"):
        raise SystemExit("wrk is needed: apt-get install wrk")
    if args.compare:
        import compare

        args.duration = args.duration or 10
        args.postgres = args.postgres or "postgresql+psycopg://postgres@127.0.0.1/test"
        args.redis_url = args.redis_url or "redis://127.0.0.1:6379/0"
        return compare.main(args)
    args.duration = args.duration or 20
    scenarios = (args.only or SCENARIOS + ",admin_clients").split(",")
    work = Path(tempfile.mkdtemp(prefix="authserver-bench-"))
    port = free_port()
    database_url = scratch_database(args.postgres) if args.postgres else None
    try:
        return bench(args, scenarios, work, port, database_url)
    finally:
        shutil.rmtree(work, ignore_errors=True)
        if args.postgres and database_url:
            drop_database(args.postgres, database_url)


def token_scenario(lua_dir: Path, name: str, base: str, creds: dict[str, str]) -> Path:
    """Lua for scenarios that need a token from the running server."""
    import httpx2

    if name == "introspection":
        r = httpx2.post(
            f"{base}/token",
            headers={"Authorization": creds["cc"]},
            data={"grant_type": "client_credentials"},
        )
        return lua_post(
            lua_dir / "introspect.lua", "token=" + r.json()["access_token"], creds["cc"]
        )
    r = httpx2.post(
        f"{base}/token",
        headers={"Authorization": creds["app"]},
        data={
            "grant_type": "password",
            "username": "bench@example.com",
            "password": BENCH_PASSWORD,
            "scope": "admin",
        },
    )
    path = lua_dir / "admin.lua"
    path.write_text(f'wrk.headers["Authorization"] = "Bearer {r.json()["access_token"]}"\n')
    return path


def slice_file(source: Path, run: int, per_run: int, dest: Path) -> Path:
    lines = source.read_text().split()
    dest.write_text("\n".join(lines[run * per_run : (run + 1) * per_run]) + "\n")
    return dest


def profile_start(pid: int, seconds: int, out: Path) -> subprocess.Popen[bytes]:
    argv = [str(Path(PYTHON).parent / "py-spy"), "record", "--gil", "--native", "--rate", "200"]
    argv += ["--format", "raw", "--duration", str(seconds), "--pid", str(pid), "-o", str(out)]
    return subprocess.Popen(
        pinned(LOAD_CORE, argv), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )


def bench(
    args: argparse.Namespace, scenarios: list[str], work: Path, port: int, database_url: str | None
) -> int:
    env = authserver_env(work, port, database_url, args.redis_url)
    from authserver.settings import load_settings

    settings = load_settings(env, env_file=None)
    print(
        f"# authserver bench: {args.workers} worker(s), {args.connections} connections, "
        f"{args.runs} x {args.duration}s, database {settings.database_url.split(':')[0]}, "
        f"redis {'yes' if settings.redis_url else 'no'}"
    )
    raw_sign = raw_sign_rate(3)
    raw_hash = raw_argon2_rate(settings)
    print(f"# raw RSA-2048 sign rate (core 0, this run): {raw_sign:,.0f}/s")
    print(f"# raw argon2id verify rate (core 0, this run): {raw_hash:,.1f}/s")
    fresh, codes_per_run = 1000, int(raw_sign * 0.6 * args.duration) + 1000
    creds = seed(
        env,
        {
            "password": BENCH_PASSWORD,
            "extra_clients": 10_000 if "admin_clients" in scenarios else 0,
            "refresh": [
                {"scope": args.refresh_scope, "count": fresh * args.runs, "file": f"{work}/rt.txt"}
            ]
            if "refresh_token" in scenarios
            else [],
            "codes": {"count": codes_per_run * args.runs, "file": f"{work}/codes.txt"}
            if "authorization_code" in scenarios
            else None,
        },
    )
    base = f"http://127.0.0.1:{port}"
    lua_dir = work / "lua"
    lua_dir.mkdir()
    cc_lua = lua_post(lua_dir / "cc.lua", CC_BODY, creds["cc"])
    pw_body = "grant_type=password&username=bench%40example.com&password=" + (
        BENCH_PASSWORD.replace(" ", "+")
    )
    code_prefix = (
        "grant_type=authorization_code&redirect_uri="
        + creds["redirect_uri"].replace(":", "%3A").replace("/", "%2F")
        + f"&code_verifier={creds['code_verifier']}&code="
    )
    plans = {
        "client_credentials": (f"{base}/token", raw_sign),
        "refresh_token": (f"{base}/token", raw_sign),
        "authorization_code": (f"{base}/token", raw_sign),
        "password": (f"{base}/token", raw_hash),
        "jwks": (f"{base}/.well-known/jwks.json", None),
        # An access token checked by a resource server (signature, deny list, family state).
        "introspection": (f"{base}/introspect", raw_sign),
        # GET /admin/clients?limit=100 with 10,000 clients registered.
        "admin_clients": (f"{base}/admin/clients?limit=100&offset=5000", None),
    }
    print(f"{'scenario':<20}{'req/s median (min-max)':>30}{'p99 ms':>10}{'errors':>8}  vs ceiling")
    for name in scenarios:
        url, ceiling = plans[name]
        rps, p99s, ratios, errs = [], [], [], 0
        for run in range(args.runs):
            lua: Path | None = None
            if name == "client_credentials":
                lua = cc_lua
            elif name == "password":
                lua = lua_post(lua_dir / "pw.lua", pw_body, creds["app"])
            elif name == "refresh_token":
                chunk = slice_file(work / "rt.txt", run, fresh, lua_dir / f"rt{run}.txt")
                lua = lua_refresh_chain(lua_dir / f"rt{run}.lua", chunk, creds["app"])
            elif name == "authorization_code":
                chunk = slice_file(work / "codes.txt", run, codes_per_run, lua_dir / f"c{run}.txt")
                lua = lua_each(lua_dir / f"code{run}.lua", chunk, code_prefix, creds["web"])
            # The machine is shared and noisy: measure the ceiling right before each run
            # and compare each run with its own ceiling.
            run_ceiling = None
            if ceiling is not None:
                run_ceiling = (
                    raw_argon2_rate(settings, 2) if ceiling is raw_hash else raw_sign_rate(2)
                )
            proc = start_authserver(env, port, args.workers)
            if name in ("introspection", "admin_clients"):
                lua = token_scenario(lua_dir, name, base, creds)
            spy = None
            try:
                # Password hashing takes ~100 ms: a few connections saturate it.
                conns = min(args.connections, 8) if name == "password" else args.connections
                # Warm-up (client_credentials for single-use tokens and codes).
                warm = cc_lua if name in ("refresh_token", "authorization_code") else lua
                wrk(url, warm, 2, conns)
                time.sleep(1 if name != "password" else 3)
                if args.profile and run == args.runs - 1:
                    args.profile.mkdir(parents=True, exist_ok=True)
                    spy = profile_start(proc.pid, args.duration, args.profile / f"{name}.txt")
                res = wrk(url, lua, args.duration, conns)
                if spy:
                    spy.wait(timeout=60)
            finally:
                stop(proc)
            rps.append(res.rps)
            if run_ceiling:
                ratios.append(res.rps / run_ceiling)
            p99s.append(res.p99_ms)
            errs += res.errors
        ratio = (
            f"{statistics.median(ratios):6.1%} (runs {min(ratios):.0%}-{max(ratios):.0%}) of the "
            f"ceiling measured before each run; first: {ceiling:,.0f}/s"
            if ratios
            else ""
        )
        summary = f"{statistics.median(rps):>9,.0f}  ({min(rps):,.0f}-{max(rps):,.0f})"
        print(f"{name:<20}{summary:>30}{statistics.median(p99s):>10.1f}{errs:>8}  {ratio}")
        if args.profile:
            top = subprocess.run(
                [PYTHON, str(ROOT / "bench" / "profile_top.py"), str(args.profile / f"{name}.txt")],
                capture_output=True,
                text=True,
            )
            print(top.stdout or top.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
