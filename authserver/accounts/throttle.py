"""Throttling policy: which counters an attempt touches, and their limits.

Password checks (login page, password grant, change password) and reset-link checks are
counted per account and per client IP, so neither one attacker spraying one account from
many addresses nor one address spraying many accounts gets far. Accounts are keyed by the
e-mail as typed (case-folded, hashed), whether or not such an account exists: a throttled
unknown address behaves exactly like a throttled known one.

A browser that logged in to an account before is counted per device instead of per
account (``accounts.device_cookie``), so keeping an account at its limit does not lock
its owner out.

A check is counted as a failure *before* the password is verified, so concurrent guesses
(on any number of processes) cannot together pass a limit; a success then takes its count
back and clears the account's failures.
"""

from __future__ import annotations

import hashlib
import ipaddress

from authserver.settings import Settings
from authserver.storage.ratelimit import RateLimiter
from authserver.storage.users import email_key

HOUR = 3600


def client_key(ip: str | None) -> str:
    """The counter key of a client address. IPv6 clients are grouped by /64: one
    subscriber usually holds a whole /64, and would otherwise have 2**64 fresh counters."""
    if not ip:
        return "unknown"
    try:
        address = ipaddress.ip_address(ip)
    except ValueError:
        return ip[:64]
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return str(address.ipv4_mapped)
        return str(ipaddress.ip_network(f"{address}/64", strict=False))
    return str(address)


def account_key(email: str) -> str:
    """The counter key of an account: no addresses in Redis, a bounded key length."""
    return hashlib.sha256(email_key(email[:320]).encode()).hexdigest()[:32]


class Throttle:
    def __init__(self, limiter: RateLimiter, settings: Settings) -> None:
        self.limiter = limiter
        self.window = settings.throttle_window
        self.account_limit = settings.throttle_account_failures
        self.ip_limit = settings.throttle_ip_failures
        self.hourly_ip_limit = settings.throttle_ip_hourly_requests
        self.hourly_email_limit = settings.throttle_email_hourly_resets

    def _account_counter(self, email: str, device: str | None) -> str:
        # A browser the account's owner logged in with before counts on its own
        # (accounts.device_cookie): strangers' guesses cannot lock it out.
        return f"pw:dev:{device}" if device else f"pw:acct:{account_key(email)}"

    def begin_password_check(
        self, email: str, ip: str | None, device: str | None = None
    ) -> int | None:
        """Count a password check as a failure until it succeeds; the seconds to wait
        when the account (or the trusted device) or the address is at its limit (then
        nothing is counted)."""
        account = self._account_counter(email, device)
        wait = self.limiter.hit(account, self.account_limit, self.window)
        if wait is not None:
            return wait
        wait = self.limiter.hit(f"pw:ip:{client_key(ip)}", self.ip_limit, self.window)
        if wait is not None:
            self.limiter.undo(account, self.window)
        return wait

    def password_ok(self, email: str, ip: str | None, device: str | None = None) -> None:
        """A check succeeded: it was no failure, and the account's failures are
        forgiven (they were the owner's typos, or an attacker's that failed)."""
        self.limiter.clear(f"pw:acct:{account_key(email)}", self.window)
        if device:
            self.limiter.clear(self._account_counter(email, device), self.window)
        self.limiter.undo(f"pw:ip:{client_key(ip)}", self.window)

    def account_recovered(self, email: str) -> None:
        """The owner proved control of the mailbox (a completed reset): unthrottle."""
        self.limiter.clear(f"pw:acct:{account_key(email)}", self.window)

    def begin_second_factor_check(self, user_id: str, ip: str | None) -> int | None:
        """Count a second-factor check (a code, a recovery code) as a failure until it
        succeeds; the seconds to wait when the account or the address is at its limit.
        Always per account, never per device: whoever is asked for a second factor
        already has the password, and could mint device cookies at will."""
        account = f"mfa:acct:{user_id}"
        wait = self.limiter.hit(account, self.account_limit, self.window)
        if wait is not None:
            return wait
        wait = self.limiter.hit(f"mfa:ip:{client_key(ip)}", self.ip_limit, self.window)
        if wait is not None:
            self.limiter.undo(account, self.window)
        return wait

    def second_factor_ok(self, user_id: str, ip: str | None) -> None:
        self.limiter.clear(f"mfa:acct:{user_id}", self.window)
        self.limiter.undo(f"mfa:ip:{client_key(ip)}", self.window)

    def begin_link_check(self, ip: str | None) -> int | None:
        """Count a reset-link check as a failure of this client address until it
        succeeds (``link_ok``); the seconds to wait when the address is at its limit.
        A counter of its own: bad links must not use up the address's password checks."""
        return self.limiter.hit(f"link:ip:{client_key(ip)}", self.ip_limit, self.window)

    def link_ok(self, ip: str | None) -> None:
        self.limiter.undo(f"link:ip:{client_key(ip)}", self.window)

    def signup(self, ip: str | None) -> int | None:
        """Count a sign-up attempt; each also probes whether an address is registered."""
        return self.limiter.hit(f"req:ip:{client_key(ip)}", self.hourly_ip_limit, HOUR)

    def reset_request(self, email: str, ip: str | None) -> int | None:
        """Count a reset request per address (no mail bombing) and per client IP."""
        wait = self.limiter.hit(f"req:ip:{client_key(ip)}", self.hourly_ip_limit, HOUR)
        if wait is not None:
            return wait
        mailbox = f"reset:acct:{account_key(email)}"
        return self.limiter.hit(mailbox, self.hourly_email_limit, HOUR)

    def verification_request(self, email: str, ip: str | None) -> int | None:
        """Count a verification (or change-of-address) e-mail per address and per client
        IP, on the reset e-mails' limits: no mail bombing through "send it again"."""
        wait = self.limiter.hit(f"req:ip:{client_key(ip)}", self.hourly_ip_limit, HOUR)
        if wait is not None:
            return wait
        mailbox = f"verify:acct:{account_key(email)}"
        return self.limiter.hit(mailbox, self.hourly_email_limit, HOUR)
