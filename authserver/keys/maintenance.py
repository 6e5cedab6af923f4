"""The key maintenance thread of a server process: it re-reads a database key store every
few seconds (``KeyRing.poll``), and carries out the scheduled rotation
(``AUTHSERVER_KEY_ROTATION_INTERVAL``) when it falls due.

Every process runs one; whichever notices first rotates, under the store's lock, and the
others find the new key and nothing due (``keys.admin.rotate_if_due``). A failed round
(the database away) is logged and tried again; it never stops the thread.
"""

from __future__ import annotations

import logging
import threading

from authserver.audit import AuditEvent, record
from authserver.keys import admin as key_admin
from authserver.keys import lifecycle
from authserver.services import Services, key_grace

log = logging.getLogger(__name__)

# How often a database key store is re-read: a key rotated in elsewhere is seen within
# this (it is published for KEY_PUBLISH_AHEAD, at least the JWKS max-age, before it signs).
DATABASE_POLL_SECONDS = 2.0
# Otherwise the thread only wakes for the rotation schedule (the folder is re-read on
# requests), and at least this often, to follow a key made by `authserver keys rotate`.
IDLE_SECONDS = 60.0
# After a failed round.
RETRY_SECONDS = 5.0


class KeyMaintenance:
    def __init__(self, services: Services) -> None:
        self.services = services
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def needed(self) -> bool:
        s = self.services.settings
        return not self.services.key_store.poll_in_request or s.rotation_interval is not None

    def start(self) -> None:
        if not self.needed or self._thread is not None:
            return
        self._thread = threading.Thread(
            target=self._run, name="authserver-key-maintenance", daemon=True
        )
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                wait = self.round()
            except Exception:
                log.exception("key maintenance failed; trying again in %s s", RETRY_SECONDS)
                wait = RETRY_SECONDS
            self._stop.wait(wait)

    def round(self) -> float:
        """One look at the keys; the seconds until the next one."""
        svc = self.services
        s = svc.settings
        store = svc.key_store
        wait = IDLE_SECONDS if store.poll_in_request else DATABASE_POLL_SECONDS
        svc.keys.poll()
        interval = s.rotation_interval
        if interval is None:
            return wait
        now = svc.clock.now()
        due = lifecycle.next_rotation(store.schedules(), interval)
        if due is not None and now >= due:
            new = key_admin.rotate_if_due(
                store, now, interval, s.key_publish_ahead, s.key_size, key_grace(s)
            )
            if new is not None:
                log.info(
                    "scheduled key rotation: new key %s signs from %s", new.kid, new.activates_at
                )
                with svc.db.unit_of_work() as uow:
                    record(uow, svc.clock, AuditEvent.KEY_ROTATED, kid=new.kid, via="schedule")
                svc.keys.poll()
                due = now + interval
        if due is not None:
            wait = min(wait, max(due - svc.clock.now(), 0.0) + 0.01)
        return wait
