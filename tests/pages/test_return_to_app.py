"""Sign-up, forgotten password and reset started from an app's authorization request end
back in the app, through the pending request kept on the server; any other return path
is ignored (no open redirect)."""

from __future__ import annotations

import re
from urllib.parse import quote, urlsplit

from authserver.storage.models import EmailVerificationToken, PasswordResetToken
from tests.accounts_helpers import outbox, reset_link, submit
from tests.oidc import REDIRECT, Flow, hidden_fields, query_of

NEW = "a brand new passphrase"
ELSEWHERE = (
    "https://evil.example/cb",
    "//evil.example/cb",
    "/\\evil.example",
    "/authorize?client_id=nobody&redirect_uri=https%3A%2F%2Fevil.example%2Fcb",
    "/account",
)


def _web_client(factory, **spec):
    return factory.client(
        grant_types=["authorization_code"],
        scope="openid email",
        redirect_uris=[REDIRECT],
        first_party=True,
        name="Photo App",
        **spec,
    )


def _link_on_login_page(http, flow, text):
    login_page = http.get(flow.start().headers["location"])
    href = re.search(rf'href="([^"]+)">{text}</a>', login_page.text).group(1)
    return href.replace("&amp;", "&")


def _reset_through(http, link):
    """Open the e-mailed reset link as a browser does and set the new password."""
    parts = urlsplit(link)
    offer = http.get(f"{parts.path}?{parts.query}", follow_redirects=True)
    accepted = http.post("/password/reset/accept", data=hidden_fields(offer.text))
    form = accepted if 'name="password"' in accepted.text else http.get("/password/reset")
    fields = {**hidden_fields(form.text), "password": NEW, "password_confirm": NEW}
    return http.post("/password/reset", data=fields, follow_redirects=False)


def test_forgot_and_reset_from_an_app_end_back_in_the_app_signed_in(client, factory, settings):
    app = _web_client(factory)
    user = factory.user(email="tess@example.com")
    flow = Flow(client, app)
    forgot = client.get(_link_on_login_page(client, flow, "Forgot your password\\?"))
    fields = {**hidden_fields(forgot.text), "email": user.email}
    assert fields["next"].startswith("/authorize?")
    assert client.post("/password/forgot", data=fields).status_code == 200
    # The e-mail carries only the token: the request waits on the server.
    link = reset_link(outbox(settings)[0])
    assert "authorize" not in link and "next" not in link
    done = _reset_through(client, link)
    assert done.status_code == 303 and done.headers["location"].startswith("/authorize?")
    to_app = client.get(done.headers["location"], follow_redirects=False)
    assert to_app.status_code == 302 and to_app.headers["location"].startswith(REDIRECT)
    assert query_of(to_app.headers["location"])["state"] == "st-123"


def test_other_return_paths_are_ignored_and_nothing_is_stored(client, factory, settings, services):
    _web_client(factory)
    user = factory.user(email="uma@example.com")
    for n, target in enumerate(ELSEWHERE):
        page = client.get("/password/forgot?next=" + quote(target))
        assert "evil.example" not in hidden_fields(page.text).get("next", "")
        submit(client, "/password/forgot", email=user.email, next=target)
        with services.db.unit_of_work() as uow:
            stored = uow.session.query(PasswordResetToken).all()
            assert [t.return_path for t in stored] == [None] * (n + 1), target
    done = _reset_through(client, reset_link(outbox(settings)[-1]))
    assert done.headers["location"] == "/login?notice=password_reset"

    for n, target in enumerate(ELSEWHERE):
        r = submit(
            client,
            "/register",
            email=f"v{n}@example.com",
            password=NEW,
            password_confirm=NEW,
            next=target,
        )
        assert r.status_code == 303 and r.headers["location"] == "/email/verify", target
    with services.db.unit_of_work() as uow:
        rows = uow.session.query(EmailVerificationToken).all()
        assert len(rows) == len(ELSEWHERE) and {t.return_path for t in rows} == {None}


def test_sign_up_page_carries_the_request_and_the_sign_in_link_keeps_it(client, factory):
    app = _web_client(factory)
    flow = Flow(client, app)
    register = client.get(_link_on_login_page(client, flow, "Create an account"))
    pending = hidden_fields(register.text)["next"]
    assert pending.startswith("/authorize?") and f"client_id={app.client_id}" in pending
    assert "to continue to <strong>Photo App</strong>" in register.text
    assert 'href="/login?next=/authorize%3F' in register.text
