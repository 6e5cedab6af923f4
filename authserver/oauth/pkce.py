"""PKCE (RFC 7636) the strict way: S256 only, required from public clients.

Authlib's ``CodeChallenge`` accepts `plain` and lets a public client skip the challenge
at /authorize (AUTHLIB.md §5.4). RFC 9700 §2.1.1: public clients MUST use PKCE and the
`plain` method SHOULD NOT be used; RFC 7636 §4.3: a missing method means `plain`, so it
is refused too."""

from __future__ import annotations

from typing import Any

from authlib.oauth2.rfc6749 import InvalidRequestError
from authlib.oauth2.rfc7636 import CodeChallenge


class S256CodeChallenge(CodeChallenge):
    DEFAULT_CODE_CHALLENGE_METHOD = "S256"
    SUPPORTED_CODE_CHALLENGE_METHOD = ["S256"]
    CODE_CHALLENGE_METHODS = {"S256": CodeChallenge.CODE_CHALLENGE_METHODS["S256"]}

    def validate_code_challenge(self, grant: Any, redirect_uri: str) -> None:
        data = grant.request.payload.data
        challenge, method = data.get("code_challenge"), data.get("code_challenge_method")
        if not challenge:
            if grant.request.client.is_public:
                raise InvalidRequestError(
                    "Public clients must send a code_challenge (PKCE, S256).",
                    redirect_uri=redirect_uri,
                )
            if method:
                raise InvalidRequestError("Missing code_challenge.", redirect_uri=redirect_uri)
            return
        if method != "S256":
            raise InvalidRequestError(
                "code_challenge_method must be S256 (plain is not supported).",
                redirect_uri=redirect_uri,
            )
        super().validate_code_challenge(grant, redirect_uri)
