"""A throwaway 3-node Redis Cluster (3 masters, no replicas) on free local ports."""

from __future__ import annotations

import shutil
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import redis
from redis.cluster import ClusterNode, RedisCluster


@contextmanager
def redis_cluster(workdir: Path, nodes: int = 3) -> Iterator[str]:
    """Yields a ``redis+cluster://`` URL naming every node."""
    server = shutil.which("redis-server")
    cli = shutil.which("redis-cli")
    if not server or not cli:
        raise RuntimeError("redis-server and redis-cli are needed for the cluster test")
    ports = _cluster_ports(nodes)
    processes = []
    try:
        for port in ports:
            d = workdir / f"redis-{port}"
            d.mkdir()
            processes.append(
                subprocess.Popen(
                    [
                        server,
                        "--port",
                        str(port),
                        "--bind",
                        "127.0.0.1",
                        "--cluster-enabled",
                        "yes",
                        "--cluster-config-file",
                        "nodes.conf",
                        "--cluster-node-timeout",
                        "2000",
                        "--save",
                        "",
                        "--appendonly",
                        "no",
                        "--dir",
                        str(d),
                    ],
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                )
            )
        for port in ports:
            _wait_ping(port)
        subprocess.run(
            [
                cli,
                "--cluster",
                "create",
                *[f"127.0.0.1:{p}" for p in ports],
                "--cluster-replicas",
                "0",
                "--cluster-yes",
            ],
            check=True,
            capture_output=True,
            timeout=60,
        )
        client = RedisCluster(startup_nodes=[ClusterNode("127.0.0.1", p) for p in ports])
        deadline = time.time() + 30
        while True:
            try:
                if client.cluster_info().get("cluster_state") == "ok":
                    break
            except redis.RedisError:
                pass
            if time.time() > deadline:
                raise RuntimeError("the Redis cluster did not become ready")
            time.sleep(0.2)
        client.close()
        yield "redis+cluster://" + ",".join(f"127.0.0.1:{p}" for p in ports)
    finally:
        for p in processes:
            p.terminate()
        for p in processes:
            p.wait(timeout=10)


def _cluster_ports(n: int) -> list[int]:
    """Distinct free ports whose cluster-bus port (port + 10000) is free and valid too:
    an ordinary ephemeral port plus 10000 can exceed 65535."""
    import random
    import socket

    chosen: list[int] = []
    while len(chosen) < n:
        port = random.randint(20000, 29999)
        if port in chosen:
            continue
        try:
            for p in (port, port + 10000):
                with socket.socket() as s:
                    s.bind(("127.0.0.1", p))
        except OSError:
            continue
        chosen.append(port)
    return chosen


def _wait_ping(port: int) -> None:
    deadline = time.time() + 10
    while time.time() < deadline:
        try:
            if redis.Redis(port=port, socket_connect_timeout=0.5).ping():
                return
        except redis.RedisError:
            time.sleep(0.05)
    raise RuntimeError(f"redis on {port} did not start")
