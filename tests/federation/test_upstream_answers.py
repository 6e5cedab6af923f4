"""What an upstream sends, checked without the network: ID tokens (OIDC Core §3.1.3.7)
signed with keys generated here, the Microsoft and Google rules on recorded-shape
claims, GitHub's user API shapes, discovery documents, and claim cleaning."""

from __future__ import annotations

import time

import pytest
from joserfc import jwt
from joserfc.jwk import KeySet, OctKey, RSAKey

from authserver.federation import github, kinds, upstream
from authserver.federation.config import ProviderSettings
from authserver.federation.http import UpstreamUnavailable
from authserver.federation.id_token import IdTokenRejected, verify
from authserver.federation.metadata import OidcMetadata, UpstreamCache, parse_metadata
from authserver.federation.profile import from_claims

ISS = "https://idp.example"
KEY = RSAKey.generate_key(2048, parameters={"kid": "k1"})
OTHER = RSAKey.generate_key(2048, parameters={"kid": "k1"})
KEYS = KeySet([RSAKey.import_key(KEY.as_dict(private=False))])
NOW = time.time()
TENANT = "9188040d-6c67-4c5b-b112-36a304b66dad"


def token(key=KEY, header=None, **claims):
    body = {
        "iss": ISS,
        "sub": "248289761001",
        "aud": "our-client",
        "exp": int(NOW) + 300,
        "iat": int(NOW),
        "nonce": "n-0S6_WzA2Mj",
        **claims,
    }
    body = {k: v for k, v in body.items() if v is not None}
    header = header or {"alg": "RS256", "kid": "k1"}
    return jwt.encode(header, body, key, algorithms=[header["alg"]])


def check(value, *, iss_check=None, algs=("RS256",)):
    return verify(
        value,
        keys=lambda kid: KEYS,
        algorithms=algs,
        check_issuer=iss_check or (lambda iss, _c: iss == ISS),
        client_id="our-client",
        nonce="n-0S6_WzA2Mj",
        now=NOW,
    )


def test_a_valid_id_token_passes():
    assert check(token())["sub"] == "248289761001"
    assert check(token(aud=["our-client", "other"], azp="our-client"))["azp"] == "our-client"


@pytest.mark.parametrize(
    ("made", "reason"),
    [
        (lambda: token(iss="https://evil.example"), "id_token_iss"),
        (lambda: token(aud="another-client"), "id_token_aud"),
        (lambda: token(aud=["our-client", "other"]), "id_token_azp"),
        (lambda: token(azp="other"), "id_token_azp"),
        (lambda: token(exp=int(NOW) - 120), "id_token_expired"),
        (lambda: token(exp=None), "id_token_expired"),
        (lambda: token(iat=int(NOW) + 600), "id_token_iat"),
        (lambda: token(iat=int(NOW) - 7200), "id_token_iat"),
        (lambda: token(nonce="replayed"), "id_token_nonce"),
        (lambda: token(nonce=None), "id_token_nonce"),
        (lambda: token(key=OTHER), "id_token_signature"),
        (lambda: token(header={"alg": "RS256", "kid": "unknown"}), "id_token_unknown_key"),
        (lambda: token(header={"alg": "PS256", "kid": "k1"}), "id_token_alg"),
        (
            lambda: token(key=OctKey.import_key("s" * 32), header={"alg": "HS256", "kid": "k1"}),
            "id_token_alg",
        ),
        (lambda: token().rsplit(".", 1)[0] + ".", "id_token_signature"),
        (lambda: "not.a.jwt", "id_token_malformed"),
        (lambda: None, "id_token_missing"),
    ],
)
def test_bad_id_tokens_are_refused(made, reason):
    with pytest.raises(IdTokenRejected) as caught:
        check(made())
    assert caught.value.reason == reason


def test_alg_none_is_refused_even_if_discovery_lists_it():
    import base64
    import json

    def b64(d):
        return base64.urlsafe_b64encode(json.dumps(d).encode()).rstrip(b"=").decode()

    unsigned = f"{b64({'alg': 'none'})}.{b64({'iss': ISS, 'sub': 'x'})}."
    with pytest.raises(IdTokenRejected, match="id_token_alg"):
        check(unsigned, algs=("none", "RS256"))


def _microsoft(tenant, allowed):
    settings = ProviderSettings(client_id="our-client", tenant=tenant, allowed_tenants=allowed)
    up = upstream.Upstream(
        "entra", "microsoft", settings, "groups", "x", "cb", False, 1.0, UpstreamCache()
    )
    meta = OidcMetadata(ISS, "https://a", "https://t", "https://k", None, ("RS256",))
    return upstream._issuer_check(up, meta)


def test_microsoft_multi_tenant_iss_must_name_an_allowed_tid():
    iss_check = _microsoft("organizations", [TENANT])
    ok = kinds.microsoft_issuer(TENANT)
    assert check(token(iss=ok, tid=TENANT), iss_check=iss_check)
    other = "72f988bf-86f1-41af-91ab-2d7cd011db47"
    for claims in (
        {"iss": kinds.microsoft_issuer(other), "tid": other},  # a tenant not allowed
        {"iss": kinds.microsoft_issuer(other), "tid": TENANT},  # iss and tid disagree
        {"iss": "https://login.microsoftonline.com/{tenantid}/v2.0", "tid": TENANT},
        {"iss": ok},  # no tid
    ):
        with pytest.raises(IdTokenRejected, match="id_token_iss"):
            check(token(**claims), iss_check=iss_check)
    single = _microsoft(TENANT, [])
    assert check(token(iss=ok, tid=TENANT), iss_check=single)


def test_microsoft_email_is_verified_only_with_xms_edov():
    claims = {"sub": "s", "email": "a@contoso.example", "email_verified": True}
    assert (
        from_claims(claims, groups_claim="groups", verified_claim="xms_edov").email_verified
        is False
    )
    claims["xms_edov"] = True
    assert from_claims(claims, groups_claim="groups", verified_claim="xms_edov").email_verified


def test_groups_overage_and_missing_groups_grant_nothing():
    overage = {
        "sub": "s",
        "groups": ["g1"],
        "_claim_names": {"groups": "src1"},
        "_claim_sources": {"src1": {"endpoint": "https://graph.microsoft.com/..."}},
    }
    assert from_claims(overage, groups_claim="groups").groups is None
    assert from_claims({"sub": "s"}, groups_claim="groups").groups is None
    assert from_claims({"sub": "s", "groups": ["a", 3]}, groups_claim="groups").groups is None
    assert from_claims({"sub": "s", "groups": "eng"}, groups_claim="groups").groups == ("eng",)


def test_claims_are_cleaned():
    profile = from_claims(
        {
            "sub": "s",
            "email": "<b>x</b>@example.com",
            "email_verified": "true",
            "name": "Mallory\u202eadmin",
            "html": "<script>alert(1)</script>",
            "nul": "a\x00b",
            "surrogate": "\ud800",
            "long": "x" * 5000,
        },
        groups_claim="groups",
    )
    assert profile.email is None and profile.email_verified is False  # "true" is not true
    assert profile.name is None
    assert profile.claims["html"] == "<script>alert(1)</script>"  # stored as text, escaped
    assert profile.claims["nul"] is None and profile.claims["surrogate"] is None
    assert len(profile.claims["long"]) == 200
    assert from_claims({"sub": "x" * 300}, groups_claim="groups") is None
    assert from_claims({"sub": 12}, groups_claim="groups").subject == "12"


def test_github_subject_is_the_numeric_id_and_email_primary_and_verified():
    user = {"id": 583231, "login": "octocat", "name": "The Octocat", "email": "pub@example.com"}
    emails = [
        {"email": "old@example.com", "primary": False, "verified": True, "visibility": None},
        {"email": "octo@example.com", "primary": True, "verified": True, "visibility": "public"},
    ]
    found = github.identity(user, emails)
    assert found.subject == "583231" and found.email == "octo@example.com"
    assert found.email_verified and found.name == "The Octocat"
    emails[1]["verified"] = False
    unverified = github.identity(user, emails)
    assert unverified.email is None and unverified.email_verified is False  # no fallback
    assert github.identity({**user, "id": "583231"}, emails) is None
    assert github.identity({"login": "octocat"}, emails) is None
    assert github.identity(user, {"message": "Requires authentication"}).email is None


def test_discovery_document_rules():
    doc = {
        "issuer": ISS,
        "authorization_endpoint": f"{ISS}/authorize",
        "token_endpoint": f"{ISS}/token",
        "jwks_uri": f"{ISS}/jwks",
        "id_token_signing_alg_values_supported": ["RS256", "none", "HS256"],
    }
    meta = parse_metadata(doc, ISS, allow_private=False)
    assert meta.id_token_algs == ("RS256",) and meta.userinfo_endpoint is None
    for bad in (
        {"issuer": "https://other.example"},
        {"token_endpoint": "http://idp.example/token"},
        {"jwks_uri": None},
        {"id_token_signing_alg_values_supported": ["none", "HS256"]},
    ):
        with pytest.raises(UpstreamUnavailable):
            parse_metadata({**doc, **bad}, ISS, allow_private=False)
    with pytest.raises(UpstreamUnavailable):
        parse_metadata(["not", "an", "object"], ISS, allow_private=False)


def test_private_addresses_are_not_fetched_without_the_setting():
    from authserver.federation import http

    with pytest.raises(UpstreamUnavailable, match="https"):
        http.get_json("http://127.0.0.1:9/x", allow_private=False, timeout=1)
    with pytest.raises(UpstreamUnavailable, match=r"Unavailable|non-public"):
        http.get_json("https://127.0.0.1:9/x", allow_private=False, timeout=1)


def test_google_hosted_domain_and_microsoft_verified_flag_by_kind():
    def up(kind, **settings):
        return upstream.Upstream(
            "p",
            kind,
            ProviderSettings(client_id="c", **settings),
            "groups",
            "x",
            "cb",
            False,
            1.0,
            UpstreamCache(),
        )

    google = {"sub": "1", "email": "a@corp.example", "email_verified": True, "hd": "corp.example"}
    assert upstream.profile_of_claims(up("google", hosted_domain="corp.example"), google)
    for claims in (
        {**google, "hd": "other.example"},
        {k: v for k, v in google.items() if k != "hd"},
    ):
        with pytest.raises(upstream.UpstreamRejected, match="hosted_domain"):
            upstream.profile_of_claims(up("google", hosted_domain="corp.example"), claims)
    assert upstream.profile_of_claims(up("google"), google).email_verified
    entra = {"sub": "1", "email": "a@corp.example", "email_verified": True, "tid": TENANT}
    assert not upstream.profile_of_claims(up("microsoft", tenant=TENANT), entra).email_verified
