"""Seed a benchmark database: two clients, a user and pre-minted refresh tokens.

    python bench/seed.py TOKENS_FILE N PASSWORD [EXTRA_CLIENTS]   (AUTHSERVER_* settings)

Prints the clients' Basic credentials as JSON. EXTRA_CLIENTS more clients are registered
for the admin listing scenario (the bench user is an admin). Refresh tokens are minted through the
token repository directly: N logins through the password grant would take minutes."""

from __future__ import annotations

import base64
import json
import sys
from datetime import timedelta

from authserver.accounts.users import create_user
from authserver.clock import to_datetime
from authserver.hashing import new_secret, secret_hash
from authserver.oauth.client_registry import ClientSpec, register_client
from authserver.services import build_services
from authserver.settings import load_settings
from authserver.storage import migrate

SCOPE = "openid email api:read"


def basic(client_id: str, secret: str | None) -> str:
    return "Basic " + base64.b64encode(f"{client_id}:{secret}".encode()).decode()


def main(tokens_file: str, count: int, password: str, extra_clients: int = 0) -> None:
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
                name="bench app", grant_types=["password", "refresh_token"], scope=SCOPE + " admin"
            ),
        )
        user = create_user(
            uow,
            svc.passwords,
            svc.clock,
            email="bench@example.com",
            password=password,
            role="admin",
        )
        for i in range(extra_clients):
            register_client(
                uow,
                svc.clock,
                ClientSpec(
                    name=f"listed client {i}", grant_types=["client_credentials"], scope="api:read"
                ),
            )
        now = to_datetime(svc.clock.now())
        tokens = []
        for _ in range(count):
            family_id = uow.tokens.create_family(
                client_id=app.client_id,
                user_id=user.id,
                scope=SCOPE,
                auth_time=now,
                now=now,
                lifetime=timedelta(days=1),
            )
            token = new_secret(32)
            uow.tokens.add_refresh_token(family_id, secret_hash(token), now)
            tokens.append(token)
    with open(tokens_file, "w") as f:
        f.write("\n".join(tokens) + "\n")
    print(
        json.dumps({"cc": basic(cc.client_id, cc_secret), "app": basic(app.client_id, app_secret)})
    )


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]), sys.argv[3], int(sys.argv[4]) if len(sys.argv) > 4 else 0)
