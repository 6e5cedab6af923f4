"""Domain errors. Protocol errors are Authlib's ``OAuth2Error`` subclasses; these are
the non-OAuth failures the lower layers raise and the edges translate."""

from __future__ import annotations

from authserver.i18n.message import Msg, Sentences, Text


class AuthServerError(Exception):
    """Base of the domain errors."""

    @property
    def message(self) -> Text:
        """What to show a person: translatable (``Msg``) where the raiser marked it."""
        return (
            self.args[0] if self.args and isinstance(self.args[0], Msg | Sentences) else str(self)
        )


class UnsafeSettings(AuthServerError):
    """The settings are malformed, unsafe or contradictory; one message per problem."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("refusing to start:\n  " + "\n  ".join(problems))


class NotFound(AuthServerError):
    """The named thing does not exist."""


class Conflict(AuthServerError):
    """The change would collide with existing data (a duplicate, say)."""


class InvalidInput(AuthServerError):
    """A caller-supplied value is malformed; the message is safe to show. ``field``: the
    form field it concerns, when it concerns one (pages mark that input invalid)."""

    def __init__(self, *args: object, field: str | None = None) -> None:
        super().__init__(*args)
        self.field = field


class SigningKeyError(AuthServerError):
    """A signing-key operation cannot be done (no key can sign, say)."""


class NotMigrated(AuthServerError):
    """The database schema is not the one this version of the code needs."""


class ServiceUnavailable(AuthServerError):
    """A backing service (database, Redis) cannot be reached."""


class RateLimited(AuthServerError):
    """Too many attempts; retry after ``retry_after`` seconds."""

    def __init__(self, retry_after: int) -> None:
        self.retry_after = retry_after
        super().__init__(f"rate limited, retry after {retry_after}s")
