"""Reading the audit trail: newest first in pages, or every match oldest first (export)."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass
from datetime import datetime

from authserver.errors import InvalidInput
from authserver.manage.call import AdminCall
from authserver.storage.models import AuditEvent

MAX_FILTER = 320


@dataclass(frozen=True)
class AuditFilter:
    user_id: str | None = None
    client_id: str | None = None
    event: str | None = None
    since: datetime | None = None
    until: datetime | None = None

    @classmethod
    def parse(cls, params: Mapping[str, str]) -> AuditFilter:
        """From query parameters (empty ones ignored); times are ISO 8601 with a zone.
        ``InvalidInput`` names the parameter that is wrong."""
        text = {}
        for name in ("user_id", "client_id", "event"):
            value = (params.get(name) or "").strip()
            if len(value) > MAX_FILTER:
                raise InvalidInput(f"{name} is too long")
            text[name] = value or None
        return cls(**text, since=parse_time(params, "since"), until=parse_time(params, "until"))


def parse_time(params: Mapping[str, str], name: str) -> datetime | None:
    raw = (params.get(name) or "").strip()
    if not raw:
        return None
    try:
        value = datetime.fromisoformat(raw)
    except ValueError:
        raise InvalidInput(f"{name} must be an ISO 8601 time") from None
    if value.tzinfo is None:
        raise InvalidInput(f"{name} must carry a time zone (e.g. Z)")
    return value


def page(
    call: AdminCall, where: AuditFilter, limit: int, before_id: int | None = None
) -> tuple[Sequence[AuditEvent], int | None]:
    """Up to ``limit`` events, newest first, older than ``before_id``; and the
    ``before_id`` of the next page (None on the last)."""
    rows = call.uow.audit.query(**asdict(where), limit=limit, before_id=before_id)
    return rows, rows[-1].id if len(rows) == limit else None


def export(call: AdminCall, where: AuditFilter) -> Iterator[AuditEvent]:
    """Every matching event, oldest first, read in batches."""
    return call.uow.audit.oldest_first(**asdict(where))
