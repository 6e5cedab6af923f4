"""Redis URLs: a single server, Sentinel and Cluster, each against real processes."""

from __future__ import annotations

import shutil
import subprocess
import time

import pytest

from authserver.clock import SystemClock
from authserver.storage.denylist import RedisDenyList
from authserver.storage.redis_client import make_redis, ping
from tests.redis_cluster import _wait_ping, redis_cluster
from tests.servers import free_port

pytestmark = pytest.mark.slow


def _deny_list_works(client) -> None:
    deny = RedisDenyList(client, "urltest:", SystemClock())
    assert not deny.is_denied(None, "jti-1")  # type: ignore[arg-type]
    deny.deny(None, "jti-1", time.time() + 60)  # type: ignore[arg-type]
    assert deny.is_denied(None, "jti-1")  # type: ignore[arg-type]
    assert deny.use_once(None, "k", time.time() + 60)  # type: ignore[arg-type]
    assert not deny.use_once(None, "k", time.time() + 60)  # type: ignore[arg-type]


def test_sentinel_url_follows_the_master(tmp_path):
    server = shutil.which("redis-server")
    master_port, sentinel_port = free_port(), free_port()
    conf = tmp_path / "sentinel.conf"
    conf.write_text(
        f"port {sentinel_port}\nbind 127.0.0.1\n"
        f"sentinel monitor mymaster 127.0.0.1 {master_port} 1\n"
    )
    procs = [
        subprocess.Popen(
            [
                server,
                "--port",
                str(master_port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(tmp_path),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        ),
        subprocess.Popen(
            [server, str(conf), "--sentinel"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        ),
    ]
    try:
        _wait_ping(master_port)
        _wait_ping(sentinel_port)
        client = make_redis(f"redis+sentinel://127.0.0.1:{sentinel_port}/mymaster/0")
        deadline = time.time() + 10
        while not ping(client) and time.time() < deadline:
            time.sleep(0.1)
        _deny_list_works(client)
        client.close()
    finally:
        for p in procs:
            p.terminate()
            p.wait(timeout=10)


def test_cluster_url(tmp_path):
    with redis_cluster(tmp_path) as url:
        client = make_redis(url)
        assert ping(client)
        _deny_list_works(client)
        client.close()


def test_single_server_url(redis_url):
    client = make_redis(redis_url)
    _deny_list_works(client)
    client.delete("urltest:deny:jti-1", "urltest:deny:k")
    client.close()


def test_unreachable_redis_pings_false():
    assert ping(make_redis(f"redis://127.0.0.1:{free_port()}/0")) is False
