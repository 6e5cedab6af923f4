"""What a PyPI user gets: the wheel built from this checkout, installed (not editable) in a
fresh virtual environment, started outside the checkout, hands out a token.

Speed and honesty: the wheel is built once, by pip in an isolated build environment (what
`pip install .` does; setuptools comes from pip's cache). It is installed with `--no-deps`
into a new venv whose only path to the already installed dependencies is a `.pth` file
naming this environment's site-packages: Python does not run the `.pth` files of a folder
added that way, so this checkout's editable install stays invisible, and the test checks
that `authserver` is imported from the new venv and that every `Requires-Dist` of the
wheel is satisfied there. Downloading the dependencies again would prove nothing more
about our packaging and cost minutes."""

from __future__ import annotations

import json
import os
import shutil
import site
import subprocess
import sys
import zipfile
from pathlib import Path

import httpx2 as httpx
import pytest

from authserver import __version__
from tests.servers import ROOT, running_server

pytestmark = pytest.mark.slow

FAST = {"AUTHSERVER_ARGON2_MEMORY_KIB": "8192", "AUTHSERVER_ARGON2_TIME_COST": "1"}
CHECK_REQUIREMENTS = """
import importlib.metadata as m, sys
from packaging.requirements import Requirement
missing = []
for line in m.requires("authserver") or []:
    r = Requirement(line)
    if r.marker and not r.marker.evaluate({"extra": ""}):
        continue
    try:
        if not r.specifier.contains(m.version(r.name), prereleases=True):
            missing.append(f"{r} (have {m.version(r.name)})")
    except m.PackageNotFoundError:
        missing.append(str(r))
import authserver
print(authserver.__file__)
sys.exit("unsatisfied: " + ", ".join(missing) if missing else 0)
"""


def run(*argv: str | Path, cwd: Path, env: dict[str, str] | None = None) -> str:
    done = subprocess.run(
        [str(a) for a in argv], cwd=cwd, env=env, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, f"{argv}: {done.stdout}\n{done.stderr}"
    return done.stdout


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The wheel, built from a copy of the checkout (a build writes into its source)."""
    tmp = tmp_path_factory.mktemp("wheel")
    src = tmp / "src"
    src.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, src / name)
    shutil.copytree(
        ROOT / "authserver",
        src / "authserver",
        ignore=shutil.ignore_patterns("__pycache__", "*.pyc"),
    )
    run(sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", tmp / "dist", src, cwd=tmp)
    (built,) = (tmp / "dist").glob("authserver-*.whl")
    return built


def test_the_wheel_ships_every_file_of_the_package(wheel):
    shipped = set(zipfile.ZipFile(wheel).namelist())
    package = ROOT / "authserver"
    expected = {
        str(p.relative_to(ROOT))
        for p in package.rglob("*")
        if p.is_file() and "__pycache__" not in p.parts and p.suffix != ".pyc"
    }
    assert expected - shipped == set(), "add them to [tool.setuptools.package-data]"
    assert wheel.name == f"authserver-{__version__}-py3-none-any.whl"


def test_installed_wheel_serves_a_token_from_any_folder(wheel, tmp_path):
    venv = tmp_path / "venv"
    run(sys.executable, "-m", "venv", "--without-pip", venv, cwd=tmp_path)
    python = venv / "bin" / "python"
    (packages,) = venv.glob("lib/python*/site-packages")
    (packages / "dependencies.pth").write_text("\n".join(site.getsitepackages()) + "\n")
    run(
        sys.executable,
        "-m",
        "pip",
        "--python",
        python,
        "install",
        "-q",
        "--no-deps",
        "--no-index",
        wheel,
        cwd=tmp_path,
    )

    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith("AUTHSERVER_")}
    env.pop("PYTHONPATH", None)
    env.update(FAST, XDG_DATA_HOME=str(tmp_path / "xdg"))
    imported = run(python, "-c", CHECK_REQUIREMENTS, cwd=elsewhere, env=env).strip()
    assert Path(imported).is_relative_to(venv), imported
    authserver = venv / "bin" / "authserver"
    assert run(authserver, "--version", cwd=elsewhere, env=env).strip() == (
        f"authserver {__version__}"
    )

    server_dir = tmp_path / "server-cwd"
    server_dir.mkdir()
    with running_server(
        {**FAST, "XDG_DATA_HOME": env["XDG_DATA_HOME"]}, server_dir, program=[str(authserver)]
    ) as server:
        created = json.loads(
            run(
                authserver,
                "clients",
                "create",
                "--name",
                "Wheel",
                "--scope",
                "api",
                "--json",
                cwd=elsewhere,
                env={**env, "AUTHSERVER_ISSUER": server.url},
            )
        )
        with httpx.Client(base_url=server.url, timeout=30) as http:
            token = http.post(
                "/token",
                data={"grant_type": "client_credentials"},
                auth=(created["client_id"], created["client_secret"]),
            )
            assert token.status_code == 200, token.text
            assert http.get("/login").status_code == 200  # templates
            assert "text/css" in http.get("/static/style.css").headers["content-type"]
            assert http.get("/.well-known/jwks.json").json()["keys"]
    state = tmp_path / "xdg" / "authserver"
    assert (state / "authserver.db").is_file() and list((state / "keys").glob("*.pem"))
    assert not list(server_dir.glob("*")) or all(p.suffix == ".log" for p in server_dir.iterdir())
