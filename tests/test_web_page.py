"""The chat page over HTTP: its strings, personas, bind codes, and the one endpoint that
turns a typed text or a pressed button into a call of the conversation core."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal

import httpx
import pytest
from sqlalchemy import func, select

from bot.appraisal.periods import new_period
from bot.infra import i18n
from bot.infra.errors import Refused
from bot.infra.message import Button, Incoming, Kind, Reply
from handlers.web import create_app
from handlers.web import strings as page
from models import (
    AuditEvent,
    ChatIdentity,
    Employee,
    Group,
    Institution,
    Period,
    PeriodState,
    Result,
    Role,
    RoleGrant,
    Scheme,
    ScoringTask,
)

NOW = dt.datetime(2026, 12, 3, 2, 0, tzinfo=dt.UTC)
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 16


@pytest.fixture
def org(Session):
    """A head, a scorer, an employee with a published result, an HR administrator."""
    with Session() as s, s.begin():
        grp = Group(name="测试集团")
        inst = Institution(group=grp, name="一分公司", pilot=True)
        s.add_all([grp, inst])
        s.flush()

        def emp(number: str, name: str, position: str) -> Employee:
            e = Employee(
                group_id=grp.id,
                number=number,
                name=name,
                position=position,
                institution_id=inst.id,
                pay_base=Decimal("4000"),
            )
            s.add(e)
            return e

        head, scorer, worker, hr, other = (
            emp("E001", "王一", "行长"),
            emp("E002", "李二", "主管"),
            emp("E003", "张三", "柜员"),
            emp("E004", "赵四", "人事专员"),
            emp("E005", "钱五", "柜员"),
        )
        s.flush()
        inst.head_id = head.id
        s.add(RoleGrant(employee_id=hr.id, role=Role.HR, institution_id=None))
        scheme = Scheme(group_id=grp.id, code="STD", name="标准方案", created_at=NOW)
        s.add(scheme)
        s.flush()

        def period(label: str, state: PeriodState) -> Period:
            p = new_period(grp.id, scheme.id, label, state=state, deadline=NOW, now=NOW)
            s.add(p)
            s.flush()
            return p

        done = period("2026-11", PeriodState.FINAL)
        now_open = period("2026-12", PeriodState.SCORING)
        s.add(
            Result(
                period_id=done.id,
                employee_id=worker.id,
                total=Decimal("88"),
                grade="B",
                coefficient=Decimal("1.0"),
                pay_base=Decimal("4000"),
                pay=Decimal("4000.00"),
                trace={},
                computed_at=NOW,
            )
        )
        s.add(
            ScoringTask(
                period_id=now_open.id,
                scorer_id=scorer.id,
                appraisee_id=worker.id,
                role_code="manager",
                deadline=NOW,
            )
        )
    return {"head": head.id, "scorer": scorer.id, "employee": worker.id, "hr": hr.id}, other.id


class FakeCore:
    """Stands in for bot.chat.dispatch.handle: records what it was given, answers by text."""

    def __init__(self) -> None:
        self.seen: list[tuple[Incoming, dt.datetime]] = []

    def __call__(self, session, incoming: Incoming, now: dt.datetime) -> list[Reply]:
        self.seen.append((incoming, now))
        session.add(AuditEvent(at=now, action="fake.step", entity="chat", entity_id=None))
        if incoming.kind is Kind.BUTTON:
            return [Reply(text=f"pressed {incoming.payload}", edit=True)]
        if incoming.kind is Kind.OTHER:
            return [Reply(text="stickers are not read here")]
        if incoming.text == "boom":
            raise RuntimeError("the core broke")
        if incoming.text == "refuse":
            raise Refused("不可以")
        if incoming.text == "picture":
            return [Reply(text="chart", image=PNG, image_name="chart.png")]
        if incoming.text == "file":
            return [Reply(text="sheet", file=b"a,b\n1,2\n", file_name="pay 2026-11.csv")]
        return [
            Reply(
                text=f"echo {incoming.text}",
                buttons=[[Button("90", "s:1:90"), Button("85", "s:1:85")], [Button("返回", "b")]],
            )
        ]


@pytest.fixture
def core() -> FakeCore:
    return FakeCore()


@pytest.fixture
def issued() -> list[tuple[int, dt.datetime]]:
    return []


def local(app, base_url: str = "http://127.0.0.1") -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=base_url)


@pytest.fixture
async def client(Session, org, core, issued):
    def issue(session, employee_id: int, now: dt.datetime) -> str:
        issued.append((employee_id, now))
        return f"CODE{len(issued)}"

    app = create_app(Session, handle=core, clock=lambda: NOW, issue_code=issue)
    async with local(app) as c:
        yield c


async def user_id(client: httpx.AsyncClient) -> str:
    uid = (await client.post("/api/identity", json={})).json()["user_id"]
    assert isinstance(uid, str)
    return uid


async def test_the_page_and_its_files_are_served_with_a_strict_policy(client):
    res = await client.get("/")
    assert res.status_code == 200
    assert res.headers["content-type"].startswith("text/html")
    assert "/static/app.js" in res.text
    csp = res.headers["content-security-policy"]
    assert "default-src 'self'" in csp
    assert "frame-ancestors 'none'" in csp
    assert (await client.get("/static/app.js")).status_code == 200
    assert (await client.get("/static/app.css")).status_code == 200


async def test_it_answers_only_to_a_local_host_name(Session, core):
    app = create_app(Session, handle=core)
    async with local(app, "http://evil.example") as c:
        assert (await c.get("/")).status_code == 400
    async with local(app, "http://localhost:8000") as c:
        assert (await c.get("/")).status_code == 200


async def test_the_page_strings_come_translated_in_the_chosen_language(client, monkeypatch):
    class Marked:
        def gettext(self, message: str) -> str:
            return "«" + message + "»"

    real = i18n.translations
    monkeypatch.setattr(
        i18n, "translations", lambda lang: Marked() if lang == "zh_CN" else real(lang)
    )
    zh = (await client.get("/api/strings", params={"lang": "zh-CN"})).json()
    en = (await client.get("/api/strings", params={"lang": "en-US"})).json()
    assert zh["lang"] == "zh_CN"
    assert en["lang"] == "en"
    assert zh["strings"].keys() == en["strings"].keys()
    assert all(v.startswith("«") for v in zh["strings"].values())
    assert en["strings"]["send"] == "Send"
    assert [lang["name"] for lang in en["languages"]] == ["中文", "English"]


async def test_an_unknown_language_falls_back_to_chinese(client):
    assert (await client.get("/api/strings", params={"lang": "fr"})).json()["lang"] == "zh_CN"
    assert (await client.get("/api/strings")).json()["lang"] == "zh_CN"


async def test_every_page_string_is_a_nonempty_sentence_in_both_languages():
    for lang in i18n.LANGUAGES:
        with i18n.using(lang):
            assert all(v.strip() for v in page.page_strings().values())


async def test_it_offers_one_persona_per_role_found_in_the_database(client, org):
    ids, _ = org
    res = (await client.get("/api/personas", params={"lang": "en"})).json()["personas"]
    assert {p["role"]: p["employee_id"] for p in res} == ids
    scorer = next(p for p in res if p["role"] == "scorer")
    assert scorer["name"] == "李二"
    assert scorer["role_label"] == "Scorer"
    assert scorer["institution"] == "一分公司"


async def test_picking_a_persona_gives_a_fresh_identity_and_a_bind_code(client, org, issued):
    ids, _ = org
    res = await client.post("/api/persona", json={"employee_id": ids["scorer"], "lang": "en"})
    assert res.status_code == 200
    data = res.json()
    assert re.fullmatch(r"web-[0-9a-f]{32}", data["user_id"])
    assert data["bound"] is False
    assert data["code"] == "CODE1"
    assert data["command"] == "/start CODE1"
    assert "CODE1" in data["note"]
    assert "李二" in data["note"]
    assert issued == [(ids["scorer"], NOW)]


async def test_a_persona_picked_again_keeps_its_identity(client, org):
    ids, _ = org
    first = (await client.post("/api/persona", json={"employee_id": ids["head"]})).json()
    again = (
        await client.post(
            "/api/persona", json={"employee_id": ids["head"], "user_id": first["user_id"]}
        )
    ).json()
    assert again["user_id"] == first["user_id"]
    forged = (
        await client.post(
            "/api/persona", json={"employee_id": ids["head"], "user_id": "telegram-1"}
        )
    ).json()
    assert forged["user_id"] != "telegram-1"


async def test_an_identity_already_bound_to_the_persona_gets_no_new_code(
    client, org, Session, issued
):
    ids, _ = org
    uid = await user_id(client)
    with Session() as s, s.begin():
        s.add(
            ChatIdentity(platform="web", external_id=uid, employee_id=ids["employee"], bound_at=NOW)
        )
    data = (
        await client.post(
            "/api/persona", json={"employee_id": ids["employee"], "user_id": uid, "lang": "en"}
        )
    ).json()
    assert data["bound"] is True
    assert data["code"] is None
    assert data["note"] == "This chat is bound to 张三."
    assert issued == []


async def test_only_the_offered_personas_can_be_picked(client, org, issued):
    _, someone_else = org
    res = await client.post("/api/persona", json={"employee_id": someone_else})
    assert res.status_code == 403
    assert issued == []


@pytest.mark.parametrize(
    "body",
    [{"employee_id": "1"}, {"employee_id": True}, {}, ["employee_id"]],
)
async def test_a_malformed_pick_is_refused(client, body):
    assert (await client.post("/api/persona", json=body)).status_code == 400


async def test_a_pick_must_be_json_so_no_plain_form_can_post_it(client, org):
    ids, _ = org
    res = await client.post("/api/persona", data={"employee_id": str(ids["scorer"])})
    assert res.status_code == 400


async def test_without_personas_nobody_can_be_played(Session, org, core, issued):
    ids, _ = org
    app = create_app(Session, personas=False, handle=core, issue_code=lambda *a: "X")
    async with local(app) as c:
        assert (await c.get("/api/strings")).json()["personas_enabled"] is False
        assert (await c.get("/api/personas")).json()["personas"] == []
        assert (
            await c.post("/api/persona", json={"employee_id": ids["scorer"]})
        ).status_code == 404
        uid = await user_id(c)
        assert (
            await c.post("/api/message", json={"user_id": uid, "text": "hi"})
        ).status_code == 200


async def test_typed_text_reaches_the_core_as_a_web_incoming(client, core):
    uid = await user_id(client)
    res = await client.post(
        "/api/message", json={"user_id": uid, "text": "/start CODE1", "lang": "en"}
    )
    assert res.status_code == 200
    (incoming, now), *_ = core.seen
    assert incoming == Incoming(
        platform="web",
        user_id=uid,
        chat_id=uid,
        kind=Kind.TEXT,
        text="/start CODE1",
        payload="",
        private=True,
        language_code="en",
        source="127.0.0.1",  # the peer address: guessing bind codes is limited per source
    )
    assert now == NOW
    assert now.tzinfo is not None
    reply = res.json()["replies"][0]
    assert reply == {
        "text": "echo /start CODE1",
        "edit": False,
        "buttons": [
            [{"label": "90", "payload": "s:1:90"}, {"label": "85", "payload": "s:1:85"}],
            [{"label": "返回", "payload": "b"}],
        ],
        "image": None,
        "file": None,
    }


async def test_a_pressed_button_reaches_the_core_with_its_payload_only(client, core):
    uid = await user_id(client)
    res = await client.post(
        "/api/message",
        json={"user_id": uid, "kind": "button", "payload": "s:1:90", "text": "ignored"},
    )
    incoming, _ = core.seen[0]
    assert (incoming.kind, incoming.payload, incoming.text) == (Kind.BUTTON, "s:1:90", "")
    assert incoming.language_code == "zh-CN"
    assert res.json()["replies"] == [
        {"text": "pressed s:1:90", "edit": True, "buttons": [], "image": None, "file": None}
    ]


async def test_a_sticker_reaches_the_core_as_other(client, core):
    uid = await user_id(client)
    res = await client.post("/api/message", json={"user_id": uid, "kind": "other", "text": "x"})
    incoming, _ = core.seen[0]
    assert (incoming.kind, incoming.text) == (Kind.OTHER, "")
    assert res.json()["replies"][0]["text"] == "stickers are not read here"


async def test_pictures_come_as_data_urls_and_files_as_downloads(client):
    uid = await user_id(client)
    pic = (await client.post("/api/message", json={"user_id": uid, "text": "picture"})).json()
    image = pic["replies"][0]["image"]
    assert image["name"] == "chart.png"
    assert image["src"].startswith("data:image/png;base64,iVBORw0KGgo")
    sheet = (await client.post("/api/message", json={"user_id": uid, "text": "file"})).json()
    file = sheet["replies"][0]["file"]
    assert file == {"name": "pay 2026-11.csv", "type": "text/csv", "data": "YSxiCjEsMgo="}


async def test_what_the_core_writes_is_committed(client, Session):
    uid = await user_id(client)
    await client.post("/api/message", json={"user_id": uid, "text": "hello"})
    with Session() as s:
        assert s.scalar(select(func.count()).where(AuditEvent.action == "fake.step")) == 1


async def test_a_failing_core_rolls_back_and_the_page_hears_so(client, Session):
    uid = await user_id(client)
    res = await client.post("/api/message", json={"user_id": uid, "text": "boom", "lang": "en"})
    assert res.status_code == 500
    assert res.json() == {"error": "The bot did not answer. Please try again."}
    with Session() as s:
        assert s.scalar(select(func.count()).where(AuditEvent.action == "fake.step")) == 0


async def test_a_refusal_is_shown_as_the_bots_answer_and_nothing_is_kept(client, Session):
    uid = await user_id(client)
    res = await client.post("/api/message", json={"user_id": uid, "text": "refuse"})
    assert res.status_code == 200
    assert res.json()["replies"][0]["text"] == "不可以"
    with Session() as s:
        assert s.scalar(select(func.count()).where(AuditEvent.action == "fake.step")) == 0


@pytest.mark.parametrize(
    "body",
    [
        {"text": "no identity"},
        {"user_id": "12345", "text": "a telegram id"},
        {"user_id": "web-" + "0" * 31, "text": "too short"},
        {"user_id": "web-" + "0" * 32, "kind": "voice"},
        {"user_id": "web-" + "0" * 32, "kind": "button", "payload": ""},
        {"user_id": "web-" + "0" * 32, "kind": "button", "payload": "x" * 2001},
        {"user_id": "web-" + "0" * 32, "text": 90},
        {"user_id": "web-" + "0" * 32, "text": "x" * 50_001},
    ],
)
async def test_a_malformed_message_is_refused_before_the_core(client, core, body):
    assert (await client.post("/api/message", json=body)).status_code == 400
    assert core.seen == []


async def test_ten_thousand_characters_and_markup_pass_through_untouched(client, core):
    uid = await user_id(client)
    text = "<b>好</b>" * 1250
    await client.post("/api/message", json={"user_id": uid, "text": text})
    assert core.seen[0][0].text == text


async def test_the_real_core_is_used_when_none_is_given(Session, org, monkeypatch):
    from handlers.web import app as web_app

    calls: list[Incoming] = []

    def fake_dispatch(session, incoming, now):
        calls.append(incoming)
        return [Reply(text="real")]

    monkeypatch.setattr(web_app, "core_handle", fake_dispatch)
    async with local(create_app(Session)) as c:
        uid = await user_id(c)
        res = await c.post("/api/message", json={"user_id": uid, "text": "hi"})
    assert res.json()["replies"][0]["text"] == "real"
    assert len(calls) == 1


async def test_pushes_queued_for_a_web_chat_are_handed_out_once(client, Session):
    from bot.notify import outbox

    mine, theirs = await user_id(client), await user_id(client)
    with Session() as s, s.begin():
        for n, (platform, chat) in enumerate(
            [("web", mine), ("web", theirs), ("telegram", mine), ("web", mine)]
        ):
            content = {"text": f"提醒 {n}", "buttons": [[{"label": "去评分", "payload": "go"}]]}
            outbox.enqueue(
                s, NOW, platform=platform, chat_id=chat, content=content, dedupe_key=f"k{n}"
            )
    first = (await client.post("/api/inbox", json={"user_id": mine})).json()["replies"]
    assert [r["text"] for r in first] == ["提醒 0", "提醒 3"]
    assert first[0]["buttons"] == [[{"label": "去评分", "payload": "go"}]]
    again = (await client.post("/api/inbox", json={"user_id": mine})).json()["replies"]
    assert again == []
    assert (await client.post("/api/inbox", json={"user_id": "1"})).status_code == 400


def cli(monkeypatch, engine):
    import typer

    from bot.cli import common, serve

    monkeypatch.setitem(common._state, "database_url", engine.url.render_as_string(False))
    monkeypatch.setattr(common, "engine", lambda: engine)
    app = typer.Typer(pretty_exceptions_enable=False)
    app.callback()(lambda: None)
    serve.register(app)
    return app


def test_serve_runs_uvicorn_on_localhost_and_says_where(monkeypatch, engine):
    import uvicorn
    from typer.testing import CliRunner

    ran: list[tuple[object, dict[str, object]]] = []
    monkeypatch.setattr(uvicorn, "run", lambda app, **kw: ran.append((app, kw)))
    port = free_port()
    done = CliRunner().invoke(cli(monkeypatch, engine), ["serve", "--port", str(port)])
    assert done.exit_code == 0, done.output
    assert f"http://127.0.0.1:{port}/" in done.output
    ((_, kw),) = ran
    assert kw["host"] == "127.0.0.1"
    assert kw["port"] == port


def test_serve_listens_on_every_address_when_asked_for_webhooks(monkeypatch, engine):
    import uvicorn
    from typer.testing import CliRunner

    ran: list[dict[str, object]] = []
    monkeypatch.setattr(uvicorn, "run", lambda app, **kw: ran.append(kw))
    port = free_port()
    done = CliRunner().invoke(
        cli(monkeypatch, engine), ["serve", "--port", str(port), "--host", "0.0.0.0"]
    )
    assert done.exit_code == 0, done.output
    assert ran[0]["host"] == "0.0.0.0"
    assert f"http://127.0.0.1:{port}/" in done.output


def test_serve_refuses_a_busy_port_in_one_line(monkeypatch, engine):
    import socket

    from typer.testing import CliRunner

    from bot.cli.common import Failure

    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        done = CliRunner().invoke(cli(monkeypatch, engine), ["serve", "--port", str(port)])
    # How a Failure leaves the process (one line, status 2) is bot.cli.common's business.
    if isinstance(done.exception, Failure):
        message = str(done.exception)
    else:
        assert done.exit_code == 2
        message = done.output
    assert str(port) in message


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
    return port


# ---- `jixiao serve` for real staff: the page speaks to an employee, not a demo player ----

BACKTICKED = re.compile(r"`[^`]+`")


@pytest.mark.parametrize("lang", ["zh_CN", "en"])
async def test_the_served_page_addresses_a_real_employee(Session, org, core, lang):
    app = create_app(Session, personas=False, handle=core)
    async with local(app) as c:
        strings = (await c.get("/api/strings", params={"lang": lang})).json()["strings"]
    with i18n.using(lang):
        demo_words = page.page_strings(personas=True)
    first_screen = [strings[k] for k in ("pick_title", "pick_intro", "own_identity")]
    assert strings["pick_title"] != demo_words["pick_title"]  # no "who are you today?"
    assert "今天您以谁的身份体验" not in strings["pick_title"]
    assert all(strings[k] != demo_words[k] for k in ("pick_intro", "own_identity"))
    text = " ".join([*first_screen, strings["own_identity_note"]])
    assert ("HR" in text) or ("人力" in text)
    assert not BACKTICKED.search(" ".join(strings.values()))
    # No command to type either: neither the CLI's nor /start.
    assert not re.search(r"\bjixiao [a-z]|/start", " ".join(strings.values()))


async def test_the_demo_page_still_offers_people_to_play(client):
    strings = (await client.get("/api/strings", params={"lang": "en"})).json()["strings"]
    assert strings["pick_title"] == "Who are you today?"


async def test_an_unbound_visitor_binds_by_typing_just_the_code(Session, org, core):
    """The page tells employees to type their code, so the code alone binds."""
    app = create_app(Session, personas=False, handle=core)
    async with local(app) as c:
        uid = await user_id(c)
        await c.post("/api/message", json={"user_id": uid, "text": " k7q2-m9xd "})
        await c.post("/api/message", json={"user_id": uid, "text": "hello"})
        assert [i.text for i, _ in core.seen] == ["/start K7Q2M9XD", "hello"]
        with Session() as s, s.begin():
            s.add(
                ChatIdentity(
                    platform="web", external_id=uid, employee_id=org[0]["employee"], bound_at=NOW
                )
            )
        # Once bound, an eight-letter word is just a word, never a wrong code.
        await c.post("/api/message", json={"user_id": uid, "text": "answered"})
        assert core.seen[-1][0].text == "answered"


# ---- one language setting: the page's switch and the bot's "Language" ------------------


def bind_identity(Session, uid: str, employee_id: int) -> None:
    with Session() as s, s.begin():
        s.add(ChatIdentity(platform="web", external_id=uid, employee_id=employee_id, bound_at=NOW))


def stored_language(Session, employee_id: int) -> str | None:
    with Session() as s:
        employee = s.get(Employee, employee_id)
        assert employee is not None
        return employee.language


async def test_the_pages_switch_sets_the_bots_language_for_the_identity(Session, org):
    ids, _ = org
    async with local(create_app(Session)) as c:
        uid = await user_id(c)
        bind_identity(Session, uid, ids["employee"])
        res = await c.post("/api/language", json={"user_id": uid, "lang": "en"})
        assert res.status_code == 200
        assert res.json() == {"lang": "en", "note": "Language set to English."}
        assert stored_language(Session, ids["employee"]) == "en"
        # The bot now answers in English even to a page that still says Chinese.
        reply = await c.post("/api/message", json={"user_id": uid, "text": "help", "lang": "zh_CN"})
        assert reply.json()["lang"] == "en"
        back = await c.post("/api/language", json={"user_id": uid, "lang": "zh_CN"})
        assert back.json() == {"lang": "zh_CN", "note": "语言已设为中文。"}
        assert stored_language(Session, ids["employee"]) == "zh_CN"


async def test_the_bots_language_change_reaches_the_page(Session, org):
    ids, _ = org
    async with local(create_app(Session)) as c:
        uid = await user_id(c)
        bind_identity(Session, uid, ids["employee"])
        res = await c.post(
            "/api/message", json={"user_id": uid, "text": "/lang en", "lang": "zh_CN"}
        )
        assert res.status_code == 200
        assert res.json()["lang"] == "en"
        assert "Language set to English." in res.json()["replies"][0]["text"]
        # Polling says so too (a change made elsewhere, on Telegram, reaches the page).
        with Session() as s, s.begin():
            employee = s.get(Employee, ids["employee"])
            assert employee is not None
            employee.language = "zh_CN"
        inbox = await c.post("/api/inbox", json={"user_id": uid, "lang": "en"})
        assert inbox.json() == {"replies": [], "lang": "zh_CN"}


async def test_an_unbound_chat_keeps_the_pages_language_choice_for_the_bot(Session, org):
    async with local(create_app(Session)) as c:
        uid = await user_id(c)
        res = await c.post("/api/language", json={"user_id": uid, "lang": "en"})
        assert res.json()["lang"] == "en"
        reply = await c.post("/api/message", json={"user_id": uid, "text": "hi", "lang": "zh_CN"})
        assert reply.json()["lang"] == "en"
        with i18n.using("en"):
            from bot.chat import binding

            assert reply.json()["replies"][0]["text"] == binding.how_to_bind().text


async def test_nothing_is_stored_when_only_the_language_is_read(Session, org):
    from models import ChatState

    async with local(create_app(Session)) as c:
        uid = await user_id(c)
        inbox = await c.post("/api/inbox", json={"user_id": uid, "lang": "en"})
        assert inbox.json() == {"replies": [], "lang": "en"}
    with Session() as s:
        assert s.scalar(select(func.count()).select_from(ChatState)) == 0


@pytest.mark.parametrize(
    "body",
    [
        {"lang": "en"},
        {"user_id": "12345", "lang": "en"},
        {"user_id": "web-" + "0" * 32, "lang": "fr"},
        {"user_id": "web-" + "0" * 32},
    ],
)
async def test_a_malformed_language_choice_is_refused(client, body):
    assert (await client.post("/api/language", json=body)).status_code == 400


# ---- nothing secret in the logs ---------------------------------------------------------


class LeakyCore:
    """Fails the way a database error does: quoting what it was given."""

    def __call__(self, session, incoming: Incoming, now: dt.datetime) -> list[Reply]:
        raise RuntimeError(f"INSERT failed [parameters: ({incoming.user_id!r}, {incoming.text!r})]")


@pytest.mark.parametrize("text", ["/start K7Q2M9XD", "k7q2-m9xd"])
async def test_a_failed_step_logs_neither_the_identity_nor_the_text(Session, org, caplog, text):
    import hashlib
    import logging

    caplog.set_level(logging.DEBUG)
    async with local(create_app(Session, handle=LeakyCore())) as c:
        uid = await user_id(c)
        res = await c.post("/api/message", json={"user_id": uid, "text": text})
    assert res.status_code == 500
    logged = caplog.text
    assert "RuntimeError" in logged  # the failure itself is told
    assert "INSERT failed" in logged
    assert hashlib.sha256(uid.encode()).hexdigest()[:8] in logged
    assert " text " in logged  # the kind of message
    assert uid not in logged
    assert uid.removeprefix("web-") not in logged
    assert text not in logged
    assert "K7Q2M9XD" not in logged.upper()


async def test_a_poll_racing_the_chats_first_message_still_answers(client, monkeypatch):
    """Another tab's first message may be creating this chat's state as a poll reads it."""
    from sqlalchemy.exc import IntegrityError

    from handlers.web import app as web_app

    def racing(session, incoming, now):
        raise IntegrityError("INSERT INTO chat_states", {}, Exception("duplicate key"))

    monkeypatch.setattr(web_app, "spoken_language", racing)
    uid = await user_id(client)
    res = await client.post("/api/inbox", json={"user_id": uid, "lang": "en"})
    assert res.status_code == 200
    assert res.json() == {"replies": [], "lang": "en"}
