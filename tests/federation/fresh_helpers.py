"""Helpers of the fresh-authentication tests (``federation.fresh``): a clock ahead of or
behind the upstream's, a relying party's journey that stops at the upstream's URL, and a
node-oidc-provider browser that says whether it was asked to log in."""

from __future__ import annotations

import html as htmllib
import re
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import urljoin

import httpx2 as httpx

from authserver.hashing import secret_hash
from authserver.storage.models import FederationLogin
from tests.federation.upstream import login_buttons
from tests.oidc import REDIRECT, Flow, hidden_fields, query_of


class OffsetClock:
    """Our server's clock, ``offset`` seconds from the upstream's (the real time): an
    upstream session made "before" a round trip, without waiting for it."""

    def __init__(self, offset: float = 0.0) -> None:
        self.offset = offset

    def now(self) -> float:
        return time.time() + self.offset


@dataclass
class Journey:
    """An RP's authorization request at our server, up to the upstream's URL."""

    flow: Flow
    login_url: str
    upstream_url: str
    started_at: float


def start_at_rp(client: Any, app: Any, provider_id: str, clock: Any, **extra: str) -> Journey:
    """The RP sends the browser to /authorize (``extra``: prompt, max_age); our login
    page; its "Continue with ..." button, with every hidden field the page gave it."""
    flow = Flow(client, app, scope="openid email profile")
    r = flow.start(**extra)
    assert r.status_code == 303 and r.headers["location"].startswith("/login"), r.text
    login_url = r.headers["location"]
    page = client.get(login_url)
    assert provider_id in login_buttons(page.text), page.text
    form = re.search(
        rf'<form method="post" action="/federation/{provider_id}/start">(.*?)</form>',
        page.text,
        re.S,
    )
    assert form is not None
    started_at = clock.now()
    r = client.post(
        f"/federation/{provider_id}/start",
        data=hidden_fields(form.group(1)),
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text
    return Journey(flow, login_url, r.headers["location"], started_at)


def round_trip_row(services: Any, upstream_url: str, state_param: str = "state") -> Any:
    """The ``federation_logins`` row of the round trip the URL carries the state of."""
    state = query_of(upstream_url)[state_param]
    with services.db.unit_of_work() as uow:
        row = uow.session.get(FederationLogin, secret_hash(state))
        return (row.fresh_auth, row.created_at) if row is not None else None


def finish_at_rp(client: Any, journey: Journey, callback: str) -> tuple[Any, dict | None]:
    """Back at our callback; on to /authorize, the code and the RP's tokens (None and
    the callback's answer when it refused)."""
    return continue_at_rp(client, journey, client.get(callback, follow_redirects=False))


def continue_at_rp(client: Any, journey: Journey, back: Any) -> tuple[Any, dict | None]:
    """From our callback's (or SAML ACS's) answer ``back`` to the RP's tokens."""
    if back.status_code != 303:
        return back, None
    r = client.get(back.headers["location"], follow_redirects=False)
    if r.status_code == 200:
        r = journey.flow.consent(r)
    assert r.status_code == 302 and r.headers["location"].startswith(REDIRECT), r.text
    tokens = journey.flow.exchange(query_of(r.headers["location"])["code"]).json()
    return back, tokens


def node_login(browser: httpx.Client, url: str, ours: str, login: str) -> tuple[str, list[str]]:
    """Follow node-oidc-provider's pages (devInteractions: any password for a known
    login) until it redirects to us; our callback path and the prompts it showed."""
    shown: list[str] = []
    r = browser.get(url, follow_redirects=False)
    for _ in range(12):
        if r.status_code in (302, 303):
            location = urljoin(str(r.url), r.headers["location"])
            if location.startswith(ours):
                return location.removeprefix(ours), shown
            r = browser.get(location, follow_redirects=False)
            continue
        assert r.status_code == 200, r.text
        action = htmllib.unescape(re.search(r'<form[^>]*action="([^"]+)"', r.text).group(1))
        prompt = re.search(r'name="prompt" value="([a-z]+)"', r.text).group(1)
        shown.append(prompt)
        data = {"prompt": prompt}
        if prompt == "login":
            data.update(login=login, password="any")
        r = browser.post(urljoin(str(r.url), action), data=data, follow_redirects=False)
    raise AssertionError(f"node-oidc-provider never sent the browser back: {r.text[:500]}")
