"""Token preview for an administrator: which client, which user (e-mail or id), which
scope; the claims come from ``oauth.preview`` (the issuing code), nothing is stored."""

from __future__ import annotations

from authlib.oauth2.rfc6749 import InvalidScopeError

from authserver.errors import InvalidInput, NotFound
from authserver.manage.call import AdminCall
from authserver.oauth import preview as token_preview

METHODS = {
    "pwd": ("pwd",),
    "pwd_otp": ("pwd", "otp"),
    "pwd_hwk": ("pwd", "hwk"),
    "fed": ("fed",),
}


def preview(
    call: AdminCall, client_id: str, user_ref: str, scope: str | None, methods: str = "pwd"
) -> token_preview.TokenPreview:
    client = call.uow.clients.get(client_id) if client_id else None
    if client is None:
        raise NotFound(f"no client {client_id}")
    ref = user_ref.strip()
    user = call.uow.users.find_by_email(ref) if "@" in ref else call.uow.users.get(ref)
    if user is None:
        raise NotFound(f"no user {ref}")
    if methods not in METHODS:
        raise InvalidInput(f"methods must be one of {', '.join(METHODS)}")
    try:
        return token_preview.preview(
            call.uow, call.services, client, user, scope or None, METHODS[methods]
        )
    except InvalidScopeError as exc:
        raise InvalidInput(f"invalid_scope: {exc.description}") from None
