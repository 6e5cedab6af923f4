"""The numbers on the console's dashboard: sign-ins of the last hour from the audit log
(every process writes it), tokens by grant from the metrics, and what exists."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import timedelta

from authserver.audit import AuditEvent
from authserver.clock import to_datetime
from authserver.manage import keys
from authserver.manage.call import AdminCall

WINDOW = timedelta(hours=1)
COUNTED = (
    AuditEvent.LOGIN_OK,
    AuditEvent.LOGIN_FAILED,
    AuditEvent.LOGIN_THROTTLED,
    AuditEvent.REFRESH_REUSE,
)


@dataclass(frozen=True)
class Dashboard:
    last_hour: dict[str, int]
    tokens_by_grant: dict[str, int]
    clients: int
    users: int
    keys_by_state: dict[str, int]


def summary(call: AdminCall) -> Dashboard:
    since = to_datetime(call.services.clock.now()) - WINDOW
    counted = call.uow.audit.count_by_event(since, [str(e) for e in COUNTED])
    states = Counter(str(k.state) for k in keys.schedule(call))
    return Dashboard(
        last_hour=counted,
        tokens_by_grant=call.services.metrics.tokens_by_grant(),
        clients=call.uow.clients.count(),
        users=call.uow.users.count(),
        keys_by_state={s: states.get(s, 0) for s in ("next", "active", "retiring", "retired")},
    )
