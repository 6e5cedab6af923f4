"""Cookie names and attributes: ``HttpOnly``, ``SameSite=Lax``, and over HTTPS ``Secure``
with the ``__Host-`` prefix (no Domain, Path=/: a sibling subdomain cannot set it)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response


def _https(request: Request) -> bool:
    return bool(request.state.services.settings.issuer_is_https)


def name(request: Request, base: str) -> str:
    return f"__Host-{base}" if _https(request) else base


def read(request: Request, base: str) -> str | None:
    return request.cookies.get(name(request, base))


def write(
    request: Request, response: Response, base: str, value: str, max_age: int | None = None
) -> None:
    response.set_cookie(
        name(request, base),
        value,
        max_age=max_age,
        path="/",
        secure=_https(request),
        httponly=True,
        samesite="lax",
    )


def clear(request: Request, response: Response, base: str) -> None:
    response.delete_cookie(
        name(request, base), path="/", secure=_https(request), httponly=True, samesite="lax"
    )
