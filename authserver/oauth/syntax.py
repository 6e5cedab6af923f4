"""The syntax and size of request parameters, checked once where a request is parsed
(``web.oauth_bridge``), before anything reads, stores or quotes them.

RFC 6749 Appendix A gives the ABNF of the OAuth parameters; Authlib quotes some of them
in error descriptions, which may only hold %x20-21 / %x23-5B / %x5D-7E (§4.1.2.1), and
refuses to build such an error (a 500) when one does not fit. Lengths are those of the
columns the values end up in, so PostgreSQL never refuses a value SQLite would keep."""

from __future__ import annotations

import re

from authserver import text
from authserver.i18n.message import N_, Text

# Any parameter: twice what the largest we accept may need (a signed JWT such as
# client_assertion, id_token_hint or token: 8192), so that an overlong token is still
# answered by its endpoint's own rule ("active": false, invalid_grant, ...).
MAX_CHARS = 16_384

_VSCHAR = r"[\x20-\x7e]"
# RFC 6749 A.10/A.11 grant-name / URI (extension grants are URNs such as
# urn:ietf:params:oauth:grant-type:jwt-bearer).
_GRANT_TYPE = r"[A-Za-z0-9._~:/?#\[\]@!$&'()*+,;=%-]+"
# A.6 URI-reference: printable ASCII without spaces (the exact rules are the registry's).
_URI = r"[\x21-\x7e]+"

# Parameters whose values are looked up, quoted in errors or sent back.
SYNTAX = {
    "client_id": re.compile(rf"{_VSCHAR}+"),  # A.1
    # A.3 response-type = response-name *( SP response-name ), response-char = "_" / DIGIT / ALPHA
    "response_type": re.compile(r"[A-Za-z0-9_]+(?: [A-Za-z0-9_]+)*"),
    "state": re.compile(rf"{_VSCHAR}+"),  # A.5
    "grant_type": re.compile(_GRANT_TYPE),  # A.10
    "redirect_uri": re.compile(_URI),
    "post_logout_redirect_uri": re.compile(_URI),
}

# Parameters that reach a column narrower than MAX_CHARS (see storage.models) with no
# rule of their own on the way (the scope, e-mail and name rules answer more helpfully).
# A code_challenge also gets past Authlib's `^...$` pattern with a trailing newline.
LIMITS = {
    "client_id": 100,
    "nonce": 512,
    "code_challenge": 128,
    "username": 320,
    "login_hint": 320,
    "redirect_uri": 2000,
    "post_logout_redirect_uri": 2000,
}


# A parameter name shown in an error only when it is plain (descriptions are restricted
# ASCII, RFC 6749 §4.1.2.1).
SAFE_NAME = re.compile(r"[a-z_]{1,40}")


def shown_name(name: str) -> str:
    return f"The {name} parameter" if SAFE_NAME.fullmatch(name) else "A parameter"


def parameter_problem(name: str, value: str) -> Text | None:
    """What is wrong with one parameter (its name or value), in words safe to show."""
    if not text.storable(name):
        return N_("A parameter name contains control characters.")
    shown = shown_name(name)
    if not text.storable(value):
        return N_("%(name)s contains control characters.", name=shown)
    if len(value) > LIMITS.get(name, MAX_CHARS):
        return N_("%(name)s is too long.", name=shown)
    pattern = SYNTAX.get(name)
    # An empty value is an omitted parameter (RFC 6749 §3.1): no syntax to check.
    if pattern is not None and value and not pattern.fullmatch(value):
        return N_("%(name)s is malformed.", name=shown)
    return None
