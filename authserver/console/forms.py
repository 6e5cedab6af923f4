"""Turning console form fields into the admin API's request models, so a value the API
refuses is refused here with the same rule (``admin.schemas``)."""

from __future__ import annotations

from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from authserver.errors import InvalidInput
from authserver.params import parse_decimal

M = TypeVar("M", bound=BaseModel)
PAGE_SIZE = 50
MAX_PAGE = 200_000


def lines(value: str | None) -> list[str]:
    """A textarea with one item per line (blank lines ignored)."""
    return [line.strip() for line in (value or "").splitlines() if line.strip()]


def words(value: str | None) -> list[str]:
    return (value or "").split()


def checked(fields: dict[str, str], name: str) -> bool:
    return fields.get(name) == "on"


def validated(model: type[M], data: dict[str, Any]) -> M:
    """``data`` as ``model``, or ``InvalidInput`` naming each field that is wrong."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(map(str, e['loc'])) or 'form'}: {e['msg']}" for e in exc.errors()
        )
        raise InvalidInput(problems) from None


def page_number(params: Any) -> int:
    """The 1-based ``page`` query parameter (1 when absent or not a small number)."""
    value = parse_decimal(params.get("page") or "1")
    return value if value is not None and 1 <= value <= MAX_PAGE else 1
