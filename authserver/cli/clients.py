"""``authserver clients create|list|show|delete|rotate-secret``."""

from __future__ import annotations

import argparse
from typing import Any

from authserver.audit import AuditEvent, record
from authserver.cli.common import print_json, services
from authserver.errors import NotFound
from authserver.oauth import registration
from authserver.oauth.client_registry import (
    DISPLAY_URIS,
    ClientSpec,
    register_client,
    rotate_secret,
)
from authserver.storage.models import Client

DISPLAY_HELP = {
    "client_uri": "the app's home page, linked from the login and consent pages",
    "logo_uri": "the app's logo, shown on the login and consent pages",
    "policy_uri": "the app's privacy policy, linked from the consent page",
    "tos_uri": "the app's terms of service, linked from the consent page",
}


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("clients", help="manage OAuth clients")
    cs = p.add_subparsers(dest="clients_command", required=True, metavar="ACTION")
    c = cs.add_parser(
        "create", help="register a client (a confidential client's secret is shown once)"
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
        "--grant",
        action="append",
        dest="grants",
        metavar="GRANT_TYPE",
        help="authorization_code, refresh_token, client_credentials (repeatable)",
    )
    c.add_argument(
        "--allow-password",
        action="store_true",
        help="allow the password grant (first-party clients only)",
    )
    c.add_argument("--scope", required=True, help="space-separated scopes the client may obtain")
    c.add_argument("--redirect-uri", action="append", default=[], dest="redirect_uris")
    c.add_argument(
        "--post-logout-redirect-uri", action="append", default=[], dest="post_logout_redirect_uris"
    )
    c.add_argument("--first-party", action="store_true", help="skip the consent page")
    c.add_argument("--refresh-without-offline-access", action="store_true")
    c.add_argument("--audience", action="append", default=[], help="aud of its access tokens")
    c.add_argument("--cors-origin", action="append", default=[], dest="cors_origins")
    for uri in DISPLAY_URIS:
        c.add_argument(
            f"--{uri.replace('_', '-')}",
            dest=uri,
            metavar="HTTPS_URL",
            help=DISPLAY_HELP[uri],
        )
    c.add_argument("--json", action="store_true")
    c.set_defaults(handler=run_create)
    ls = cs.add_parser("list")
    ls.add_argument("--json", action="store_true")
    ls.set_defaults(handler=run_list)
    sh = cs.add_parser("show")
    sh.add_argument("client_id")
    sh.set_defaults(handler=run_show)
    rs = cs.add_parser(
        "rotate-secret", help="issue a new secret (shown once); the old one stops working"
    )
    rs.add_argument("client_id")
    rs.set_defaults(handler=run_rotate)
    it = cs.add_parser(
        "initial-token", help="issue an initial access token for dynamic registration (shown once)"
    )
    it.add_argument("--description", default="")
    it.add_argument("--expires-in", type=int, metavar="SECONDS", help="default: never")
    it.set_defaults(handler=run_initial_token)
    d = cs.add_parser("delete")
    d.add_argument("client_id")
    d.set_defaults(handler=run_delete)


def describe(c: Client) -> dict[str, Any]:
    return {
        "client_id": c.client_id,
        "name": c.name,
        "token_endpoint_auth_method": c.token_endpoint_auth_method,
        "grant_types": c.grant_types,
        "scope": c.scope,
        "redirect_uris": c.redirect_uris,
        "post_logout_redirect_uris": c.post_logout_redirect_uris,
        "first_party": c.first_party,
        "audience": c.audience,
        "allowed_cors_origins": c.allowed_cors_origins,
        **{k: c.extra_metadata[k] for k in DISPLAY_URIS if k in c.extra_metadata},
    }


def run_create(args: argparse.Namespace) -> int:
    grants = list(args.grants or ([] if args.allow_password else ["client_credentials"]))
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
        audience=args.audience,
        allowed_cors_origins=args.cors_origins,
        extra_metadata={k: getattr(args, k) for k in DISPLAY_URIS if getattr(args, k)},
    )
    with services() as svc, svc.db.unit_of_work() as uow:
        client, secret = register_client(uow, svc.clock, spec)
        record(uow, svc.clock, AuditEvent.CLIENT_CREATED, client_id=client.client_id, via="cli")
        out = describe(client)
    if args.json:
        print_json({**out, "client_secret": secret})
    else:
        print(f"client_id:     {out['client_id']}")
        if secret:
            print(f"client_secret: {secret}")
            print("(store the secret now: it is not shown again)")
    return 0


def run_list(args: argparse.Namespace) -> int:
    with services() as svc, svc.db.unit_of_work() as uow:
        rows = [describe(c) for c in uow.clients.list(limit=10_000)]
    if args.json:
        print_json(rows)
    else:
        for r in rows:
            print(f"{r['client_id']:<30} {r['name']:<30} {' '.join(r['grant_types'])}")
    return 0


def run_show(args: argparse.Namespace) -> int:
    with services() as svc, svc.db.unit_of_work() as uow:
        client = uow.clients.get(args.client_id)
        if client is None:
            raise NotFound(f"no client {args.client_id}")
        print_json(describe(client))
    return 0


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
    print(f"client_secret: {secret}")
    return 0


def run_delete(args: argparse.Namespace) -> int:
    with services() as svc, svc.db.unit_of_work() as uow:
        if not uow.clients.delete(args.client_id):
            raise NotFound(f"no client {args.client_id}")
        record(uow, svc.clock, AuditEvent.CLIENT_DELETED, client_id=args.client_id, via="cli")
    print(f"client {args.client_id} deleted")
    return 0


def run_initial_token(args: argparse.Namespace) -> int:
    with services() as svc, svc.db.unit_of_work() as uow:
        token = registration.issue_initial_token(uow, svc.clock, args.description, args.expires_in)
    print(f"initial access token: {token}")
    print("(POST client metadata to /register with `Authorization: Bearer <token>`)")
    return 0
