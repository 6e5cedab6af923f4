"""Form fields for a configuration model (``federation.config``'s sections): one input
per field, chosen by its type -- text, a number, a checkbox, one item per line, or
`key => value value` rules -- and the submitted form back as the model's data. New fields
in the model (a new provider kind's settings) appear in the console without a template
change, with the model's own description as the hint."""

from __future__ import annotations

import types
from typing import Any, Union, get_args, get_origin

from pydantic import BaseModel

from authserver.console.forms import lines

TEXT, NUMBER, CHECK, LINES, RULES = "text", "number", "check", "lines", "rules"
# Text longer than this is edited in a textarea (a pasted SAML metadata document, a PEM).
LONG_TEXT = 2000
# Between a rule's key and its values: neither group names (LDAP DNs hold "=" and ",")
# nor role names (":") hold it.
ARROW = "=>"


def _kind(annotation: Any) -> str:
    args = [a for a in get_args(annotation) if a is not type(None)]
    origin = get_origin(annotation)
    if origin in (Union, types.UnionType) and len(args) == 1:
        return _kind(args[0])
    if annotation is bool:
        return CHECK
    if annotation is int:
        return NUMBER
    if origin is list:
        return LINES
    if origin is dict:
        return RULES
    metadata_origin = get_origin(get_args(annotation)[0]) if get_args(annotation) else None
    if metadata_origin is list:  # Annotated[list[...], ...]
        return LINES
    return TEXT


def _optional(annotation: Any) -> bool:
    return get_origin(annotation) in (Union, types.UnionType) and type(None) in get_args(annotation)


def _shown(kind: str, value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if kind == LINES:
        return "\n".join(str(v) for v in value)
    if kind == RULES:
        return "\n".join(f"{k} {ARROW} {' '.join(v)}" for k, v in value.items())
    return value


def _max_length(info: Any) -> int | None:
    for item in info.metadata:
        if getattr(item, "max_length", None) is not None:
            return int(item.max_length)
    return None


def fields_of(model: type[BaseModel], prefix: str, values: dict[str, Any]) -> list[dict[str, Any]]:
    """The inputs for ``model``'s fields named ``<prefix>.<field>``, filled from
    ``values`` (the stored configuration, or the form as it was sent)."""
    out = []
    for name, info in model.model_fields.items():
        kind = _kind(info.annotation)
        limit = _max_length(info)
        out.append(
            {
                "name": f"{prefix}.{name}",
                "id": f"{prefix}-{name}".replace("_", "-"),
                "label": name.replace("_", " "),
                "kind": kind,
                "value": _shown(kind, values.get(name)),
                "hint": info.description or "",
                "long": kind == TEXT and (limit is None or limit > LONG_TEXT),
                "max_length": limit,
            }
        )
    return out


def submitted(model: type[BaseModel], prefix: str, form: dict[str, str]) -> dict[str, Any]:
    """The form's values for ``model`` as the model's data (left-out text is omitted, so
    the model's default applies)."""
    data: dict[str, Any] = {}
    for name, info in model.model_fields.items():
        kind = _kind(info.annotation)
        raw = form.get(f"{prefix}.{name}", "")
        if kind == CHECK:
            # An optional flag (``bool | None``, e.g. a SAML-only one) unticked is left
            # out: None, not False, so a kind that has no such setting is not sent one.
            if raw == "on" or not _optional(info.annotation):
                data[name] = raw == "on"
        elif kind == LINES:
            data[name] = lines(raw)
        elif kind == RULES:
            rules: dict[str, list[str]] = {}
            for line in lines(raw):
                key, arrow, rest = line.partition(ARROW)
                rules[key.strip()] = rest.split() if arrow else []
            data[name] = rules
        elif raw.strip():
            data[name] = int(raw) if kind == NUMBER and raw.strip().isdigit() else raw.strip()
    return data


def shown_values(model: type[BaseModel], prefix: str, form: dict[str, str]) -> dict[str, Any]:
    """The form as it was sent, for showing it again after an error."""
    values: dict[str, Any] = {}
    for name, info in model.model_fields.items():
        kind = _kind(info.annotation)
        raw = form.get(f"{prefix}.{name}", "")
        values[name] = raw == "on" if kind == CHECK else raw
    return values
