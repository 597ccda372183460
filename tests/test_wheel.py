"""The wheel works on its own: built from the checkout's files, installed into a fresh
virtual environment and run away from the checkout, it builds the demo data and its chat
page answers in Chinese from the catalogs compiled into it.

Offline: the wheel is built without build isolation (setuptools and Babel come from this
.venv), and the fresh environment reaches the dependencies through a .pth line naming this
.venv's site-packages, a plain path, so the editable install found there stays inert.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import sysconfig
import time
import urllib.request
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def run(*args: str | Path, cwd: Path, env: dict[str, str] | None = None) -> str:
    done = subprocess.run(
        [str(a) for a in args], cwd=cwd, env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, f"{args}\n{done.stdout}\n{done.stderr}"
    return done.stdout


def copy_checkout(to: Path) -> None:
    """The files git would ship (tracked, or new and not ignored): no build/, no .mo."""
    listed = run("git", "ls-files", "-z", "-co", "--exclude-standard", cwd=ROOT)
    for name in filter(None, listed.split("\0")):
        source = ROOT / name
        if source.is_file():  # a file deleted but not yet committed is still listed
            (to / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, to / name)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def post(url: str, body: dict[str, str]) -> dict[str, object]:
    request = urllib.request.Request(
        url, data=json.dumps(body).encode(), headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        answer: dict[str, object] = json.load(response)
        return answer


def get(url: str) -> bytes:
    with urllib.request.urlopen(url, timeout=30) as response:
        data: bytes = response.read()
        return data


def test_the_installed_wheel_makes_demo_data_and_its_chat_page_speaks_chinese(tmp_path):
    source, dist, env_dir, away = (tmp_path / n for n in ("src", "dist", "env", "away"))
    copy_checkout(source)
    away.mkdir()
    assert not list(source.rglob("*.mo")), "catalogs must come from the build, not the copy"
    run(
        sys.executable, "-m", "pip", "wheel", source, "--no-deps", "--no-build-isolation",
        "--no-index", "-q", "-w", dist, cwd=away,
    )  # fmt: skip
    (wheel,) = dist.glob("jixiao-*.whl")
    with zipfile.ZipFile(wheel) as built:
        names = built.namelist()
    # The application alone: no benchmark, no test double (issue 14).
    assert not [n for n in names if n.startswith(("benchmarks/", "tests/"))]
    assert not [n for n in names if "fake" in n.rsplit("/", 1)[-1]]
    assert "bot/locales/zh_CN/LC_MESSAGES/messages.mo" in names

    run(sys.executable, "-m", "venv", "--without-pip", env_dir, cwd=away)
    python = env_dir / "bin" / "python"
    purelib = Path(run(python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])",
                       cwd=away).strip())  # fmt: skip
    (purelib / "jixiao-deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    run(
        sys.executable, "-m", "pip", "--python", python, "install", "--no-deps", "--no-index",
        "-q", wheel, cwd=away,
    )  # fmt: skip

    env = {
        "PATH": os.environ["PATH"],
        "HOME": str(away),
        "LANG": "C.UTF-8",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'demo.db'}",
        "DEFAULT_LANGUAGE": "zh_CN",
    }
    where = run(python, "-c", "import bot, handlers.web.app as w; print(bot.__file__, w.STATIC)",
                cwd=away, env=env)  # fmt: skip
    assert str(ROOT) not in where, where
    assert str(purelib) in where, where

    made = run(env_dir / "bin" / "jixiao", "demo-data", cwd=away, env=env)
    assert "名员工" in made, made  # "{employees} employees." from the zh_CN catalog

    port = free_port()
    log = tmp_path / "serve.log"
    with log.open("wb") as out:
        server = subprocess.Popen(
            [env_dir / "bin" / "jixiao", "serve", "--port", str(port)],
            cwd=away,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 45
        while True:
            try:
                assert json.loads(get(f"{base}/healthz")) == {"ok": True}
                break
            except OSError:
                assert server.poll() is None, log.read_text()
                assert time.monotonic() < deadline, "jixiao serve did not start"
                time.sleep(0.3)
        assert b"/static/app.js" in get(f"{base}/")
        assert len(get(f"{base}/static/fonts/jixiao-sans.woff")) > 10_000

        uid = post(f"{base}/api/identity", {})["user_id"]
        assert isinstance(uid, str)
        answer = post(f"{base}/api/message", {"user_id": uid, "text": "你好", "lang": "zh_CN"})
        (reply,) = answer["replies"]  # type: ignore[misc]
        # Source strings are English: Chinese here can only come from the catalog.
        assert "绩效助手" in reply["text"], reply
        assert "绑定码" in reply["text"], reply
    finally:
        server.terminate()
        server.wait(timeout=20)
