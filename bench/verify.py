"""Resource-server helper speed: ``AccessTokenVerifier.verify`` against raw joserfc
decode + verify of the same token (the target is >= 80 % of raw).

    python bench/verify.py [--seconds 3] [--runs 3]
"""

from __future__ import annotations

import argparse
import statistics
import time

from joserfc import jwt
from joserfc.jwk import KeySet, RSAKey

from authserver.resource_server import AccessTokenVerifier

ISSUER = "https://auth.example.com"


def rate(fn, seconds: float) -> float:
    n, t0 = 0, time.perf_counter()
    while time.perf_counter() - t0 < seconds:
        fn()
        n += 1
    return n / (time.perf_counter() - t0)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=float, default=3)
    ap.add_argument("--runs", type=int, default=3)
    args = ap.parse_args()
    key = RSAKey.generate_key(2048, parameters={"alg": "RS256", "use": "sig"}, private=True)
    key.ensure_kid()
    private = KeySet([key])
    public = KeySet.import_key_set(private.as_dict(private=False))
    now = int(time.time())
    token = jwt.encode(
        {"alg": "RS256", "typ": "at+jwt"},
        {
            "iss": ISSUER,
            "sub": "u1",
            "aud": "https://api.example.com",
            "client_id": "c",
            "scope": "orders:read",
            "jti": "j",
            "iat": now,
            "exp": now + 3600,
        },
        private,
    )
    verifier = AccessTokenVerifier(
        ISSUER, "https://api.example.com", fetch=lambda url: public.as_dict()
    )
    verifier.verify(token)
    raw, ours = [], []
    for _ in range(args.runs):
        raw.append(rate(lambda: jwt.decode(token, public, algorithms=["RS256"]), args.seconds))
        ours.append(rate(lambda: verifier.verify(token, scopes=["orders:read"]), args.seconds))
    r, o = statistics.median(raw), statistics.median(ours)
    print(f"raw joserfc decode+verify: {r:,.0f}/s (runs {min(raw):,.0f}-{max(raw):,.0f})")
    print(f"AccessTokenVerifier.verify: {o:,.0f}/s (runs {min(ours):,.0f}-{max(ours):,.0f})")
    print(f"ratio: {o / r:.1%}")


if __name__ == "__main__":
    main()
