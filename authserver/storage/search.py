"""Case-insensitive "contains" filters for the admin lists (clients, users)."""

from __future__ import annotations

from sqlalchemy import ColumnElement, func, or_
from sqlalchemy.orm import InstrumentedAttribute

ESCAPE = "\\"


def contains(text: str, *columns: InstrumentedAttribute[str]) -> ColumnElement[bool]:
    """Any of ``columns`` contains ``text`` (its LIKE wildcards taken literally)."""
    literal = text.lower().replace(ESCAPE, ESCAPE * 2).replace("%", r"\%").replace("_", r"\_")
    pattern = f"%{literal}%"
    return or_(*(func.lower(c).like(pattern, escape=ESCAPE) for c in columns))
