"""The hosted pages in Chromium against real server processes, with e-mail through a real
SMTP server and a real relying party: sign-up from an app -> verify by the e-mailed link ->
back in the app; forgot -> reset -> back in the app; consent in German; axe-core on every
page in its normal and error states at desktop and phone widths (no serious or critical
violation, no sideways scrolling); a branded instance differs from the default one only
where it was branded. One browser and one server for the whole module."""

from __future__ import annotations

import base64
import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from authserver.services import build_services, close_services
from authserver.settings import build_settings
from tests.axe import AXE, DESKTOP
from tests.axe import audit as _audit  # axe at 1280 and 390 px; fits 390 and 320 px
from tests.conftest import CHROMIUM, FAST_HASHING, IN_CI
from tests.factories import Factory
from tests.relying_party import RelyingParty, running_relying_party
from tests.servers import free_port, running_server
from tests.smtp_server import smtp_server

pytestmark = [pytest.mark.browser, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[2]
PASSWORD = "a long enough passphrase"
LINK = "/email/verify?token="


@pytest.fixture(scope="module")
def chromium_browser() -> Iterator[Any]:
    missing = [str(p) for p in (CHROMIUM, AXE) if not p.exists()]
    if missing:
        message = (
            f"missing {', '.join(missing)} (apt-get install chromium; npm ci --prefix tests/a11y)"
        )
        if IN_CI:
            pytest.fail(message, pytrace=False)
        pytest.skip(message)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=str(CHROMIUM),
            args=["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        try:
            yield browser
        finally:
            browser.close()


def _server_env(folder: Path, keys: Path, url: str, **extra: str) -> dict[str, str]:
    env = {
        "AUTHSERVER_DATABASE_URL": f"sqlite:///{folder / 'auth.db'}",
        "AUTHSERVER_KEYS_DIR": str(keys),
        "AUTHSERVER_ISSUER": url,
        "AUTHSERVER_CLIENT_CACHE_TTL": "0",
        **{f"AUTHSERVER_{k.upper()}": str(v) for k, v in FAST_HASHING.items()},
        **extra,
    }
    for key in [k for k in os.environ if k.startswith("AUTHSERVER_")]:
        env.setdefault(key, "")
    return env


class Stack:
    def __init__(self, url: str, inbox: Any, factory: Factory, rp: RelyingParty) -> None:
        self.url, self.inbox, self.factory, self.rp = url, inbox, factory, rp
        self.mails = 0

    def next_mail(self) -> Any:
        self.mails += 1
        try:
            return self.inbox.wait_for(self.mails)[-1]
        except AssertionError:
            subjects = [(m["To"], m["Subject"]) for m in self.inbox.messages]
            raise AssertionError(f"mail {self.mails} missing; got {subjects}") from None

    def open_reset_link(self, page: Any, message: Any) -> None:
        """Follow the reset link and press Continue (only that POST uses the token)."""
        page.goto(self.link_in(message, "/password/reset?token="))
        accept = page.locator("form[action='/password/reset/accept'] button")
        if accept.count():
            accept.click()
            page.wait_for_selector("#password")

    def link_in(self, message: Any, marker: str) -> str:
        html = message.get_body(("html",)).get_content()
        link = html.split('href="', 1)[1].split('"', 1)[0]
        assert marker in link, link
        return link


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory, key_template: Path) -> Iterator[Stack]:
    folder = tmp_path_factory.mktemp("hosted-pages")
    keys = folder / "keys"
    shutil.copytree(key_template, keys)
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    with smtp_server() as inbox:
        env = _server_env(
            folder,
            keys,
            url,
            AUTHSERVER_SMTP_HOST=inbox.host,
            AUTHSERVER_SMTP_PORT=str(inbox.port),
            AUTHSERVER_SMTP_SECURITY="none",
            AUTHSERVER_THROTTLE_ACCOUNT_FAILURES="3",
        )
        with running_server(env, folder, port=port):
            settings = build_settings(
                issuer=url,
                database_url=env["AUTHSERVER_DATABASE_URL"],
                keys_dir=keys,
                **FAST_HASHING,
            )
            services = build_services(settings)
            rp = RelyingParty(issuer=url, client_id="", client_secret="")
            try:
                with running_relying_party(rp):
                    factory = Factory(services)
                    app = factory.client(
                        name="Photo App",
                        grant_types=["authorization_code", "refresh_token"],
                        scope="openid email offline_access",
                        redirect_uris=[f"{rp.url}/cb"],
                        require_verified_email=True,
                    )
                    rp.client_id, rp.client_secret = app.client_id, app.client_secret
                    yield Stack(url, inbox, factory, rp)
            finally:
                close_services(services)


def _page(browser: Any, size: tuple[int, int] = DESKTOP) -> Any:
    # bypass_csp: only so that the test can inject axe-core; the pages' own CSP stays.
    context = browser.new_context(bypass_csp=True, viewport={"width": size[0], "height": size[1]})
    return context.new_page()


def test_sign_up_from_an_app_verify_by_mail_and_back_in_the_app(chromium_browser, stack):
    page = _page(chromium_browser)
    page.goto(f"{stack.rp.url}/login")
    page.wait_for_url(f"{stack.url}/login?**")
    assert "Photo App" in page.inner_text("main")
    page.click("text=Create an account")
    page.fill("#email", "nora@example.com")
    page.fill("#password", PASSWORD)
    page.fill("#password_confirm", PASSWORD)
    page.click("button[type=submit]")
    # The app needs a confirmed address: the page says so and which app waits.
    page.wait_for_url(f"{stack.url}/email/verify?next=**")
    assert "Photo App needs a confirmed e-mail address" in page.inner_text("main")
    link = stack.link_in(stack.next_mail(), LINK)
    page.goto(link)
    page.click("button[type=submit]")  # "Confirm": only the POST uses the link
    page.wait_for_selector("text=Allow Photo App access?")
    page.click("button[value=approve]")
    page.wait_for_url(f"{stack.rp.url}/cb?**")
    assert page.inner_text("#hello") == "Hello nora@example.com"
    assert stack.rp.results["claims"]["email_verified"] is True
    page.context.close()


def test_forgot_and_reset_from_an_app_end_back_in_it(chromium_browser, stack):
    user = stack.factory.user(email="omar@example.com")
    with stack.factory.services.db.unit_of_work() as uow:
        uow.users.get(user.id).email_verified = True
    page = _page(chromium_browser)
    page.goto(f"{stack.rp.url}/login")
    page.wait_for_url(f"{stack.url}/login?**")
    page.click("text=Forgot your password?")
    page.fill("#email", user.email)
    page.click("button[type=submit]")
    assert "If an account exists for omar@example.com" in page.inner_text("main")
    stack.open_reset_link(page, stack.next_mail())
    page.fill("#password", "my brand new passphrase")
    page.fill("#password_confirm", "my brand new passphrase")
    page.click("button[type=submit]")
    page.wait_for_selector("text=Allow Photo App access?")
    page.click("button[value=approve]")
    page.wait_for_url(f"{stack.rp.url}/cb?**")
    assert page.inner_text("#hello") == "Hello omar@example.com"
    stack.next_mail()  # "your password was changed"
    page.context.close()


def test_consent_in_german_by_ui_locales(chromium_browser, stack):
    user = stack.factory.user(email="paula@example.com")
    with stack.factory.services.db.unit_of_work() as uow:
        uow.users.get(user.id).email_verified = True
    page = _page(chromium_browser)
    page.goto(f"{stack.rp.url}/login?ui_locales=de")
    page.wait_for_url(f"{stack.url}/login?**")
    assert page.get_attribute("html", "lang") == "de"
    page.fill("#email", user.email)
    page.fill("#password", user.password)
    page.click("button[type=submit]")
    page.wait_for_selector("text=Photo App Zugriff erlauben?")
    assert page.get_attribute("html", "lang") == "de"
    assert "Ihre E-Mail-Adresse" in page.inner_text("main")
    page.click("button[value=approve]")
    page.wait_for_url(f"{stack.rp.url}/cb?**")
    page.context.close()


# --- axe-core on every page -----------------------------------------------------------


def _fill_and_submit(page: Any, **fields: str) -> None:
    """Fill the fields (by id) and press the submit button of their form."""
    for name, value in fields.items():
        page.fill(f"#{name}", value)
    form = page.locator(f"#{next(iter(fields))}").locator("xpath=ancestor::form")
    form.locator("button[type=submit]").click()


def test_every_hosted_page_passes_axe_and_fits_a_phone(chromium_browser, stack):
    url, problems = stack.url, []
    user = stack.factory.user(email="quincy@example.com")
    page = _page(chromium_browser)

    def visit(path: str, state: str) -> None:
        page.goto(url + path)
        _audit(page, state, problems)

    visit("/", "landing")
    visit("/login", "login")
    _fill_and_submit(page, email=user.email, password="wrong password")
    _audit(page, "login: wrong password", problems)
    visit("/register", "register")
    _fill_and_submit(page, email="not an address", password="short", password_confirm="x")
    _audit(page, "register: errors", problems)
    visit("/password/forgot", "forgot")
    _fill_and_submit(page, email="")
    _audit(page, "forgot: empty", problems)
    _fill_and_submit(page, email=user.email)
    _audit(page, "forgot: sent", problems)
    stack.open_reset_link(page, stack.next_mail())
    _audit(page, "reset", problems)
    _fill_and_submit(page, password="one long passphrase", password_confirm="another one")
    _audit(page, "reset: passwords differ", problems)
    page.context.clear_cookies()
    visit("/password/reset", "reset: invalid link")
    visit("/authorize?response_type=code&client_id=nobody", "authorize: error page")
    visit("/password/nowhere", "404")

    # Signed in, e-mail not yet verified: the app's request waits on the verify page.
    page.goto(f"{stack.rp.url}/login")
    _audit(page, "login: from an app", problems)
    _fill_and_submit(page, email=user.email, password=user.password)
    page.wait_for_url(f"{url}/email/verify?**")
    _audit(page, "verify: pending, for an app", problems)
    page.click('form[action="/email/verify/resend"] button')
    _audit(page, "verify: sent again", problems)
    page.goto(stack.link_in(stack.next_mail(), LINK))
    _audit(page, "verify: confirm", problems)
    page.click("main button[type=submit]")
    page.wait_for_selector("text=Allow Photo App access?")
    _audit(page, "consent", problems)
    page.click("button[value=approve]")
    page.wait_for_url(f"{stack.rp.url}/cb?**")
    visit("/account", "account")
    _fill_and_submit(page, current_password="wrong", new_password="x", new_password_confirm="y")
    _audit(page, "account: password errors", problems)
    visit("/email/verify", "verify: confirmed")
    page.goto(stack.link_in(stack.inbox.wait_for(stack.mails)[-1], LINK))
    _audit(page, "verify: link used", problems)
    visit("/account/delete", "delete: confirm")
    page.click("main button[type=submit]")
    _audit(page, "delete: not ticked", problems)
    visit("/logout", "logout: confirm")
    page.click("main button[type=submit]")
    _audit(page, "logged out", problems)

    for _ in range(3):
        visit("/login", "login")
        _fill_and_submit(page, email="thrown@example.com", password="wrong")
    _fill_and_submit(page, email="thrown@example.com", password="wrong")
    assert "Too many attempts" in page.inner_text("main")
    _audit(page, "throttled", problems)
    page.context.close()
    assert problems == []


# --- branding ---------------------------------------------------------------------------

BRANDED_PARTS = (
    "header.brand",
    "main h1",
    "main form[action='/login'] button[type=submit]",
    "main p.links",
)
# Hidden in both shots but not compared: the passkey button appears once webauthn.js has
# run, which may or may not have happened when the screenshot is taken.
UNCOMPARED_PARTS = ("main form[data-webauthn]",)
LOGO = (
    '<svg xmlns="http://www.w3.org/2000/svg" width="160" height="48" viewBox="0 0 160 48">'
    '<rect width="160" height="48" rx="8" fill="#0a7d33"/></svg>'
)


@pytest.fixture(scope="module")
def branded_url(tmp_path_factory: pytest.TempPathFactory, key_template: Path) -> Iterator[str]:
    folder = tmp_path_factory.mktemp("branded")
    keys = folder / "keys"
    shutil.copytree(key_template, keys)
    operator = folder / "operator"
    (operator / "static").mkdir(parents=True)
    (operator / "pages").mkdir()
    (operator / "static" / "logo.svg").write_text(LOGO)
    shipped = (ROOT / "authserver" / "templates" / "pages" / "login.html").read_text()
    override = shipped.replace('<h1>{{ _("Sign in") }}</h1>', "<h1>Sign in to Example Corp</h1>")
    assert override != shipped
    (operator / "pages" / "login.html").write_text(override)
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = _server_env(
        folder,
        keys,
        url,
        AUTHSERVER_TEMPLATES_DIR=str(operator),
        AUTHSERVER_BRAND_NAME="Example Corp",
        AUTHSERVER_BRAND_LOGO_URL="/static/logo.svg",
        AUTHSERVER_BRAND_PRIMARY_COLOR="#0a7d33",
    )
    with running_server(env, folder, port=port):
        yield url


def _shot(browser: Any, url: str, hide: bool) -> tuple[bytes, dict[str, bytes]]:
    page = _page(browser, (800, 900))
    page.goto(f"{url}/login")
    page.evaluate("() => document.activeElement && document.activeElement.blur()")
    parts = {part: page.locator(part).screenshot() for part in BRANDED_PARTS}
    if hide:
        hidden = ", ".join(BRANDED_PARTS + UNCOMPARED_PARTS)
        page.add_style_tag(content=hidden + " { visibility: hidden !important; }")
    whole = page.screenshot(full_page=True)
    page.context.close()
    return whole, parts


def test_a_branded_instance_differs_only_where_it_was_branded(chromium_browser, stack, branded_url):
    default_rest, default_parts = _shot(chromium_browser, stack.url, hide=True)
    branded_rest, branded_parts = _shot(chromium_browser, branded_url, hide=True)
    # Logo, overridden heading, primary colour: each of those parts looks different...
    for part in BRANDED_PARTS:
        changed = _differing_pixels(chromium_browser, default_parts[part], branded_parts[part])
        assert changed != 0, part  # -1: not even the same size
    # ...and everything else on the page is the same, up to anti-aliasing noise.
    assert _differing_pixels(chromium_browser, default_rest, branded_rest) == 0


def _differing_pixels(browser: Any, first: bytes, second: bytes, tolerance: int = 16) -> int:
    """Pixels whose colour differs by more than ``tolerance`` in a channel (decoded and
    compared by the browser itself: no image library needed)."""
    page = browser.new_page()
    try:
        return int(
            page.evaluate(
                """async ([a, b, limit]) => {
                    const load = async (data) => createImageBitmap(
                        await (await fetch('data:image/png;base64,' + data)).blob());
                    const [x, y] = [await load(a), await load(b)];
                    if (x.width !== y.width || x.height !== y.height) return -1;
                    const pixels = (img) => {
                        const c = new OffscreenCanvas(img.width, img.height);
                        const g = c.getContext('2d'); g.drawImage(img, 0, 0);
                        return g.getImageData(0, 0, img.width, img.height).data;
                    };
                    const [p, q] = [pixels(x), pixels(y)];
                    let n = 0;
                    for (let i = 0; i < p.length; i += 4) {
                        const far = [0, 1, 2].some((c) => Math.abs(p[i + c] - q[i + c]) > limit);
                        if (far) n++;
                    }
                    return n;
                }""",
                [base64.b64encode(first).decode(), base64.b64encode(second).decode(), tolerance],
            )
        )
    finally:
        page.close()
