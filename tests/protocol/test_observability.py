"""Request ids, JSON logs and /metrics."""

from __future__ import annotations

import json
import logging

from authserver.observability import JsonFormatter
from tests.helpers import password_grant, refresh_grant


def test_every_response_carries_a_request_id(client):
    r = client.get("/healthz")
    assert len(r.headers["x-request-id"]) == 32
    mine = client.get("/healthz", headers={"X-Request-Id": "trace-1234abcd"})
    assert mine.headers["x-request-id"] == "trace-1234abcd"
    hostile = client.get("/healthz", headers={"X-Request-Id": 'x"><script>alert(1)</script>'})
    assert "<" not in hostile.headers["x-request-id"]


def test_access_log_is_one_json_line_per_request_with_the_request_id(client, caplog):
    with caplog.at_level(logging.INFO, logger="authserver.access"):
        client.get("/healthz", headers={"X-Request-Id": "req-abcdef12"})
    (record,) = [r for r in caplog.records if r.name == "authserver.access"]
    line = json.loads(JsonFormatter().format(record))
    assert line["request_id"] == "req-abcdef12"
    assert line["path"] == "/healthz" and line["status"] == 200
    assert line["endpoint"] == "ops.healthz" and line["duration_ms"] >= 0


def _metric(text: str, name: str, **labels: str) -> float:
    for line in text.splitlines():
        if not line.startswith(name + "{") and not line.startswith(name + " "):
            continue
        if all(f'{k}="{v}"' in line for k, v in labels.items()):
            return float(line.rsplit(" ", 1)[1])
    return 0.0


def test_metrics_count_requests_tokens_reuse_and_keys(client, factory):
    app = factory.password_client()
    body = password_grant(client, app, factory.user()).json()
    refresh_grant(client, app, body["refresh_token"])
    refresh_grant(client, app, body["refresh_token"])  # a replay
    client.get("/.well-known/jwks.json")
    r = client.get("/metrics")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/plain")
    text = r.text
    assert _metric(text, "authserver_tokens_issued_total", grant_type="password") == 1
    assert _metric(text, "authserver_tokens_issued_total", grant_type="refresh_token") == 1
    assert _metric(text, "authserver_refresh_token_reuse_detected_total") == 1
    assert (
        _metric(
            text,
            "authserver_http_requests_total",
            endpoint="token.token",
            method="POST",
            status="200",
        )
        == 2
    )
    assert _metric(text, "authserver_http_requests_total", endpoint="jwks.jwks") == 1
    assert (
        _metric(text, "authserver_http_request_duration_seconds_count", endpoint="token.token") == 3
    )
    assert _metric(text, "authserver_signing_keys", state="active") == 1


def test_metrics_can_be_switched_off(make_settings):
    from starlette.testclient import TestClient

    from authserver.app import create_app

    off = make_settings(metrics_enabled=False)
    with TestClient(create_app(off), base_url=off.issuer) as http:
        assert http.get("/metrics").status_code == 404
