"""Prometheus metrics of one app instance (its own registry: no process-global state).

With several uvicorn workers, ``PROMETHEUS_MULTIPROC_DIR`` (set by ``authserver serve``)
makes every worker write its samples there and /metrics sums them across workers."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.multiprocess import MultiProcessCollector

GRANTS = frozenset({"authorization_code", "refresh_token", "password", "client_credentials"})


class _KeyStates:
    """Signing keys per state, read from the key ring at scrape time."""

    def __init__(self, states: Callable[[], dict[str, str]]) -> None:
        self.states = states

    def collect(self) -> Iterable[Metric]:
        family = GaugeMetricFamily(
            "authserver_signing_keys", "Signing keys by state", labels=["state"]
        )
        counts = {"next": 0, "active": 0, "retiring": 0, "retired": 0}
        for state in self.states().values():
            counts[str(state)] = counts.get(str(state), 0) + 1
        for state, n in counts.items():
            family.add_metric([state], n)
        yield family


class Metrics:
    def __init__(self) -> None:
        self.multiprocess = bool(os.environ.get("PROMETHEUS_MULTIPROC_DIR"))
        self.registry = CollectorRegistry()
        if self.multiprocess:
            MultiProcessCollector(self.registry)
        # In multiprocess mode values live in the shared folder; these objects write there.
        target = None if self.multiprocess else self.registry
        self.requests = Counter(
            "authserver_http_requests_total",
            "HTTP requests",
            ["endpoint", "method", "status"],
            registry=target,
        )
        self.latency = Histogram(
            "authserver_http_request_duration_seconds",
            "HTTP request latency",
            ["endpoint"],
            buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
            registry=target,
        )
        self.tokens_issued = Counter(
            "authserver_tokens_issued_total", "Tokens issued", ["grant_type"], registry=target
        )
        self.refresh_reuse = Counter(
            "authserver_refresh_token_reuse_detected_total",
            "Replayed refresh tokens (family revoked)",
            registry=target,
        )
        self.federation_logins = Counter(
            "authserver_federation_logins_total",
            "Sign-ins through upstream identity providers, by outcome",
            ["provider", "outcome"],
            registry=target,
        )
        self.throttled = Counter(
            "authserver_throttled_total",
            "Password checks refused by rate limiting",
            registry=target,
        )

        # Label children by label values: ``labels()`` takes a lock and validates the
        # values on every call; a request only needs the child it counts in.
        self._request_children: dict[tuple[str, str, int], tuple[Counter, Histogram]] = {}
        self._issued_children: dict[str, Counter] = {}

    def request_done(self, endpoint: str, method: str, status: int, seconds: float) -> None:
        """Count one HTTP request and its latency."""
        key = (endpoint, method, status)
        children = self._request_children.get(key)
        if children is None:
            children = (
                self.requests.labels(endpoint, method, str(status)),
                self.latency.labels(endpoint),
            )
            self._request_children[key] = children
        children[0].inc()
        children[1].observe(seconds)

    def watch_keys(self, states: Callable[[], dict[str, str]]) -> None:
        self.registry.register(_KeyStates(states))

    def token_issued(self, grant_type: str | None) -> None:
        label = grant_type if grant_type in GRANTS else "other"
        child = self._issued_children.get(label)
        if child is None:
            child = self._issued_children[label] = self.tokens_issued.labels(label)
        child.inc()

    def federation_login(self, provider: str, outcome: str) -> None:
        """Count a federated sign-in by provider and outcome (known, created, linked,
        link_required, rejected:<reason>)."""
        self.federation_logins.labels(provider, outcome).inc()

    def tokens_by_grant(self) -> dict[str, int]:
        """Tokens issued per grant type since the server started (summed over the
        workers of ``authserver serve``)."""
        counts = {grant: 0 for grant in sorted(GRANTS)}
        for metric in self.registry.collect():
            if metric.name != "authserver_tokens_issued":
                continue
            for sample in metric.samples:
                if sample.name.endswith("_total"):
                    label = sample.labels.get("grant_type", "other")
                    counts[label] = counts.get(label, 0) + int(sample.value)
        return counts

    def exposition(self) -> bytes:
        return bytes(generate_latest(self.registry))
