"""``authserver providers add|list|show|update|enable|disable|remove``: upstream identity
providers users sign in with (``authserver.federation.providers``)."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from authserver.audit import AuditEvent, record
from authserver.cli.common import SubParsers, action, emit, group, services
from authserver.errors import InvalidInput
from authserver.federation import kinds, providers
from authserver.federation.config import ProviderConfig
from authserver.federation.last_login import last_login

# option -> (section of the configuration, field, help); repeatable options are lists.
SETTINGS = {
    "issuer": ("settings", "issuer", "oidc: the issuer URL (discovery)"),
    "client-id": ("settings", "client_id", "the client id registered at the upstream"),
    "tenant": (
        "settings",
        "tenant",
        "microsoft: tenant id, or common / organizations; saml with --preset entra: tenant id",
    ),
    "hosted-domain": ("settings", "hosted_domain", "google: only this Workspace domain"),
    "metadata-url": ("settings", "metadata_url", "saml: the IdP's metadata URL (fetched now)"),
    "entity-id": ("settings", "entity_id", "saml: the IdP's entity ID (without metadata)"),
    "sso-url": ("settings", "sso_url", "saml: the IdP's HTTP-Redirect SSO URL (without metadata)"),
    "preset": ("settings", "preset", "saml: entra, okta or onelogin attribute rules"),
    "name-id-format": ("settings", "name_id_format", "saml: the NameID format to ask for"),
    "subject": ("settings", "subject", "saml: name_id (default), attribute or entra"),
    "subject-attribute": ("settings", "subject_attribute", "saml: attribute naming the user"),
    "email-attribute": ("settings", "email_attribute", "saml: attribute holding the e-mail"),
    "name-attribute": ("settings", "name_attribute", "saml: attribute holding the name"),
    "groups-separator": ("settings", "groups_separator", "saml: split group values on this"),
    "icon-url": (None, "icon_url", "icon on the login button (https, or /static/...)"),
    "groups-claim": ("mapping", "groups_claim", "claim holding the groups (default groups)"),
    "max-session": (
        "policy",
        "max_session_seconds",
        "seconds a login from it lasts at most (session and refresh tokens)",
    ),
}
LISTS = {
    "scope": ("settings", "scopes", "a scope to ask for (default per kind)"),
    "allowed-tenant": ("settings", "allowed_tenants", "microsoft: a tenant id accepted"),
    "domain": (None, "domains", "an e-mail domain sent straight to it (home realm)"),
    "jit-domain": ("policy", "jit_domains", "an e-mail domain JIT may create users for"),
    "trust-email-domain": (
        "policy",
        "trust_email_domains",
        "a domain whose verified e-mail links an existing account without a sign-in",
    ),
}
SWITCHES = {
    "jit": ("policy", "jit", "create users at their first login (JIT)"),
    "asserts-mfa": ("policy", "asserts_mfa", "its logins count as multi-factor"),
    "allow-local-password": (
        "policy",
        "allow_local_password",
        "users it created may set a local password",
    ),
    "allow-email-name-id": (
        "settings",
        "allow_email_name_id",
        "saml: accept an e-mail-format NameID as the subject (default: refused)",
    ),
    "roles-managed": (
        "mapping",
        "roles_managed",
        "recompute roles from groups at every login (else: only at creation)",
    ),
}


def _options(p: argparse.ArgumentParser, updating: bool) -> None:
    p.add_argument("--name", required=not updating, help="shown on the login button")
    for option, (_, _, text) in SETTINGS.items():
        p.add_argument(
            f"--{option}", help=text + ("; an empty value removes it" if updating else "")
        )
    for option, (_, _, text) in LISTS.items():
        p.add_argument(
            f"--{option}",
            action="append",
            help=text
            + " (repeatable"
            + ("; replaces the list, an empty value clears it)" if updating else ")"),
        )
    p.add_argument(
        "--group-role",
        action="append",
        metavar="GROUP=ROLE[,ROLE]",
        help="a group -> roles rule (repeatable" + ("; replaces the rules)" if updating else ")"),
    )
    for option, (_, _, text) in SWITCHES.items():
        p.add_argument(
            f"--{option}", action=argparse.BooleanOptionalAction, default=None, help=text
        )
    p.add_argument(
        "--metadata-file",
        metavar="PATH",
        help="saml: the IdP's metadata document (read now; only what it says is kept)",
    )
    p.add_argument(
        "--signing-cert-file",
        metavar="PATH",
        action="append",
        help="saml: an IdP signing certificate, PEM (repeatable; without metadata)",
    )
    p.add_argument(
        "--client-secret-stdin",
        action="store_true",
        help="read the upstream client secret from standard input (stored encrypted)",
    )


def register(sub: SubParsers) -> None:
    ps = group(sub, "providers", "manage upstream identity providers (federated sign-in)")
    a = action(ps, "add", "add an upstream identity provider", run_add)
    a.add_argument("provider_id", metavar="ID", help="slug in the callback URL")
    a.add_argument("--kind", required=True, choices=sorted(kinds.KINDS))
    a.add_argument("--disabled", action="store_true", help="add it disabled")
    _options(a, updating=False)
    action(ps, "list", "list the providers", run_list)
    action(ps, "show", "show one provider", run_show).add_argument("provider_id", metavar="ID")
    u = action(
        ps,
        "update",
        "change a provider (only the options given; list options replace the list)",
        run_update,
    )
    u.add_argument("provider_id", metavar="ID")
    _options(u, updating=True)
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


def _secret(args: argparse.Namespace) -> str | None:
    if not args.client_secret_stdin:
        return None
    secret = sys.stdin.readline().rstrip("\r\n")
    if not secret:
        raise InvalidInput("--client-secret-stdin: standard input held no secret")
    return secret


def _group_roles(rules: list[str]) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for rule in rules:
        group_value, sep, roles = rule.rpartition("=")
        if not sep or not group_value or not roles:
            raise InvalidInput(f"--group-role {rule!r}: write GROUP=ROLE[,ROLE]")
        out.setdefault(group_value, []).extend(r.strip() for r in roles.split(",") if r.strip())
    return out


def _apply(args: argparse.Namespace, data: dict[str, Any]) -> bool:
    """Apply the options given to ``data`` (a configuration dump); whether any was."""
    changed = False

    def put(section: str | None, field: str, value: Any) -> None:
        nonlocal changed
        (data[section] if section else data)[field] = value
        changed = True

    if args.name is not None:
        put(None, "display_name", args.name)
    for option, (section, field, _) in SETTINGS.items():
        value = getattr(args, option.replace("-", "_"))
        if value is not None:
            if field == "max_session_seconds" and value:
                try:
                    value = int(value)
                except ValueError:
                    raise InvalidInput("--max-session: a number of seconds") from None
            put(section, field, value if value != "" else None)
    for option, (section, field, _) in LISTS.items():
        values = getattr(args, option.replace("-", "_"))
        if values is not None:
            kept = [v for v in values if v]
            put(section, field, kept if kept or field != "scopes" else None)
    if args.group_role is not None:
        put("mapping", "group_roles", _group_roles([r for r in args.group_role if r]))
    if (
        args.metadata_file is not None
        or args.metadata_url
        or getattr(args, "refresh_metadata", False)
    ):
        # New metadata: what the old one said goes (metadata_url is fetched again).
        for field in ("entity_id", "sso_url"):
            data["settings"][field] = getattr(args, field) or None
        data["settings"]["signing_certificates"] = []
        changed = True
    if args.metadata_file is not None:
        put("settings", "metadata_xml", _read_file(args.metadata_file, "--metadata-file"))
    if args.signing_cert_file is not None:
        put(
            "settings",
            "signing_certificates",
            [_read_file(f, "--signing-cert-file") for f in args.signing_cert_file if f],
        )
    for option, (section, field, _) in SWITCHES.items():
        value = getattr(args, option.replace("-", "_"))
        if value is not None:
            put(section, field, value)
    return changed


def _read_file(path: str, option: str) -> str:
    try:
        with open(path, encoding="utf-8") as handle:
            return handle.read(1_048_577)
    except (OSError, UnicodeDecodeError) as exc:
        raise InvalidInput(f"{option} {path}: {exc.__class__.__name__}") from None


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
    _apply(args, data)
    data["enabled"] = not args.disabled
    config = providers.parse_config(data)
    secret = _secret(args)
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
        secret = _secret(args)
    elif args.remove_client_secret:
        secret = None
    with services() as svc, svc.db.unit_of_work() as uow:
        provider = providers.get(uow, args.provider_id)
        data = providers.config_of(provider).model_dump()
        if not _apply(args, data) and secret is providers.KEEP:
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
