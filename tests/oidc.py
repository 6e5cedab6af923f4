"""Driving the browser side of the code flow over HTTP (the real pages, no shortcuts)."""

from __future__ import annotations

import base64
import hashlib
import re
import secrets
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

from tests.factories import CreatedUser, RegisteredClient

REDIRECT = "https://app.example.com/cb"


def pkce_pair() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=")
    return verifier, challenge.decode()


def csrf_of(html: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)


def hidden_fields(html: str) -> dict[str, str]:
    import html as htmllib

    return {
        htmllib.unescape(n): htmllib.unescape(v)
        for n, v in re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', html)
    }


def query_of(location: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}


@dataclass
class Flow:
    http: Any
    client: RegisteredClient
    scope: str = "openid email"
    verifier: str = ""
    params: dict[str, str] = field(default_factory=dict)

    def start(self, **extra: str) -> Any:
        self.verifier, challenge = pkce_pair()
        self.params = {
            "response_type": "code",
            "client_id": self.client.client_id,
            "redirect_uri": REDIRECT,
            "scope": self.scope,
            "state": "st-123",
            "nonce": secrets.token_urlsafe(12),
            "code_challenge": challenge,
            "code_challenge_method": "S256",
            **extra,
        }
        self.params = {k: v for k, v in self.params.items() if v is not None}
        return self.http.get("/authorize?" + urlencode(self.params), follow_redirects=False)

    def login(self, user: CreatedUser, response: Any) -> Any:
        """Follow a redirect to /login, log in, and follow back to /authorize."""
        assert response.status_code == 303 and response.headers["location"].startswith("/login")
        page = self.http.get(response.headers["location"])
        fields = hidden_fields(page.text)
        r = self.http.post(
            "/login",
            data={**fields, "email": user.email, "password": user.password},
            follow_redirects=False,
        )
        assert r.status_code == 303, r.text
        return self.http.get(r.headers["location"], follow_redirects=False)

    def consent(self, page: Any, decision: str = "approve") -> Any:
        assert page.status_code == 200 and "Allow" in page.text, page.text
        fields = hidden_fields(page.text)
        return self.http.post(
            "/consent", data={**fields, "decision": decision}, follow_redirects=False
        )

    def authorize(self, user: CreatedUser, **extra: str) -> dict[str, str]:
        """The whole browser part: start, log in if asked, consent if asked; the query of
        the final redirect to the client."""
        r = self.start(**extra)
        if r.status_code == 303 and r.headers["location"].startswith("/login"):
            r = self.login(user, r)
        if r.status_code == 200:
            r = self.consent(r)
        assert r.status_code == 302, r.text
        assert r.headers["location"].startswith(REDIRECT), r.headers["location"]
        return query_of(r.headers["location"])

    def exchange(self, code: str, **extra: str) -> Any:
        data = {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": REDIRECT,
            "code_verifier": self.verifier,
            **extra,
        }
        if self.client.client_secret is None:
            return self.http.post("/token", data={**data, "client_id": self.client.client_id})
        return self.http.post("/token", data=data, auth=self.client.basic_auth)
