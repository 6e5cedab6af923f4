"""``authserver providers add|list|show|update|test|enable|disable|remove``: upstream
identity providers users sign in with (``authserver.federation.providers``); the options
of add and update are ``cli.provider_options``'."""

from __future__ import annotations

import argparse
from typing import Any

from authserver.audit import AuditEvent, record
from authserver.cli import provider_options
from authserver.cli.common import SubParsers, action, emit, group, services
from authserver.errors import InvalidInput
from authserver.federation import kinds, providers
from authserver.federation.config import ProviderConfig
from authserver.federation.last_login import last_login


def register(sub: SubParsers) -> None:
    ps = group(sub, "providers", "manage upstream identity providers (federated sign-in)")
    a = action(ps, "add", "add an upstream identity provider", run_add)
    a.add_argument("provider_id", metavar="ID", help="slug in the callback URL")
    a.add_argument("--kind", required=True, choices=sorted(kinds.KINDS))
    a.add_argument("--disabled", action="store_true", help="add it disabled")
    provider_options.add_options(a, updating=False)
    action(ps, "list", "list the providers", run_list)
    action(ps, "show", "show one provider", run_show).add_argument("provider_id", metavar="ID")
    u = action(
        ps,
        "update",
        "change a provider (only the options given; list options replace the list)",
        run_update,
    )
    u.add_argument("provider_id", metavar="ID")
    provider_options.add_options(u, updating=True)
    u.add_argument("--remove-client-secret", action="store_true")
    u.add_argument(
        "--refresh-metadata",
        action="store_true",
        help="saml: fetch the IdP's metadata again from its metadata URL (certificate rollover)",
    )
    u.add_argument(
        "--unlink-identities",
        action="store_true",
        help="needed to change the issuer, client id, tenant or entity ID of a provider "
        "with linked identities: they are unlinked and their sessions end",
    )
    action(
        ps,
        "test",
        "show what the last sign-in through it brought (claims or SAML assertion) and what it "
        "mapped to, and the last refusal with its reason",
        run_test,
    ).add_argument("provider_id", metavar="ID")
    for name, text in (
        ("enable", "let users sign in with it again"),
        ("disable", "stop sign-ins through it and end the sessions of its logins"),
        ("remove", "delete it with the identities linked through it (the users stay)"),
    ):
        action(ps, name, text, globals()[f"run_{name}"]).add_argument("provider_id", metavar="ID")


def _describe(svc: Any, provider: Any) -> dict[str, Any]:
    return providers.describe(provider, svc.settings.issuer)


def _text(out: dict[str, Any]) -> str:
    lines = [f"{'id':<20} {out['id']}", f"{'kind':<20} {out['kind']}"]
    for key in ("display_name", "enabled", "domains", "has_client_secret", "redirect_uri"):
        lines.append(f"{key:<20} {out[key]}")
    if "sp_metadata_url" in out:
        lines.append(f"{'sp_metadata_url':<20} {out['sp_metadata_url']}")
    for section in ("settings", "policy", "mapping"):
        for key, value in out[section].items():
            lines.append(f"{section + '.' + key:<20} {value}")
    return "\n".join(lines)


def run_add(args: argparse.Namespace) -> int:
    data = ProviderConfig(display_name="-").model_dump()
    provider_options.apply(args, data)
    data["enabled"] = not args.disabled
    config = providers.parse_config(data)
    secret = provider_options.read_secret(args)
    with services() as svc, svc.db.unit_of_work() as uow:
        provider = providers.create(
            uow, providers.registry(svc), args.provider_id, args.kind, config, secret
        )
        record(
            uow,
            svc.clock,
            AuditEvent.PROVIDER_CREATED,
            via="cli",
            provider=provider.id,
            kind=provider.kind,
        )
        out = _describe(svc, provider)
    if out["kind"] == "saml":
        text = (
            f"provider {out['id']} added; give the IdP our SAML metadata:\n"
            f"  {out['sp_metadata_url']}\n(entity ID: the same URL; ACS: {out['redirect_uri']})"
        )
    else:
        text = (
            f"provider {out['id']} added; register this redirect URI at the upstream:\n"
            f"  {out['redirect_uri']}"
        )
    return emit(args, out, text)


def run_list(args: argparse.Namespace) -> int:
    with services() as svc, svc.db.unit_of_work() as uow:
        rows = [_describe(svc, p) for p in providers.list_providers(uow)]
    return emit(
        args,
        rows,
        lambda: (
            "\n".join(
                f"{r['id']:<20} {r['kind']:<10} {'enabled ' if r['enabled'] else 'disabled'} "
                f"{r['display_name']}"
                for r in rows
            )
            or "no providers"
        ),
    )


def run_show(args: argparse.Namespace) -> int:
    with services() as svc, svc.db.unit_of_work() as uow:
        out = _describe(svc, providers.get(uow, args.provider_id))
    return emit(args, out, lambda: _text(out))


def run_update(args: argparse.Namespace) -> int:
    secret: Any = providers.KEEP
    if args.remove_client_secret and args.client_secret_stdin:
        raise InvalidInput("give either --client-secret-stdin or --remove-client-secret")
    if args.client_secret_stdin:
        secret = provider_options.read_secret(args)
    elif args.remove_client_secret:
        secret = None
    with services() as svc, svc.db.unit_of_work() as uow:
        provider = providers.get(uow, args.provider_id)
        data = providers.config_of(provider).model_dump()
        if not provider_options.apply(args, data) and secret is providers.KEEP:
            raise InvalidInput("nothing to change: give at least one option (see --help)")
        provider = providers.update(
            uow,
            providers.registry(svc),
            provider.id,
            providers.parse_config(data),
            secret,
            unlink_identities=args.unlink_identities,
        )
        record(uow, svc.clock, AuditEvent.PROVIDER_CHANGED, via="cli", provider=provider.id)
        out = _describe(svc, provider)
    return emit(args, out, f"provider {out['id']} changed")


def run_test(args: argparse.Namespace) -> int:
    with services() as svc, svc.db.unit_of_work() as uow:
        out = last_login(uow, args.provider_id)
    return emit(args, out, lambda: _last_login_text(out))


def _last_login_text(out: dict[str, Any]) -> str:
    lines = []
    login = out["last_login"]
    if login is None:
        lines.append(f"no sign-in through {out['provider']} yet")
    else:
        lines.append(f"last sign-in {login['at']}")
        lines.append("received:")
        lines += [f"  {key}: {value}" for key, value in login["received"].items()]
        lines.append("mapped to:")
        lines += [f"  {key}: {value}" for key, value in login["mapped"].items()]
    refusal = out["last_refusal"]
    if refusal is not None:
        lines.append(f"last refusal {refusal['at']}: {refusal['reason']} {refusal['detail'] or ''}")
    return "\n".join(lines)


def _toggle(args: argparse.Namespace, enabled: bool) -> int:
    with services() as svc, svc.db.unit_of_work() as uow:
        provider = providers.set_enabled(uow, providers.registry(svc), args.provider_id, enabled)
        record(
            uow,
            svc.clock,
            AuditEvent.PROVIDER_CHANGED,
            via="cli",
            provider=provider.id,
            enabled=enabled,
        )
        out = _describe(svc, provider)
    return emit(args, out, f"provider {out['id']} {'enabled' if enabled else 'disabled'}")


def run_enable(args: argparse.Namespace) -> int:
    return _toggle(args, True)


def run_disable(args: argparse.Namespace) -> int:
    return _toggle(args, False)


def run_remove(args: argparse.Namespace) -> int:
    with services() as svc, svc.db.unit_of_work() as uow:
        unlinked = providers.remove(uow, providers.registry(svc), args.provider_id)
        record(
            uow,
            svc.clock,
            AuditEvent.PROVIDER_REMOVED,
            via="cli",
            provider=args.provider_id,
            identities=unlinked,
        )
    return emit(
        args,
        {"id": args.provider_id, "deleted": True, "identities_unlinked": unlinked},
        f"provider {args.provider_id} removed ({unlinked} linked identities unlinked)",
    )
