"""Seed a benchmark database: clients, a user, pre-minted refresh tokens and codes.

    python bench/seed.py SPEC_JSON     (AUTHSERVER_* settings from the environment)

SPEC_JSON: {"password": ..., "refresh": [{"scope": ..., "count": N, "file": PATH}, ...],
"codes": {"count": N, "file": PATH}, "extra_clients": N}. Prints the clients' Basic
credentials (and the code exchange's redirect URI and PKCE verifier) as JSON.

Tokens and codes are written through bulk inserts: minting N of them through the password
grant or /authorize would take minutes. Codes get an hour to live instead of
``auth_code_ttl`` (the bench exchanges them minutes later); the exchange checks the expiry
all the same.
"""

from __future__ import annotations

import base64
import hashlib
import json
import sys
import uuid
from datetime import timedelta

from sqlalchemy import insert

from authserver.accounts.users import create_user
from authserver.clock import to_datetime
from authserver.hashing import new_secret, secret_hash
from authserver.oauth.client_registry import ClientSpec, register_client
from authserver.services import build_services
from authserver.settings import load_settings
from authserver.storage import migrate
from authserver.storage.models import AuthorizationCode, RefreshToken, TokenFamily

USER_SCOPE = "openid email api:read"
REDIRECT_URI = "https://rp.example/callback"
CODE_VERIFIER = "bench-verifier-" + "v" * 43
BATCH = 5000


def basic(client_id: str, secret: str | None) -> str:
    return "Basic " + base64.b64encode(f"{client_id}:{secret}".encode()).decode()


def s256(verifier: str) -> str:
    digest = hashlib.sha256(verifier.encode()).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def bulk(conn, table, rows: list[dict]) -> None:
    for i in range(0, len(rows), BATCH):
        conn.execute(insert(table), rows[i : i + BATCH])


def mint_refresh_tokens(conn, client_id, user_id, scope, count, now) -> list[str]:
    families, tokens, out = [], [], []
    for _ in range(count):
        family_id = str(uuid.uuid4())
        token = new_secret(32)
        families.append(
            {
                "id": family_id,
                "client_id": client_id,
                "user_id": user_id,
                "scope": scope,
                "auth_time": now,
                "amr": ["pwd"],
                "created_at": now,
                "expires_at": now + timedelta(days=1),
            }
        )
        tokens.append({"token_hash": secret_hash(token), "family_id": family_id, "created_at": now})
        out.append(token)
    bulk(conn, TokenFamily.__table__, families)
    bulk(conn, RefreshToken.__table__, tokens)
    return out


def mint_codes(conn, client_id, user_id, count, now) -> list[str]:
    rows, out = [], []
    challenge = s256(CODE_VERIFIER)
    for i in range(count):
        code = new_secret(32)
        rows.append(
            {
                "code_hash": secret_hash(code),
                "client_id": client_id,
                "user_id": user_id,
                "redirect_uri": REDIRECT_URI,
                "scope": USER_SCOPE,
                "nonce": f"nonce-{i}",
                "code_challenge": challenge,
                "code_challenge_method": "S256",
                "auth_time": now,
                "amr": ["pwd"],
                "created_at": now,
                "expires_at": now + timedelta(hours=1),
            }
        )
        out.append(code)
    bulk(conn, AuthorizationCode.__table__, rows)
    return out


def main(spec: dict) -> None:
    settings = load_settings()
    migrate.upgrade(settings.database_url)
    svc = build_services(settings)
    with svc.db.unit_of_work() as uow:
        cc, cc_secret = register_client(
            uow,
            svc.clock,
            ClientSpec(name="bench cc", grant_types=["client_credentials"], scope="api:read"),
        )
        app, app_secret = register_client(
            uow,
            svc.clock,
            ClientSpec(
                name="bench app",
                grant_types=["password", "refresh_token"],
                scope=USER_SCOPE + " admin",
            ),
        )
        web, web_secret = register_client(
            uow,
            svc.clock,
            ClientSpec(
                name="bench web",
                grant_types=["authorization_code"],
                scope=USER_SCOPE,
                redirect_uris=[REDIRECT_URI],
            ),
        )
        user = create_user(
            uow,
            svc.passwords,
            svc.clock,
            email="bench@example.com",
            password=spec["password"],
            roles=["admin"],
        )
        for i in range(int(spec.get("extra_clients", 0))):
            register_client(
                uow,
                svc.clock,
                ClientSpec(
                    name=f"listed client {i}", grant_types=["client_credentials"], scope="api:read"
                ),
            )
        uow.session.flush()
        conn = uow.session.connection()
        now = to_datetime(svc.clock.now())
        written: dict[str, list[str]] = {}
        for item in spec.get("refresh", []):
            written[item["file"]] = mint_refresh_tokens(
                conn, app.client_id, user.id, item["scope"], int(item["count"]), now
            )
        codes = spec.get("codes")
        if codes:
            written[codes["file"]] = mint_codes(
                conn, web.client_id, user.id, int(codes["count"]), now
            )
    # A running PostgreSQL has planner statistics (autovacuum's ANALYZE); a database
    # seeded a second ago has none, and this machine's PostgreSQL runs with autovacuum
    # off. Without them the planner joins the refresh-token claim from the one user
    # through all of its families (18.8 ms per claim against 0.3 ms with statistics,
    # EXPLAIN ANALYZE on 12,000 families): a benchmark of the planner, not the server.
    if svc.db.engine.dialect.name == "postgresql":
        with svc.db.engine.connect() as conn:
            conn.exec_driver_sql("ANALYZE")
            conn.commit()
    svc.db.dispose()
    for path, values in written.items():
        with open(path, "w") as f:
            f.write("\n".join(values) + "\n")
    print(
        json.dumps(
            {
                "cc": basic(cc.client_id, cc_secret),
                "app": basic(app.client_id, app_secret),
                "web": basic(web.client_id, web_secret),
                "redirect_uri": REDIRECT_URI,
                "code_verifier": CODE_VERIFIER,
            }
        )
    )


if __name__ == "__main__":
    main(json.loads(sys.argv[1]))
