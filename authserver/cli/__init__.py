"""``authserver`` command line: argument parsing, then a call into the package."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from authserver.cli import audit, clients, keys, maintenance, roles, scopes, serve, users
from authserver.errors import AuthServerError, UnsafeSettings

GROUPS = (serve, maintenance, keys, clients, scopes, users, roles, audit)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="authserver",
        description="An OAuth 2.0 / OpenID Connect authorization server. "
        "Settings come from AUTHSERVER_* environment variables (and .env).",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for group in GROUPS:
        group.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.handler(args) or 0)
    except UnsafeSettings as exc:
        print(f"authserver: {exc}", file=sys.stderr)
        return 2
    except AuthServerError as exc:
        print(f"authserver: {exc}", file=sys.stderr)
        return 1
