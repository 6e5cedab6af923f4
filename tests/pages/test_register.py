"""Sign-up over HTTP: the /register page (CSRF form) and its JSON form."""

from __future__ import annotations

from authserver.audit import AuditEvent
from tests.accounts_helpers import browser, login, outbox, submit

GOOD = "a rather long passphrase"


def _register(http, **fields):
    fields.setdefault("password_confirm", fields.get("password", ""))
    return submit(http, "/register", **fields)


def test_page_creates_an_account_signs_in_and_asks_for_the_link(client, services, settings):
    r = _register(client, email="Carol@Example.COM", name="Carol", password=GOOD)
    assert r.status_code == 303
    assert r.headers["location"] == "/email/verify"
    page = client.get(r.headers["location"])
    assert "Open the link we sent to <strong>Carol@example.com</strong>" in page.text
    assert [m["To"] for m in outbox(settings)] == ["Carol@example.com"]
    assert client.get("/account").status_code == 200  # signed in
    assert login(client, "carol@example.com", GOOD).status_code == 303
    with services.db.unit_of_work() as uow:
        user = uow.users.find_by_email("CAROL@example.com")
        assert user.email == "Carol@example.com" and user.name == "Carol"
        assert user.password_hash.startswith("$argon2id$")
        assert not user.email_verified
        events = [e.event for e in uow.audit.query(user_id=user.id)]
    assert str(AuditEvent.REGISTERED) in events


def test_same_address_in_another_case_is_a_duplicate(client, factory, services):
    factory.user(email="dave@example.com")
    r = _register(client, email="DAVE@EXAMPLE.com", password=GOOD)
    assert r.status_code == 409
    assert "An account with that e-mail address already exists." in r.text
    assert GOOD not in r.text
    with services.db.unit_of_work() as uow:
        assert uow.users.count() == 1


def test_policy_and_syntax_problems_are_shown_and_nothing_is_stored(client, services):
    cases = [
        ({"email": "not-an-address", "password": GOOD}, "not a valid e-mail address"),
        ({"email": "e@example.com", "password": "short"}, "at least 8 characters"),
        ({"email": "e@example.com", "password": "baseball1"}, "too common"),
        ({"email": "e@example.com", "password": "x" * 257}, "at most 256"),
        ({"email": "longpass@example.com", "password": "LongPass@Example.com"}, "e-mail address"),
        ({"email": "e@example.com", "password": GOOD, "password_confirm": "other"}, "differ"),
        ({"email": ("a" * 320) + "@example.com", "password": GOOD}, "too long"),
        ({"email": "e@example.com", "password": GOOD, "name": "n" * 201}, "at most 200"),
        ({"email": "e@example.com", "password": GOOD, "name": "bad\u202ename"}, "cannot be shown"),
        # Refused where the form is parsed, for every field alike.
        ({"email": "e@example.com", "password": GOOD, "name": "bad\x00name"}, "control characters"),
    ]
    for fields, message in cases:
        r = _register(client, **fields)
        assert r.status_code == 400, fields
        assert message in r.text, (fields, r.text)
        assert fields["password"] not in r.text or fields["password"] in fields["email"]
    with services.db.unit_of_work() as uow:
        assert uow.users.count() == 0


def test_html_in_a_name_is_stored_as_text_and_escaped(client, services):
    name = '<script>alert("x")</script>'
    assert _register(client, email="h@example.com", name=name, password=GOOD).status_code == 303
    with services.db.unit_of_work() as uow:
        assert uow.users.find_by_email("h@example.com").name == name
    login(client, "h@example.com", GOOD)
    page = client.get("/account").text
    assert "<script>alert" not in page
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;" in page
    # Kept (escaped) when the form is shown again with an error.
    again = _register(client, email="h2@example.com", name=name, password="short")
    assert "<script>" not in again.text and "&lt;script&gt;" in again.text


def test_post_without_csrf_token_changes_nothing(client, services):
    client.get("/register")
    r = client.post("/register", data={"email": "x@example.com", "password": GOOD})
    assert r.status_code == 403
    assert "did not come from this site" in r.text
    with services.db.unit_of_work() as uow:
        assert uow.users.count() == 0


def test_non_utf8_body_is_refused_with_a_page(client, services):
    client.get("/register")
    r = client.post(
        "/register",
        content=b"email=%FF%FE&password=x",
        headers={"content-type": "application/x-www-form-urlencoded"},
    )
    assert r.status_code == 400
    assert "text/html" in r.headers["content-type"]


def test_json_sign_up(client, services):
    r = client.post("/register", json={"email": "Json@Example.com", "password": GOOD, "name": "J"})
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["email"] == "Json@example.com" and body["name"] == "J" and body["id"]
    assert r.headers["cache-control"] == "no-store"
    dup = client.post("/register", json={"email": "json@EXAMPLE.com", "password": GOOD})
    assert dup.status_code == 409
    assert dup.json()["error"] == "already_registered"
    weak = client.post("/register", json={"email": "w@example.com", "password": "password"})
    assert weak.status_code == 400
    assert weak.json() == {
        "error": "invalid_request",
        "error_description": "That password is too common; choose another.",
    }


def test_json_bad_input_gets_standard_errors(client, services):
    cases = [
        b"\xff\xfe",
        b"[1, 2]",
        b'{"email": 5, "password": "x"}',
        b'{"email": "a@example.com"}',
        b"{not json",
        b'{"email": "a@example.com", "password": "\\ud800aaaaaaaaaa"}',
    ]
    for body in cases:
        r = client.post("/register", content=body, headers={"content-type": "application/json"})
        assert r.status_code == 400, body
        assert r.json()["error"] == "invalid_request"
    big = b'{"email": "a@example.com", "password": "' + b"x" * 70_000 + b'"}'
    r = client.post("/register", content=big, headers={"content-type": "application/json"})
    assert r.status_code == 413
    with services.db.unit_of_work() as uow:
        assert uow.users.count() == 0


def test_switched_off(make_settings):
    settings = make_settings(registration_enabled=False)
    with browser(settings) as http:
        assert http.get("/register").status_code == 404
        assert "Create an account" not in http.get("/login").text
        r = http.post("/register", json={"email": "x@example.com", "password": GOOD})
        assert r.status_code == 403 and r.json()["error"] == "registration_disabled"
        token_page = http.get("/login").text
        assert "/register" not in token_page


def test_sign_ups_are_throttled_per_client_ip(make_settings):
    settings = make_settings(throttle_ip_hourly_requests=3)
    with browser(settings, ip="203.0.113.9") as http:
        for i in range(3):
            r = http.post("/register", json={"email": f"u{i}@example.com", "password": GOOD})
            assert r.status_code == 201
        r = http.post("/register", json={"email": "u9@example.com", "password": GOOD})
        assert r.status_code == 429 and int(r.headers["retry-after"]) >= 1
        page = _register(http, email="u10@example.com", password=GOOD)
        assert page.status_code == 429 and "Too many attempts" in page.text
    with browser(settings, ip="203.0.113.10") as other:
        r = other.post("/register", json={"email": "u11@example.com", "password": GOOD})
        assert r.status_code == 201


def test_distinct_mailboxes_are_distinct_accounts(client, services):
    """The key lower-cases the local part and takes the domain's IDNA form: it does not
    case-fold, which maps ß to ss and would make x@straße.de and x@strasse.de (two
    domains, two owners) one account."""
    assert _register(client, email="X@straße.de", password=GOOD).status_code == 303
    assert _register(client, email="x@strasse.de", password=GOOD + "!").status_code == 303
    assert _register(client, email="x@STRASSE.de", password=GOOD).status_code == 409
    assert _register(client, email="x@xn--strae-oqa.de", password=GOOD).status_code == 409
    assert login(client, "X@STRASSE.DE", GOOD + "!").status_code == 303
    assert login(client, "x@strasse.de", GOOD).status_code == 401
    assert login(client, "x@STRAßE.de", GOOD).status_code == 303
    with services.db.unit_of_work() as uow:
        keys = sorted(u.email_key for u in uow.users.list())
    assert keys == ["x@strasse.de", "x@xn--strae-oqa.de"]
