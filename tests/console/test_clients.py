"""Clients in the console: search and paging, register with the secret shown once,
edit (a concurrent edit is told, not lost), rotate, delete after a confirmation; HTML in
every field comes back escaped; over-long input is refused with nothing changed."""

from __future__ import annotations

import html
import re

import pytest

from tests.console.helpers import csrf, post, sign_in

REDIRECT = "https://app.example.com/cb"


@pytest.fixture
def admin_http(client, factory, services):
    admin = factory.user(role="admin")
    sign_in(client, services, admin.id)
    return client


def _secret(page):
    return html.unescape(re.search(r'id="client-secret">([^<]+)<', page).group(1))


def _token(http, client_id, secret):
    return http.post(
        "/token", data={"grant_type": "client_credentials"}, auth=(client_id, secret)
    ).status_code


def _form(**fields):
    return {"name": "Billing", "scope": "api:read", "grant_client_credentials": "on", **fields}


def test_register_shows_the_secret_once_and_it_works(admin_http, services):
    r = post(
        admin_http,
        "/console/clients/new",
        "/console/clients/new",
        **_form(client_id="billing-1", auth_method="client_secret_basic"),
    )
    assert r.status_code == 201, r.text
    secret = _secret(r.text)
    assert _token(admin_http, "billing-1", secret) == 200
    detail = admin_http.get("/console/client?id=billing-1").text
    assert secret not in detail and "client.created" in detail
    with services.db.unit_of_work() as uow:
        assert uow.clients.get("billing-1").secret_hash != secret


def test_html_in_fields_comes_back_escaped(admin_http):
    name = '<img src=x onerror="alert(1)">'
    r = post(
        admin_http,
        "/console/clients/new",
        "/console/clients/new",
        **_form(name=name, client_id="esc<1>"),
    )
    assert r.status_code == 201
    for page in (
        r.text,
        admin_http.get("/console/clients?q=esc").text,
        admin_http.get("/console/client?id=esc%3C1%3E").text,
    ):
        assert name not in page and "<1>" not in page
        assert html.escape(name, quote=False).split(" ")[0] in page


def test_bad_and_over_long_input_is_refused_with_the_form_kept(admin_http, services):
    for fields, said in [
        (_form(name="x" * 201), "name"),
        (
            _form(
                grant_client_credentials=None,
                grant_authorization_code="on",
                redirect_uris="http://evil.example.com/cb",
            ),
            "must use https",
        ),
        (_form(scope="a" * 2001), "scope"),
        (_form(logo_uri="javascript:alert(1)"), "logo_uri"),
    ]:
        data = {k: v for k, v in fields.items() if v is not None}
        r = post(admin_http, "/console/clients/new", "/console/clients/new", **data)
        assert r.status_code == 400 and said in html.unescape(r.text), r.text
        assert 'name="name"' in r.text  # the form again, filled in
    with services.db.unit_of_work() as uow:
        assert uow.clients.count() == 0


def test_edit_and_a_concurrent_edit_is_told_not_lost(admin_http, factory, services):
    app = factory.client(
        grant_types=["authorization_code"], redirect_uris=[REDIRECT], scope="openid"
    )
    page = f"/console/client?id={app.client_id}"
    first = admin_http.get(page).text
    second = admin_http.get(page).text  # another tab, same version
    fields = {
        k: v
        for k, v in re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', first)
        if k != "csrf_token"
    }
    common = {
        "grant_authorization_code": "on",
        "scope": "openid email",
        "redirect_uris": f"{REDIRECT}\nhttps://app.example.com/cb2",
    }
    r = admin_http.post(
        "/console/client/update",
        data={**fields, **common, "name": "Renamed", "csrf_token": csrf(first)},
        follow_redirects=False,
    )
    assert r.status_code == 303 and "notice=saved" in r.headers["location"]
    r = admin_http.post(
        "/console/client/update",
        data={**fields, **common, "name": "Lost", "csrf_token": csrf(second)},
        follow_redirects=False,
    )
    assert r.status_code == 409 and "someone else changed this client" in r.text
    assert 'value="Lost"' in r.text  # their input is still on the page
    with services.db.unit_of_work() as uow:
        c = uow.clients.get(app.client_id)
        assert c.name == "Renamed" and c.scope == "openid email"
        assert c.redirect_uris == [REDIRECT, "https://app.example.com/cb2"]


def test_rotate_the_secret(admin_http, factory):
    app = factory.client()
    assert _token(admin_http, app.client_id, app.client_secret) == 200
    r = post(
        admin_http,
        f"/console/client?id={app.client_id}",
        "/console/client/rotate",
        client_id=app.client_id,
    )
    assert r.status_code == 200 and "Secret rotated" in r.text
    assert _token(admin_http, app.client_id, app.client_secret) == 401
    assert _token(admin_http, app.client_id, _secret(r.text)) == 200


def test_delete_asks_first(admin_http, factory, services):
    app = factory.client(name="Doomed")
    confirm = admin_http.get(f"/console/client?id={app.client_id}").text
    assert f"/console/client/delete?id={app.client_id}" in confirm
    page = admin_http.get(f"/console/client/delete?id={app.client_id}")
    assert "Doomed" in page.text and "cannot be undone" in page.text
    with services.db.unit_of_work() as uow:
        assert uow.clients.get(app.client_id) is not None
    r = admin_http.post(
        "/console/client/delete",
        data={"client_id": app.client_id, "csrf_token": csrf(page.text)},
        follow_redirects=False,
    )
    assert r.status_code == 303
    assert "was deleted" in admin_http.get(r.headers["location"]).text
    assert admin_http.get(f"/console/client?id={app.client_id}").status_code == 404


def test_search_and_pages(admin_http, factory):
    for i in range(55):
        factory.client(name=f"app {i:02d}")
    factory.client(name="100%_literal")
    first = admin_http.get("/console/clients").text
    assert "56 clients" in first and "Page 1 of 2" in first and "page=2" in first
    assert "Page 2 of 2" in admin_http.get("/console/clients?page=2").text
    found = admin_http.get("/console/clients?q=APP+0").text
    assert "10 clients" in found and "app 07" in found and "app 17" not in found
    # LIKE wildcards are taken literally.
    assert "1 client<" in admin_http.get("/console/clients?q=%25_").text
    assert "0 clients" in admin_http.get("/console/clients?q=zz%25").text


def test_mfa_verified_email_and_introspection_flags_are_edited(admin_http, services):
    flags = ("require_mfa", "require_verified_email", "allow_introspection")
    r = post(
        admin_http,
        "/console/clients/new",
        "/console/clients/new",
        **_form(client_id="flags-1", **dict.fromkeys(flags, "on")),
    )
    assert r.status_code == 201, r.text
    with services.db.unit_of_work() as uow:
        c = uow.clients.get("flags-1")
        assert (c.require_mfa, c.require_verified_email, c.allow_introspection) == (1, 1, 1)
    page = admin_http.get("/console/client?id=flags-1").text
    for flag in flags:
        assert re.search(rf'id="{flag}" name="{flag}" checked', page), flag
    fields = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', page))
    r = admin_http.post(
        "/console/client/update",
        data={**fields, **_form(require_verified_email="on"), "csrf_token": csrf(page)},
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text
    with services.db.unit_of_work() as uow:
        c = uow.clients.get("flags-1")
        assert (c.require_mfa, c.require_verified_email, c.allow_introspection) == (0, 1, 0)
    page = admin_http.get("/console/client?id=flags-1").text
    assert 'name="require_mfa">' in page and 'name="require_verified_email" checked' in page


def test_an_empty_client_id_field_gets_a_random_id(admin_http, services):
    # A browser sends the optional field empty: that is the field left out (RFC 6749 §3.1).
    r = post(admin_http, "/console/clients/new", "/console/clients/new", **_form(client_id=""))
    assert r.status_code == 201, r.text
    with services.db.unit_of_work() as uow:
        assert uow.clients.count() == 1
