"""Second factors: authenticator apps, recovery codes, and sign-ins waiting for one.

Every "use once" rule here is one conditional UPDATE (or DELETE) whose row count says
whether this caller won: two processes checking the same code at the same moment get
exactly one success."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import delete, func, or_, select, update
from sqlalchemy.orm import Session

from authserver.storage.models import (
    PendingSignIn,
    RecoveryCode,
    TotpFactor,
    WebAuthnChallenge,
    WebAuthnCredential,
)


class MfaRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    # Authenticator apps

    def totp_of(self, user_id: str) -> TotpFactor | None:
        stmt = select(TotpFactor).where(TotpFactor.user_id == user_id)
        return self.session.scalars(stmt).first()

    def replace_totp(self, factor: TotpFactor) -> None:
        """Store a new (unconfirmed) authenticator app in place of the user's current one."""
        self.session.execute(delete(TotpFactor).where(TotpFactor.user_id == factor.user_id))
        self.session.add(factor)
        self.session.flush()

    def confirm_totp(self, factor_id: str, step: int, now: datetime) -> bool:
        result = self.session.execute(
            update(TotpFactor)
            .where(TotpFactor.id == factor_id, TotpFactor.confirmed_at.is_(None))
            .values(confirmed_at=now, last_used_step=step, last_used_at=now)
        )
        return result.rowcount == 1  # type: ignore[attr-defined]

    def claim_totp_step(self, factor_id: str, step: int, now: datetime) -> bool:
        """Record ``step`` as used if it is later than the last used one; False when that
        step (or a later one) was already used: a replayed code."""
        result = self.session.execute(
            update(TotpFactor)
            .where(
                TotpFactor.id == factor_id,
                TotpFactor.confirmed_at.is_not(None),
                or_(TotpFactor.last_used_step.is_(None), TotpFactor.last_used_step < step),
            )
            .values(last_used_step=step, last_used_at=now)
        )
        return result.rowcount == 1  # type: ignore[attr-defined]

    def delete_totp(self, user_id: str) -> bool:
        result = self.session.execute(delete(TotpFactor).where(TotpFactor.user_id == user_id))
        return bool(result.rowcount)  # type: ignore[attr-defined]

    # Recovery codes

    def replace_recovery_codes(self, user_id: str, hashes: Sequence[str], now: datetime) -> None:
        """The user's recovery codes become exactly ``hashes``: the old set is void."""
        self.session.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user_id))
        self.session.add_all(
            RecoveryCode(code_hash=h, user_id=user_id, created_at=now, used_at=None) for h in hashes
        )
        self.session.flush()

    def use_recovery_code(self, user_id: str, code_hash: str, now: datetime) -> bool:
        result = self.session.execute(
            update(RecoveryCode)
            .where(
                RecoveryCode.code_hash == code_hash,
                RecoveryCode.user_id == user_id,
                RecoveryCode.used_at.is_(None),
            )
            .values(used_at=now)
        )
        return result.rowcount == 1  # type: ignore[attr-defined]

    def recovery_codes_left(self, user_id: str) -> int:
        stmt = select(func.count()).where(
            RecoveryCode.user_id == user_id, RecoveryCode.used_at.is_(None)
        )
        return int(self.session.scalar(stmt) or 0)

    def recovery_codes_created(self, user_id: str) -> datetime | None:
        stmt = select(func.max(RecoveryCode.created_at)).where(RecoveryCode.user_id == user_id)
        return self.session.scalar(stmt)

    def delete_recovery_codes(self, user_id: str) -> int:
        result = self.session.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user_id))
        return int(result.rowcount)  # type: ignore[attr-defined]

    # Sign-ins waiting for a second factor

    def add_pending(self, pending: PendingSignIn) -> None:
        self.session.add(pending)

    def pending_by_secret_hash(self, secret_hash: str) -> PendingSignIn | None:
        stmt = select(PendingSignIn).where(PendingSignIn.secret_hash == secret_hash)
        return self.session.scalars(stmt).first()

    def complete_pending(self, pending_id: str, now: datetime) -> bool:
        result = self.session.execute(
            update(PendingSignIn)
            .where(
                PendingSignIn.id == pending_id,
                PendingSignIn.used_at.is_(None),
                PendingSignIn.expires_at > now,
            )
            .values(used_at=now)
        )
        return result.rowcount == 1  # type: ignore[attr-defined]

    def void_pending_of(self, user_id: str, now: datetime) -> int:
        result = self.session.execute(
            update(PendingSignIn)
            .where(PendingSignIn.user_id == user_id, PendingSignIn.used_at.is_(None))
            .values(used_at=now)
        )
        return int(result.rowcount)  # type: ignore[attr-defined]

    def purge_pending(self, before: datetime) -> int:
        result = self.session.execute(
            delete(PendingSignIn).where(
                or_(PendingSignIn.expires_at < before, PendingSignIn.used_at < before)
            )
        )
        return int(result.rowcount)  # type: ignore[attr-defined]

    # Passkeys and security keys (WebAuthn)

    def webauthn_of(self, user_id: str) -> Sequence[WebAuthnCredential]:
        stmt = (
            select(WebAuthnCredential)
            .where(WebAuthnCredential.user_id == user_id)
            .order_by(WebAuthnCredential.created_at)
        )
        return self.session.scalars(stmt).all()

    def webauthn_by_credential_id(self, credential_id: str) -> WebAuthnCredential | None:
        stmt = select(WebAuthnCredential).where(WebAuthnCredential.credential_id == credential_id)
        return self.session.scalars(stmt).first()

    def add_webauthn(self, credential: WebAuthnCredential) -> None:
        self.session.add(credential)
        self.session.flush()

    def count_webauthn(self, user_id: str) -> int:
        stmt = select(func.count()).where(WebAuthnCredential.user_id == user_id)
        return int(self.session.scalar(stmt) or 0)

    def claim_webauthn_use(
        self, row_id: str, old_count: int, new_count: int, now: datetime
    ) -> bool:
        """Record a use with the counter the authenticator reported; False when another
        use recorded a counter meanwhile (the same assertion twice at once)."""
        result = self.session.execute(
            update(WebAuthnCredential)
            .where(WebAuthnCredential.id == row_id, WebAuthnCredential.sign_count == old_count)
            .values(sign_count=new_count, last_used_at=now)
        )
        return result.rowcount == 1  # type: ignore[attr-defined]

    def delete_webauthn(self, user_id: str, row_id: str | None = None) -> int:
        stmt = delete(WebAuthnCredential).where(WebAuthnCredential.user_id == user_id)
        if row_id is not None:
            stmt = stmt.where(WebAuthnCredential.id == row_id)
        result = self.session.execute(stmt)
        return int(result.rowcount)  # type: ignore[attr-defined]

    def add_challenge(self, challenge: WebAuthnChallenge) -> None:
        self.session.add(challenge)

    def use_challenge(self, challenge_hash: str, now: datetime) -> WebAuthnChallenge | None:
        """The live ceremony with this challenge, now used; None if unknown, expired or
        used already (a replayed response)."""
        result = self.session.execute(
            update(WebAuthnChallenge)
            .where(
                WebAuthnChallenge.challenge_hash == challenge_hash,
                WebAuthnChallenge.used_at.is_(None),
                WebAuthnChallenge.expires_at > now,
            )
            .values(used_at=now)
        )
        if result.rowcount != 1:  # type: ignore[attr-defined]
            return None
        return self.session.get(WebAuthnChallenge, challenge_hash)

    def purge_challenges(self, before: datetime) -> int:
        result = self.session.execute(
            delete(WebAuthnChallenge).where(WebAuthnChallenge.expires_at < before)
        )
        return int(result.rowcount)  # type: ignore[attr-defined]
