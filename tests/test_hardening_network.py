"""The chat page on the network: the peer address, not the Host header, decides who is
answered; demo personas never listen beyond this computer."""

from __future__ import annotations

import pytest
from starlette.testclient import TestClient
from typer.testing import CliRunner

from bot.cli import serve as serve_cli
from bot.cli.main import app as cli
from bot.infra.settings import Settings
from handlers.server import create_server
from handlers.web import create_app
from handlers.web.app import local_peer
from tests.chat_helpers import NOW, build_world


def page(Session, peer: str, personas: bool = True) -> TestClient:
    return TestClient(
        create_app(Session, personas=personas, clock=lambda: NOW),
        base_url="http://127.0.0.1",
        client=(peer, 40000),
    )


@pytest.mark.parametrize("peer", ["192.168.1.50", "10.0.0.7", "fe80::1", "::ffff:10.0.0.1"])
def test_a_lan_client_sending_host_127_0_0_1_is_refused(Session, peer):
    with Session() as s, s.begin():
        build_world(s)
    c = page(Session, peer)
    assert c.get("/").status_code == 403
    assert c.get("/api/personas").status_code == 403
    r = c.post("/api/identity", json={}, headers={"Host": "127.0.0.1"})
    assert r.status_code == 403
    assert "user_id" not in r.text
    r = c.post("/api/message", json={"user_id": "web-" + "0" * 32, "text": "我的成绩"})
    assert r.status_code == 403


@pytest.mark.parametrize("peer", ["127.0.0.1", "127.0.0.2", "::1", "::ffff:127.0.0.1"])
def test_this_computer_is_answered(Session, peer):
    with Session() as s, s.begin():
        build_world(s)
    c = page(Session, peer)
    assert c.get("/").status_code == 200
    assert c.post("/api/identity", json={}).json()["user_id"].startswith("web-")
    assert c.get("/api/personas").json()["personas"]


def test_the_peer_check_holds_behind_the_server_that_listens_for_webhooks(Session):
    server = create_server(Settings(_env_file=None), Session, personas=False)
    with TestClient(server, base_url="http://127.0.0.1", client=("192.168.1.50", 1)) as c:
        assert c.get("/").status_code == 403
        assert c.post("/api/identity", json={}).status_code == 403


def test_unusual_peers():
    assert local_peer(None)  # a Unix socket: only this computer can connect
    assert not local_peer(("testclient", 1))
    assert not local_peer(("0.0.0.0", 1))


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "192.168.1.5", "example.com"])
def test_personas_refuse_to_start_on_an_address_beyond_this_computer(monkeypatch, host):
    started = []
    monkeypatch.setattr(serve_cli, "run", lambda *a, **kw: started.append((a, kw)))
    result = CliRunner().invoke(cli, ["--lang", "en", "serve", "--host", host, "--personas"])
    assert result.exit_code == 2
    assert "--personas" in result.output
    assert host in result.output
    assert not started
    zh = CliRunner().invoke(cli, ["--lang", "zh_CN", "serve", "--host", host, "--personas"])
    assert zh.exit_code == 2
    assert "本机" in zh.output


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost", "::1"])
def test_personas_start_on_this_computers_own_address(monkeypatch, host):
    started = []
    monkeypatch.setattr(serve_cli, "run", lambda *a, **kw: started.append((a, kw)))
    result = CliRunner().invoke(cli, ["--lang", "en", "serve", "--host", host, "--personas"])
    assert result.exit_code == 0, result.output
    assert started
    assert started[0][1]["personas"] is True


def test_serve_without_personas_may_listen_on_every_address(monkeypatch):
    started = []
    monkeypatch.setattr(serve_cli, "run", lambda *a, **kw: started.append((a, kw)))
    result = CliRunner().invoke(cli, ["--lang", "en", "serve", "--host", "0.0.0.0"])
    assert result.exit_code == 0, result.output
    assert (started[0][1]["personas"], started[0][1]["host"]) == (False, "0.0.0.0")
