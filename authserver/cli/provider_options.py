"""The options ``authserver providers add`` and ``update`` share, and how they apply to a
provider's configuration (``federation.config.ProviderConfig``): one table per kind of
option, read by both the parser and ``apply``."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from authserver.errors import InvalidInput

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


def add_options(p: argparse.ArgumentParser, updating: bool) -> None:
    """The options of ``add`` (``updating`` False: --name is required) or ``update`` (an
    empty value removes a setting, a list option replaces the list)."""
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


def read_secret(args: argparse.Namespace) -> str | None:
    """The upstream client secret from standard input with --client-secret-stdin."""
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


def apply(args: argparse.Namespace, data: dict[str, Any]) -> bool:
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
