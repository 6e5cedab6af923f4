"""Password policy (NIST SP 800-63B §5.1.1.2): length, not a common password, not the
e-mail address. No composition rules by default."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from authserver.errors import InvalidInput

MIN_LENGTH = 8
MAX_LENGTH = 256
COMMON_PASSWORDS = Path(__file__).with_name("common_passwords.txt")


@lru_cache(maxsize=1)
def common_passwords() -> frozenset[str]:
    if not COMMON_PASSWORDS.exists():
        return frozenset()
    return frozenset(
        line.strip().casefold()
        for line in COMMON_PASSWORDS.read_text(encoding="utf-8").splitlines()
        if line.strip()
    )


def password_problems(password: str, *, email: str | None = None) -> list[str]:
    problems = []
    if len(password) < MIN_LENGTH:
        problems.append(f"Use at least {MIN_LENGTH} characters.")
    if len(password) > MAX_LENGTH:
        problems.append(f"Use at most {MAX_LENGTH} characters.")
    if password.casefold() in common_passwords():
        problems.append("That password is too common; choose another.")
    if email and password.casefold() == email.casefold():
        problems.append("Do not use your e-mail address as your password.")
    return problems


def check_password(password: str, *, email: str | None = None) -> None:
    problems = password_problems(password, email=email)
    if problems:
        raise InvalidInput(" ".join(problems))
