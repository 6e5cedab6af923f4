"""Framework-neutral request and response objects handed to and from Authlib."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from authlib.oauth2.rfc6749 import OAuth2Payload, OAuth2Request


@dataclass(frozen=True)
class RequestMeta:
    """Who is asking: for the audit log and rate limits."""

    ip: str | None = None
    user_agent: str | None = None
    request_id: str | None = None


class FormPayload(OAuth2Payload):
    def __init__(self, data: Mapping[str, str], datalist: Mapping[str, list[str]]) -> None:
        self._data = dict(data)
        self._datalist = {k: list(v) for k, v in datalist.items()}

    @property
    def data(self) -> dict[str, str]:
        return self._data

    @property
    def datalist(self) -> dict[str, list[str]]:  # type: ignore[override]
        return self._datalist


class OAuthRequest(OAuth2Request):
    """An HTTP request already read off the wire (Authlib's core is synchronous).

    ``form`` is the parsed body; ``payload`` the parameters Authlib reads, which the
    caller chooses (form only at the token endpoint, query or form at /authorize)."""

    def __init__(
        self,
        method: str,
        uri: str,
        headers: Mapping[str, str],
        *,
        form: Mapping[str, str] | None = None,
        query: Mapping[str, str] | None = None,
        params: Mapping[str, list[str]] | None = None,
        meta: RequestMeta | None = None,
    ) -> None:
        super().__init__(method, uri, headers=headers)
        self._form = dict(form or {})
        self._query = dict(query or {})
        lists = params if params is not None else {k: [v] for k, v in self._form.items()}
        self.payload = FormPayload({k: v[-1] for k, v in lists.items() if v}, lists)
        self.meta = meta or RequestMeta()

    def fresh_copy(self) -> OAuthRequest:
        """The request as it arrived, without what a grant set on it."""
        return OAuthRequest(
            self.method,
            self.uri,
            self.headers,
            form=self._form,
            query=self._query,
            params=self.payload.datalist,
            meta=self.meta,
        )

    @property
    def form(self) -> dict[str, str]:
        return self._form

    @property
    def args(self) -> dict[str, str]:
        return self._query


@dataclass
class OAuthResponse:
    """What Authlib answered: status, body (dict for JSON, str otherwise), headers.

    ``location`` is read and written by Authlib's RFC 9207 extension."""

    status: int
    body: Any
    headers: list[tuple[str, str]] = field(default_factory=list)

    @property
    def location(self) -> str | None:
        for name, value in self.headers:
            if name.lower() == "location":
                return value
        return None

    @location.setter
    def location(self, value: str) -> None:
        self.headers = [(n, v) for n, v in self.headers if n.lower() != "location"]
        self.headers.append(("Location", value))
