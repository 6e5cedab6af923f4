"""The options ``authserver clients create`` and ``update`` share, and the changes an
``update`` asks for."""

from __future__ import annotations

import argparse

from authserver.errors import InvalidInput
from authserver.oauth.client_registry import DISPLAY_URIS
from authserver.storage.models import Client

GRANTS = "authorization_code, refresh_token, client_credentials, password"
# Repeatable list options: option name -> (ClientSpec field, help).
LISTS = {
    "grant": ("grant_types", f"a grant type: {GRANTS}"),
    "redirect-uri": ("redirect_uris", "an exactly matched redirect URI"),
    "post-logout-redirect-uri": ("post_logout_redirect_uris", "a post-logout redirect URI"),
    "audience": ("audience", "an `aud` of its access tokens"),
    "cors-origin": ("allowed_cors_origins", "a browser origin allowed to call /token"),
}
# Yes/no options: option name -> help. ``create`` turns one on; ``update`` sets it
# (--first-party) or clears it (--no-first-party).
FLAGS = {
    "first-party": "skip the consent page",
    "refresh-without-offline-access": "issue refresh tokens without the offline_access scope",
    "require-verified-email": "its users must have verified their e-mail address first",
    "require-mfa": "its users must pass a second factor (and set one up if they have none)",
    "allow-introspection": (
        "a resource server: may introspect any access token (otherwise only tokens issued "
        "to it or whose aud names it)"
    ),
}
DISPLAY_HELP = {
    "client_uri": "the app's home page, linked from the login and consent pages",
    "logo_uri": "the app's logo, shown on the login and consent pages",
    "policy_uri": "the app's privacy policy, linked from the consent page",
    "tos_uri": "the app's terms of service, linked from the consent page",
}


def add_options(p: argparse.ArgumentParser, updating: bool) -> None:
    """The options ``create`` and ``update`` share: the list options (``update`` also
    has --add-X / --remove-X), the yes/no flags and the display URIs."""
    for option, (dest, help_text) in LISTS.items():
        if not updating:
            default = "; default client_credentials" if option == "grant" else ""
            p.add_argument(
                f"--{option}",
                action="append",
                default=[],
                dest=dest,
                help=f"{help_text} (repeatable){default}",
            )
            continue
        p.add_argument(f"--{option}", action="append", dest=dest, help=help_text)
        p.add_argument(f"--add-{option}", action="append", dest=f"add_{dest}", metavar="VALUE")
        p.add_argument(
            f"--remove-{option}", action="append", dest=f"remove_{dest}", metavar="VALUE"
        )
    for option, help_text in FLAGS.items():
        if updating:
            p.add_argument(
                f"--{option}", action=argparse.BooleanOptionalAction, default=None, help=help_text
            )
        else:
            p.add_argument(f"--{option}", action="store_true", help=help_text)
    _display_options(p, removable=updating)


def _display_options(p: argparse.ArgumentParser, removable: bool) -> None:
    for uri in DISPLAY_URIS:
        p.add_argument(
            f"--{uri.replace('_', '-')}",
            dest=uri,
            metavar="HTTPS_URL",
            help=DISPLAY_HELP[uri] + ("; an empty value removes it" if removable else ""),
        )


def changes_of(args: argparse.Namespace, current: Client) -> dict[str, object]:
    """The fields ``update``'s options change (lists edited against ``current``)."""
    changes: dict[str, object] = {}
    simple = ("name", "scope", *(option.replace("-", "_") for option in FLAGS))
    for name in (*simple, *DISPLAY_URIS):
        if getattr(args, name) is not None:
            changes[name] = getattr(args, name)
    for dest, _ in LISTS.values():
        replace, add = getattr(args, dest), getattr(args, f"add_{dest}")
        remove = getattr(args, f"remove_{dest}")
        if replace is None and add is None and remove is None:
            continue
        if replace is not None and (add or remove):
            raise InvalidInput(f"give either the whole list or --add/--remove for {dest}")
        values = list(replace if replace is not None else getattr(current, dest))
        values += [v for v in add or [] if v not in values]
        missing = [v for v in remove or [] if v not in values]
        if missing:
            raise InvalidInput(f"{dest} has no {', '.join(missing)}")
        changes[dest] = [v for v in values if v not in (remove or [])]
    if not changes:
        raise InvalidInput("nothing to change: give at least one option (see --help)")
    return changes
