"""Protocol errors as people read them: a plain sentence for the page, the OAuth error
code and description only in its details line."""

from __future__ import annotations

from authserver.i18n.message import N_, Msg

GENERIC = N_(
    "The app that sent you here asked for something this server cannot do, so you cannot "
    "sign in to it this way."
)
BY_CODE = {
    "invalid_client": N_("The app that sent you here is not registered with this server."),
    "unauthorized_client": N_("The app that sent you here may not sign people in this way."),
    "unsupported_response_type": N_(
        "The app that sent you here asked for a kind of sign-in this server does not offer."
    ),
    "invalid_scope": N_("The app that sent you here asked for access this server cannot give."),
}
REDIRECT = N_(
    "The app that sent you here asked to send you back to an address it has not registered, "
    "so this server will not send you there."
)


def sentence(code: str, description: str | None) -> Msg:
    """What to tell a person about an authorization request refused with ``code``."""
    if "redirect" in (description or "").lower():
        return REDIRECT
    return BY_CODE.get(code, GENERIC)
