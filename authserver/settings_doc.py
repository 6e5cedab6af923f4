"""The settings described from the model itself: the generated reference
(`docs/configuration.md`, `authserver config reference`) and the effective values with
their sources and secrets masked (`authserver config show`)."""

from __future__ import annotations

import re
import types
import typing
from pathlib import Path
from typing import Any, Literal

import annotated_types
from pydantic.fields import FieldInfo

from authserver.settings import PREFIX, Settings

# A field named here starts a section of the reference (fields keep declaration order).
SECTIONS = {
    "data_dir": "Server, storage and state",
    "keys_dir": "Signing keys",
    "access_token_ttl": "Tokens",
    "session_idle_ttl": "Login sessions and cookies",
    "dynamic_registration_enabled": "Dynamic client registration",
    "argon2_time_cost": "Password hashing",
    "registration_enabled": "Sign-up and throttling",
    "smtp_host": "E-mail",
    "templates_dir": "Pages, languages and branding",
    "max_body_bytes": "Limits and tuning",
    "host": "Serving, logging and metrics",
}
SECRET_NAME = re.compile(r"secret|password|passphrase|encryption_key")
URL_PASSWORD = re.compile(r"(://[^/@:]*:)[^/@]*@")
MASK = "********"


def env_name(field: str) -> str:
    return f"{PREFIX}{field.upper()}"


def is_secret(field: str) -> bool:
    return bool(SECRET_NAME.search(field))


def masked(field: str, value: Any) -> Any:
    """The value as it may be shown: secrets replaced, passwords in URLs hidden."""
    if value is None:
        return None
    if is_secret(field):
        return MASK
    if isinstance(value, str) and "://" in value:
        return URL_PASSWORD.sub(rf"\g<1>{MASK}@", value)
    if isinstance(value, Path):
        return str(value)
    return value


def effective(settings: Settings, sources: dict[str, str]) -> list[dict[str, Any]]:
    """Every setting: its variable, masked value and where the value came from."""
    return [
        {
            "name": env_name(name),
            "value": masked(name, getattr(settings, name)),
            "source": sources.get(name, "default"),
            "secret": is_secret(name),
        }
        for name in Settings.model_fields
    ]


def type_name(annotation: Any) -> str:
    if typing.get_origin(annotation) is Literal:
        return "one of " + ", ".join(f"`{a}`" for a in typing.get_args(annotation))
    if isinstance(annotation, types.UnionType) or typing.get_origin(annotation) is typing.Union:
        args = [a for a in typing.get_args(annotation) if a is not type(None)]
        return " or ".join(type_name(a) for a in args)
    names = {int: "integer", float: "number", str: "string", bool: "boolean", Path: "path"}
    return names.get(annotation, getattr(annotation, "__name__", str(annotation)))


def range_of(field: FieldInfo) -> str:
    parts = []
    for m in field.metadata:
        if isinstance(m, annotated_types.Ge):
            parts.append(f">= {m.ge}")
        elif isinstance(m, annotated_types.Le):
            parts.append(f"<= {m.le}")
        elif isinstance(m, annotated_types.MinLen):
            parts.append(f"at least {m.min_length} characters")
    return ", ".join(parts)


def default_of(field: FieldInfo) -> str:
    if field.default_factory is not None:
        return "see description"
    if field.default is None:
        return "unset"
    if isinstance(field.default, bool):
        return f"`{str(field.default).lower()}`"
    return f"`{field.default}`" if field.default != "" else "see description"


def _cell(text: str) -> str:
    return " ".join(text.split()).replace("|", "\\|")


def reference() -> str:
    """The configuration reference, as committed in docs/configuration.md."""
    lines = [
        "# Configuration reference",
        "",
        "<!-- Generated from authserver/settings.py by `authserver config reference`; "
        "a test checks it is current. -->",
        "",
        "Every setting is an environment variable (or a line in a `.env` file in the "
        "current folder); the environment wins over `.env`. Booleans are `true`/`false`, "
        "durations are seconds. `authserver config show` prints the effective values and "
        "where each came from (secrets masked); `authserver config check` validates them "
        "with the messages the server gives when it refuses to start.",
    ]
    for name, field in Settings.model_fields.items():
        if name in SECTIONS:
            lines += [
                "",
                f"## {SECTIONS[name]}",
                "",
                "| variable | type | default | range | description |",
                "| --- | --- | --- | --- | --- |",
            ]
        secret = " Secret: masked by `config show`." if is_secret(name) else ""
        lines.append(
            f"| `{env_name(name)}` | {type_name(field.annotation)} | {default_of(field)} | "
            f"{range_of(field)} | {_cell((field.description or '') + secret)} |"
        )
    return "\n".join(lines) + "\n"
