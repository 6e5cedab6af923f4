"""Building the Redis client from ``AUTHSERVER_REDIS_URL``.

- ``redis://[:password@]host:port/db``, ``rediss://…`` (TLS), ``unix:///path``: one server.
- ``redis+sentinel://[:password@]host:port[,host:port…]/service[/db]``: Redis Sentinel; the
  client follows the master through failovers.
- ``redis+cluster://[:password@]host:port[,host:port…]``: Redis Cluster (every key we use
  is single-key, so any slot layout works); ``rediss+cluster`` / ``rediss+sentinel`` for TLS.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import unquote, urlsplit

import redis
from redis.cluster import ClusterNode, RedisCluster
from redis.sentinel import Sentinel

TIMEOUTS: dict[str, Any] = {"socket_timeout": 2, "socket_connect_timeout": 2}
SCHEMES = (
    "redis://",
    "rediss://",
    "unix://",
    "redis+sentinel://",
    "rediss+sentinel://",
    "redis+cluster://",
    "rediss+cluster://",
)


def _hosts(netloc: str) -> tuple[str | None, list[tuple[str, int]]]:
    password = None
    if "@" in netloc:
        userinfo, netloc = netloc.rsplit("@", 1)
        password = unquote(userinfo.split(":", 1)[-1]) or None
    hosts = []
    for part in netloc.split(","):
        host, _, port = part.rpartition(":")
        hosts.append((host.strip("[]") or part, int(port or 6379)))
    return password, hosts


def make_redis(url: str) -> Any:
    """A redis-py client (``Redis``, or ``RedisCluster``) for the URL."""
    scheme = url.split("://", 1)[0]
    tls = scheme.startswith("rediss")
    if scheme.endswith("+sentinel"):
        parts = urlsplit(url.replace(scheme, "http", 1))
        password, hosts = _hosts(parts.netloc)
        path = [p for p in parts.path.split("/") if p]
        if not path:
            raise ValueError("redis+sentinel URLs name the service: …/mymaster")
        db = int(path[1]) if len(path) > 1 else 0
        sentinel = Sentinel(
            hosts,
            sentinel_kwargs={"password": password, **TIMEOUTS},
            password=password,
            ssl=tls,
            **TIMEOUTS,
        )
        return sentinel.master_for(path[0], db=db, health_check_interval=30)
    if scheme.endswith("+cluster"):
        parts = urlsplit(url.replace(scheme, "http", 1))
        password, hosts = _hosts(parts.netloc)
        return RedisCluster(
            startup_nodes=[ClusterNode(h, p) for h, p in hosts],
            password=password,
            ssl=tls,
            **TIMEOUTS,
        )
    return redis.Redis.from_url(url, health_check_interval=30, retry_on_timeout=False, **TIMEOUTS)


def ping(client: Any) -> bool:
    try:
        return bool(client.ping())
    except (redis.RedisError, OSError):
        return False
