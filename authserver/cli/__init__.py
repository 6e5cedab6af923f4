"""``authserver`` command line: argument parsing, then a call into the package.

Every command group is a module with ``register(sub)``; every action takes ``--json``.
An operator's mistake (bad settings, bad input, an unknown id, a database that was never
migrated) ends with one line on stderr and exit code 2; a backing service that cannot be
reached with one line and exit code 1. A traceback means a bug."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from typing import NoReturn

from authserver import __version__
from authserver.cli import (
    admin,
    audit,
    clients,
    config,
    keys,
    maintenance,
    mfa,
    providers,
    roles,
    scopes,
    serve,
    users,
)
from authserver.errors import AuthServerError, ServiceUnavailable

GROUPS = (
    serve,
    maintenance,
    config,
    admin,
    clients,
    scopes,
    users,
    mfa,
    roles,
    providers,
    keys,
    audit,
)

EXIT_UNAVAILABLE = 1
EXIT_MISTAKE = 2


class Parser(argparse.ArgumentParser):
    """argparse, with a usage mistake reported on one line."""

    def error(self, message: str) -> NoReturn:
        if message.startswith("the following arguments are required"):
            # An id that starts with "-" (an older key's kid) reads as an option.
            message += "; a value starting with '-' goes last, after `--`"
        self.exit(EXIT_MISTAKE, f"{self.prog}: {message} (see `{self.prog} --help`)\n")


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(
        prog="authserver",
        description="An OAuth 2.0 / OpenID Connect authorization server. Settings come from "
        "AUTHSERVER_* environment variables (and a .env file in the current folder); "
        "`authserver config show` prints them.",
    )
    parser.add_argument("--version", action="version", version=f"authserver {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for group in GROUPS:
        group.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.handler(args) or 0)
    except ServiceUnavailable as exc:
        print(f"authserver: {exc}", file=sys.stderr)
        return EXIT_UNAVAILABLE
    except AuthServerError as exc:
        print(f"authserver: {exc}", file=sys.stderr)
        return EXIT_MISTAKE
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        # The reader went away (`authserver config show | head`): not an error.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
