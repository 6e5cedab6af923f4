"""JSON from outside, parsed so that its shape cannot reach the recursion limit.

Python's ``json`` parser recurses once per nesting level, and so does most code that
walks a parsed document (pydantic, JOSE libraries, our own checks): a body of a few
thousand ``[`` raises ``RecursionError``, a 500. Every JSON we read from a request, and
every segment of an untrusted JWT, goes through here first: a document nested deeper
than ``MAX_DEPTH`` levels is refused (``UnsafeJson``, a ``ValueError``). No metadata,
claim set or key set we accept nests anywhere near that deep.

Standard library only: the resource-server helper uses it too."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from typing import Any

MAX_DEPTH = 32


class UnsafeJson(ValueError):
    """Not JSON (or not UTF-8), or nested deeper than we accept."""


class TooDeep(UnsafeJson):
    """Nested deeper than we accept."""


def _deeper_than(value: Any, max_depth: int) -> bool:
    """Whether arrays and objects nest more than ``max_depth`` levels (no recursion)."""
    stack = [(1, value)] if isinstance(value, dict | list) else []
    while stack:
        depth, node = stack.pop()
        if depth > max_depth:
            return True
        children = node.values() if isinstance(node, dict) else node
        stack.extend((depth + 1, c) for c in children if isinstance(c, dict | list))
    return False


def strings(value: Any) -> Iterator[str]:
    """Every string in a parsed document, object keys included (no recursion)."""
    stack = [value]
    while stack:
        node = stack.pop()
        if isinstance(node, str):
            yield node
        elif isinstance(node, dict):
            stack.extend(node)
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)


def loads(data: str | bytes, max_depth: int = MAX_DEPTH) -> Any:
    """``json.loads`` of UTF-8 text, refusing with ``UnsafeJson`` a document nested
    deeper than ``max_depth`` (the parser's own recursion limit included)."""
    try:
        text = data.decode("utf-8") if isinstance(data, bytes) else data
        value = json.loads(text)
    except RecursionError:
        raise TooDeep("nested too deeply") from None
    except ValueError as exc:  # UnicodeDecodeError and JSONDecodeError among them
        raise UnsafeJson(f"not JSON: {exc}") from None
    if _deeper_than(value, max_depth):
        raise TooDeep("nested too deeply")
    return value


def b64url_json(segment: str, max_depth: int = MAX_DEPTH) -> Any:
    """One base64url segment of a compact JWS/JWT, decoded and parsed by ``loads``."""
    try:
        raw = base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))
    except (ValueError, TypeError):
        raise UnsafeJson("not base64url") from None
    return loads(raw, max_depth)


def compact_jwt_is_shallow(token: str, max_depth: int = MAX_DEPTH) -> bool:
    """Whether a compact JWT's header and payload are safe for a JOSE library to parse:
    check an untrusted token with this first. Segments that are not JSON at all pass
    (the library refuses them properly); only a too-deep one fails."""
    for segment in token.split(".")[:2]:
        try:
            b64url_json(segment, max_depth)
        except TooDeep:
            return False
        except UnsafeJson:
            continue
    return True
