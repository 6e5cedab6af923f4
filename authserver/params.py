"""Parsing of small decimal numbers from untrusted text (query strings, form fields, headers).

``str.isdigit`` accepts characters such as "²" that ``int`` refuses, and ``int`` refuses
strings past Python's digit limit: both would surface as a 500. This accepts ASCII digits
only, and only as many as the caller allows."""

from __future__ import annotations

import re

_DIGITS = re.compile(r"[0-9]+")


def parse_decimal(raw: str, max_digits: int = 20) -> int | None:
    """The value of ``raw`` if it is 1..max_digits ASCII digits, else None."""
    if len(raw) > max_digits or not _DIGITS.fullmatch(raw):
        return None
    return int(raw)
