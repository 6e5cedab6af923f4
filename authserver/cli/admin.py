"""``authserver admin bootstrap``: the first administrator and a client to get admin tokens
with, in one step."""

from __future__ import annotations

import argparse
import shlex

from authserver.accounts.users import create_user
from authserver.admin.base import ADMIN_SCOPE
from authserver.audit import AuditEvent, record
from authserver.cli.common import SubParsers, action, emit, group, services
from authserver.cli.users import _password_options, _read_password
from authserver.errors import Conflict
from authserver.oauth.client_registry import ClientSpec, register_client


def register(sub: SubParsers) -> None:
    ad = group(sub, "admin", "set up administration")
    b = action(
        ad,
        "bootstrap",
        "create the first administrator and a confidential client allowed the password "
        "grant with the admin scope, and print how to get an admin token",
        run_bootstrap,
    )
    b.add_argument("--email", required=True, help="the administrator's e-mail address")
    b.add_argument("--name")
    b.add_argument("--client-id", default="admin-cli", help="default: admin-cli")
    _password_options(b)


def run_bootstrap(args: argparse.Namespace) -> int:
    password = _read_password(args)
    assert password is not None
    with services() as svc, svc.db.unit_of_work() as uow:
        admins = [u for u in uow.users.list(limit=10_000) if "admin" in (u.roles or [])]
        if admins:
            raise Conflict(
                f"an administrator exists already ({admins[0].email}); add more with "
                "`authserver users create --role admin`"
            )
        user = create_user(
            uow,
            svc.passwords,
            svc.clock,
            email=args.email,
            password=password,
            roles=["admin"],
            name=args.name,
            email_verified=True,
        )
        client, secret = register_client(
            uow,
            svc.clock,
            ClientSpec(
                name="Administration (authserver admin bootstrap)",
                client_id=args.client_id,
                token_endpoint_auth_method="client_secret_basic",
                grant_types=["password", "refresh_token"],
                scope=f"openid {ADMIN_SCOPE}",
                first_party=True,
            ),
        )
        record(
            uow, svc.clock, AuditEvent.USER_CREATED, user_id=user.id, via="cli", roles=user.roles
        )
        record(uow, svc.clock, AuditEvent.CLIENT_CREATED, client_id=client.client_id, via="cli")
        token_url = f"{svc.settings.issuer}/token"
        admin_url = f"{svc.settings.issuer}/admin"
        email = user.email
    assert secret is not None
    curl = (
        f"curl -s -u {shlex.quote(client.client_id + ':' + secret)} "
        f"-d grant_type=password -d scope={ADMIN_SCOPE} --data-urlencode "
        f'{shlex.quote("username=" + email)} --data-urlencode "password=$ADMIN_PASSWORD" '
        f"{token_url}"
    )
    out = {
        "user_id": user.id,
        "email": email,
        "client_id": client.client_id,
        "client_secret": secret,
        "token_endpoint": token_url,
        "admin_api": admin_url,
    }
    text = "\n".join(
        [
            f"administrator {email} ({user.id}) created",
            f"client_id:     {client.client_id}",
            f"client_secret: {secret}",
            "(store the secret now: it is not shown again)",
            "",
            "Get an admin access token (valid AUTHSERVER_ACCESS_TOKEN_TTL seconds):",
            "  read -rs ADMIN_PASSWORD",
            f"  TOKEN=$({curl} | python3 -c 'import json,sys; print(json.load(sys.stdin)"
            '["access_token"])\')',
            "Then call the admin API:",
            f'  curl -s -H "Authorization: Bearer $TOKEN" {admin_url}/users',
        ]
    )
    return emit(args, out, text)
