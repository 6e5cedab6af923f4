"""``authserver clients create|list|show|update|rotate-secret|delete|initial-token``; the
options of create and update are ``cli.client_options``'."""

from __future__ import annotations

import argparse
from typing import Any

from authserver.admin.clients import out as client_out
from authserver.audit import AuditEvent, record
from authserver.cli import client_options
from authserver.cli.common import SubParsers, action, emit, group, services
from authserver.errors import NotFound
from authserver.hashing import secret_hash
from authserver.oauth import registration
from authserver.oauth.client_registry import (
    DISPLAY_URIS,
    ClientSpec,
    register_client,
    rotate_secret,
    update_client,
)
from authserver.storage.models import Client


def register(sub: SubParsers) -> None:
    cs = group(sub, "clients", "manage OAuth clients")
    c = action(
        cs, "create", "register a client (a confidential client's secret is shown once)", run_create
    )
    c.add_argument("--name", required=True)
    c.add_argument("--client-id", help="default: random")
    c.add_argument(
        "--public", action="store_true", help="no secret (auth method none), e.g. SPA or native"
    )
    c.add_argument(
        "--auth-method",
        choices=["client_secret_basic", "client_secret_post"],
        default="client_secret_basic",
    )
    c.add_argument(
        "--allow-password",
        action="store_true",
        help="allow the password grant (first-party clients only)",
    )
    c.add_argument("--scope", required=True, help="space-separated scopes the client may obtain")
    client_options.add_options(c, updating=False)

    action(cs, "list", "list clients", run_list)
    action(cs, "show", "show one client", run_show).add_argument("client_id")

    u = action(
        cs,
        "update",
        "change a client (only the options given); list options replace the list, "
        "--add-*/--remove-* edit it",
        run_update,
    )
    u.add_argument("client_id")
    u.add_argument("--name")
    u.add_argument("--scope", help="space-separated scopes (replaces them)")
    client_options.add_options(u, updating=True)

    action(
        cs,
        "rotate-secret",
        "issue a new secret (shown once); the old one stops working",
        run_rotate,
    ).add_argument("client_id")
    action(cs, "delete", "delete a client with its tokens and consents", run_delete).add_argument(
        "client_id"
    )
    it = action(
        cs,
        "initial-token",
        "issue an initial access token for dynamic registration at /oauth/register (shown once)",
        run_initial_token,
    )
    it.add_argument("--description", default="")
    it.add_argument(
        "--expires-in",
        type=int,
        metavar="SECONDS",
        help="lifetime in seconds (default AUTHSERVER_INITIAL_ACCESS_TOKEN_TTL, one day)",
    )
    it.add_argument(
        "--max-uses", type=int, metavar="N", help="registrations it may make (default: any)"
    )


def describe(c: Client) -> dict[str, Any]:
    return client_out(c).model_dump(mode="json")


def run_create(args: argparse.Namespace) -> int:
    grants = list(args.grant_types or ([] if args.allow_password else ["client_credentials"]))
    if args.allow_password and "password" not in grants:
        grants.append("password")
    spec = ClientSpec(
        name=args.name,
        client_id=args.client_id,
        token_endpoint_auth_method="none" if args.public else args.auth_method,
        grant_types=grants,
        scope=args.scope,
        redirect_uris=args.redirect_uris,
        post_logout_redirect_uris=args.post_logout_redirect_uris,
        first_party=args.first_party,
        refresh_without_offline_access=args.refresh_without_offline_access,
        require_verified_email=args.require_verified_email,
        require_mfa=args.require_mfa,
        audience=args.audience,
        allow_introspection=args.allow_introspection,
        allowed_cors_origins=args.allowed_cors_origins,
        extra_metadata={k: getattr(args, k) for k in DISPLAY_URIS if getattr(args, k)},
    )
    with services() as svc, svc.db.unit_of_work() as uow:
        client, secret = register_client(uow, svc.clock, spec)
        record(uow, svc.clock, AuditEvent.CLIENT_CREATED, client_id=client.client_id, via="cli")
        out = describe(client)

    def text() -> str:
        lines = [f"client_id:     {out['client_id']}"]
        if secret:
            lines += [f"client_secret: {secret}", "(store the secret now: it is not shown again)"]
        return "\n".join(lines)

    return emit(args, {**out, "client_secret": secret}, text)


def run_list(args: argparse.Namespace) -> int:
    with services() as svc, svc.db.unit_of_work() as uow:
        rows = [describe(c) for c in uow.clients.list(limit=10_000)]
    return emit(
        args,
        rows,
        lambda: (
            "\n".join(
                f"{r['client_id']:<30} {r['name']:<30} {' '.join(r['grant_types'])}" for r in rows
            )
            or "no clients"
        ),
    )


def run_show(args: argparse.Namespace) -> int:
    with services() as svc, svc.db.unit_of_work() as uow:
        client = uow.clients.get(args.client_id)
        if client is None:
            raise NotFound(f"no client {args.client_id}")
        out = describe(client)
    width = max(map(len, out))
    return emit(args, out, lambda: "\n".join(f"{k:<{width}}  {_text(v)}" for k, v in out.items()))


def _text(value: Any) -> str:
    return " ".join(map(str, value)) if isinstance(value, list) else str(value)


def run_update(args: argparse.Namespace) -> int:
    with services() as svc, svc.db.unit_of_work() as uow:
        current = uow.clients.get(args.client_id)
        if current is None:
            raise NotFound(f"no client {args.client_id}")
        client, changed = update_client(
            uow, svc.clock, args.client_id, client_options.changes_of(args, current)
        )
        record(
            uow,
            svc.clock,
            AuditEvent.CLIENT_CHANGED,
            client_id=args.client_id,
            fields=changed,
            via="cli",
        )
        out = describe(client)
    return emit(
        args,
        out,
        f"client {args.client_id} changed: {', '.join(changed) or 'nothing (same values)'}",
    )


def run_rotate(args: argparse.Namespace) -> int:
    with services() as svc, svc.db.unit_of_work() as uow:
        secret = rotate_secret(uow, svc.clock, args.client_id)
        record(
            uow,
            svc.clock,
            AuditEvent.CLIENT_CHANGED,
            client_id=args.client_id,
            change="secret_rotated",
            via="cli",
        )
    return emit(
        args,
        {"client_id": args.client_id, "client_secret": secret},
        f"client_secret: {secret}\n(store the secret now: it is not shown again)",
    )


def run_delete(args: argparse.Namespace) -> int:
    with services() as svc, svc.db.unit_of_work() as uow:
        if not uow.clients.delete(args.client_id):
            raise NotFound(f"no client {args.client_id}")
        record(uow, svc.clock, AuditEvent.CLIENT_DELETED, client_id=args.client_id, via="cli")
    return emit(
        args, {"client_id": args.client_id, "deleted": True}, f"client {args.client_id} deleted"
    )


def run_initial_token(args: argparse.Namespace) -> int:
    with services() as svc, svc.db.unit_of_work() as uow:
        expires_in = (
            args.expires_in
            if args.expires_in is not None
            else svc.settings.initial_access_token_ttl
        )
        token = registration.issue_initial_token(
            uow, svc.clock, args.description, expires_in, args.max_uses
        )
        record(
            uow,
            svc.clock,
            AuditEvent.INITIAL_TOKEN_ISSUED,
            token=registration.token_id(secret_hash(token)),
            expires_in=expires_in,
            max_uses=args.max_uses,
            via="cli",
        )
        endpoint = f"{svc.settings.issuer}/oauth/register"
    uses = f"{args.max_uses} registration(s)" if args.max_uses else "any number of registrations"
    return emit(
        args,
        {
            "initial_access_token": token,
            "registration_endpoint": endpoint,
            "expires_in": expires_in,
            "max_uses": args.max_uses,
        },
        f"initial access token: {token}\n(shown once; valid {expires_in} s for {uses}: POST "
        f"client metadata to {endpoint} with `Authorization: Bearer <token>`)",
    )
