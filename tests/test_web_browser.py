"""The chat page in a real headless Chromium (Debian's, never a downloaded one), on a phone-
sized screen, against a uvicorn server on a free 127.0.0.1 port."""

from __future__ import annotations

import datetime as dt
import os
import re
import shutil
import socket
import struct
import threading
import time
import zlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from decimal import Decimal
from pathlib import Path

import pytest
import uvicorn
from playwright.sync_api import (
    Browser,
    Locator,
    Page,
    ViewportSize,
    expect,
    sync_playwright,
)
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session, sessionmaker
from starlette.applications import Starlette

from bot import i18n
from bot.chat.types import Button, Incoming, Kind, Reply
from handlers.web import create_app
from models import (
    Employee,
    Group,
    Indicator,
    IndicatorKind,
    Institution,
    Period,
    PeriodState,
    Result,
    ScoringTask,
    TaskState,
)
from models.db import make_engine, sessions

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
PHONE: ViewportSize = {"width": 375, "height": 760}
NOW = dt.datetime(2026, 12, 3, 2, 0, tzinfo=dt.UTC)


def png(width: int, height: int, rgb: tuple[int, int, int]) -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    row = b"\x00" + bytes(rgb) * width
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
        + chunk(b"IDAT", zlib.compress(row * height))
        + chunk(b"IEND", b"")
    )


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@contextmanager
def served(app: Starlette) -> Iterator[str]:
    """Run the app under uvicorn in a thread until the block ends; yields its URL."""
    port = free_port()
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not server.started:
        assert thread.is_alive(), "uvicorn did not start"
        assert time.monotonic() < deadline, "uvicorn took too long to start"
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=15)


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    if not os.path.exists(CHROMIUM):
        if os.environ.get("CI"):
            pytest.fail("CI must run the browser tests: apt-get install chromium")
        pytest.skip("Chromium is not installed (Debian: apt-get install chromium)")
    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.fixture
def phone(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(
        viewport=PHONE, device_scale_factor=2, is_mobile=True, has_touch=True, locale="zh-CN"
    )
    page = context.new_page()
    page.set_default_timeout(15_000)
    yield page
    context.close()


@pytest.fixture
def web_engine(tmp_path: Path, sqlite_template: Path) -> Iterator[Engine]:
    path = tmp_path / "web.db"
    shutil.copy(sqlite_template, path)
    engine = make_engine(f"sqlite:///{path}")
    yield engine
    engine.dispose()


@pytest.fixture
def db(web_engine: Engine) -> sessionmaker[Session]:
    return sessions(web_engine)


# ---- the page itself, with a scripted bot --------------------------------------------


class ScriptedBot:
    """A stand-in for the conversation core with just enough lines to exercise the page."""

    def __init__(self) -> None:
        self.seen: list[Incoming] = []

    def __call__(self, session: Session, incoming: Incoming, now: dt.datetime) -> list[Reply]:
        self.seen.append(incoming)
        if incoming.kind is Kind.OTHER:
            return [Reply(text="看不懂贴纸")]
        if incoming.kind is Kind.BUTTON:
            if incoming.payload == "step:2":
                return [
                    Reply(
                        text="第 2 项：客户满意度（权重 30%）",
                        buttons=[[Button("90", "v:90"), Button("80", "v:80")]],
                        edit=True,
                    )
                ]
            return [Reply(text=f"收到 {incoming.payload}", edit=True)]
        if incoming.text.startswith("/start "):
            return [
                Reply(
                    text="已绑定：李二",
                    buttons=[[Button("待评分", "step:2"), Button("我的成绩", "mine")]],
                )
            ]
        if incoming.text == "图":
            return [Reply(text="进度图", image=png(120, 60, (31, 111, 92)), image_name="p.png")]
        if incoming.text == "表":
            return [Reply(text="工资表", file=b"a,b\n", file_name="pay.csv")]
        return [Reply(text=f"你说：{incoming.text}")]


@pytest.fixture
def demo_org(db: sessionmaker[Session]) -> int:
    """The least a persona needs: one head of one institution."""
    with db() as s, s.begin():
        grp = Group(name="测试集团")
        inst = Institution(group=grp, name="一分公司")
        s.add_all([grp, inst])
        s.flush()
        head = Employee(group_id=grp.id, number="E001", name="王一", institution_id=inst.id)
        s.add(head)
        s.flush()
        inst.head_id = head.id
        return head.id


def test_the_page_is_a_phone_chat_with_bubbles_buttons_and_edits(
    phone: Page, db: sessionmaker[Session], demo_org: int, tmp_path: Path
) -> None:
    bot = ScriptedBot()
    app = create_app(db, handle=bot, clock=lambda: NOW, issue_code=lambda s, e, n: "ABCD2345")
    with served(app) as url:
        phone.goto(url)
        expect(phone.locator(".persona")).to_have_count(1)
        phone.locator(".persona", has_text="王一").click()

        # The bind code is shown and prefilled; Bind sends /start CODE.
        expect(phone.locator(".msg.note")).to_contain_text("ABCD2345")
        expect(phone.locator("#input")).to_have_value("/start ABCD2345")
        phone.locator(".msg.note button").click()
        expect(phone.locator(".msg.me").last).to_have_text("/start ABCD2345")
        expect(phone.locator(".msg.bot").last).to_contain_text("已绑定：李二")

        # A button's answer with edit=True replaces the message the button was on.
        bots_before = phone.locator(".msg.bot").count()
        phone.get_by_role("button", name="待评分").click()
        expect(phone.locator(".msg.bot").last).to_contain_text("第 2 项")
        assert phone.locator(".msg.bot").count() == bots_before
        expect(phone.get_by_text("已绑定：李二")).to_have_count(0)

        # What the user types is shown as text, never as markup.
        phone.locator("#input").fill("<b>粗体</b><img src=x onerror=alert(1)>")
        phone.locator("#input").press("Enter")
        expect(phone.locator(".msg.bot").last).to_contain_text("你说：<b>粗体</b>")
        assert phone.locator(".messages b, .messages img[src='x']").count() == 0

        phone.locator("#input").fill("图")
        phone.locator("#send").click()
        img = phone.locator(".msg.bot img").last
        expect(img).to_be_visible()
        assert (img.get_attribute("src") or "").startswith("data:image/png;base64,")
        assert img.evaluate("i => i.naturalWidth") == 120

        phone.locator("#input").fill("表")
        phone.locator("#send").click()
        link = phone.locator(".msg.bot a.file").last
        expect(link).to_have_attribute("download", "pay.csv")
        with phone.expect_download() as download:
            link.click()
        assert download.value.suggested_filename == "pay.csv"

        phone.locator("#sticker").click()
        expect(phone.locator(".msg.bot").last).to_have_text("看不懂贴纸")

        # The page fits a phone: nothing sticks out sideways.
        width = phone.evaluate("document.documentElement.scrollWidth")
        assert width <= PHONE["width"]
        phone.screenshot(path=str(tmp_path / "scripted.png"))

        # A reload keeps the conversation and the identity.
        phone.reload()
        expect(phone.locator(".msg.bot").last).to_have_text("看不懂贴纸")

    kinds = [i.kind for i in bot.seen]
    assert kinds == [Kind.TEXT, Kind.BUTTON, Kind.TEXT, Kind.TEXT, Kind.TEXT, Kind.OTHER]
    assert len({i.user_id for i in bot.seen}) == 1
    assert all(i.platform == "web" and i.language_code == "zh-CN" for i in bot.seen)


def test_the_language_toggle_switches_the_page_and_what_the_bot_is_told(
    phone: Page, db: sessionmaker[Session], demo_org: int
) -> None:
    bot = ScriptedBot()
    app = create_app(db, handle=bot, clock=lambda: NOW, issue_code=lambda s, e, n: "ABCD2345")
    with served(app) as url:
        phone.goto(url)
        expect(phone.locator("#lang")).to_have_text("English")
        phone.locator("#lang").click()
        expect(phone.locator("#lang")).to_have_text("中文")
        expect(phone.locator("#pick-title")).to_have_text("Who are you today?")
        expect(phone.locator(".persona .role")).to_have_text("Head of institution")
        phone.locator(".persona").click()
        expect(phone.locator("#send")).to_have_text("Send")
        phone.locator("#input").fill("hello")
        phone.locator("#input").press("Enter")
        expect(phone.locator(".msg.bot").last).to_have_text("你说：hello")
    assert bot.seen[-1].language_code == "en"


# ---- end to end: the real conversation core on the demo group --------------------------

CONFIRM = re.compile(r"确认|提交|Confirm|Submit")


def settle(page: Page, action: Callable[[], None]) -> None:
    """Do something that talks to the bot and wait until its answer is on the page."""
    with page.expect_response(lambda r: r.url.endswith("/api/message")):
        action()
    expect(page.locator(".msg.typing")).to_have_count(0)


def last_bot(page: Page) -> Locator:
    return page.locator(".msg.bot").last


def press(page: Page, label: str | re.Pattern[str]) -> None:
    button = page.locator(".msg.bot .keyboard button", has_text=label).last
    settle(page, button.click)


def say(page: Page, text: str) -> None:
    page.locator("#input").fill(text)
    settle(page, lambda: page.locator("#input").press("Enter"))


@pytest.fixture
def demo_db(web_engine: Engine, db: sessionmaker[Session]) -> sessionmaker[Session]:
    demo = pytest.importorskip("bot.demo", reason="bot/demo.py is not written yet")
    pytest.importorskip("bot.chat.dispatch", reason="the conversation core is not written yet")
    demo.prepare(web_engine, dt.datetime.now(dt.UTC), reset=True)
    return db


def a_valid_answer(ind: Indicator) -> str:
    """A score the form must accept without asking for a comment."""
    if ind.kind is IndicatorKind.RATING:
        return str(ind.levels[0][0])
    if ind.kind in (IndicatorKind.BONUS, IndicatorKind.DEDUCTION):
        return "0"
    span = ind.max_score - ind.min_score
    value = (ind.min_score + span * Decimal("0.85")).to_integral_value()
    if ind.comment_below is not None and value < ind.comment_below:
        value = ind.comment_below.to_integral_value(rounding="ROUND_CEILING")
    if value >= ind.max_score:
        value = ind.max_score - 1
    return str(value)


def test_a_scorer_binds_and_scores_one_person_then_an_employee_asks_about_pay(
    phone: Page, demo_db: sessionmaker[Session], tmp_path: Path
) -> None:
    with served(create_app(demo_db)) as url:
        phone.goto(url)
        phone.locator(".persona[data-role=scorer]").click()
        expect(phone.locator(".msg.note")).to_be_visible()
        settle(phone, phone.locator(".msg.note button").click)
        scorer_id = int(phone.evaluate("JSON.parse(localStorage['jixiao.web.v1']).current")[2:])

        with demo_db() as s:
            tasks = s.scalars(
                select(ScoringTask)
                .join(Period)
                .where(
                    ScoringTask.scorer_id == scorer_id,
                    Period.state == PeriodState.SCORING,
                    ScoringTask.state == TaskState.PENDING,
                )
            ).all()
            assert tasks, "the demo scorer has nobody left to score"
            names = {t.appraisee.name: t.id for t in tasks}
            indicators = list(tasks[0].period.scheme.indicators)

        press(phone, re.compile(r"待评分|评分|Score"))
        person = phone.locator(".msg.bot .keyboard button", has_text=re.compile("|".join(names)))
        label = person.first.inner_text()
        task_id = next(tid for name, tid in names.items() if name in label)
        settle(phone, person.first.click)

        answered = 0
        for _ in range(3 * len(indicators) + 5):
            if phone.locator(".msg.bot .keyboard button", has_text=CONFIRM).count():
                break
            text = last_bot(phone).inner_text()
            ind = next((i for i in indicators[answered:] if i.name in text), None)
            if ind is None:  # the form asks for a comment
                say(phone, "工作认真，表现稳定。")
                continue
            answer = a_valid_answer(ind)
            answered = indicators.index(ind) + 1
            if ind.kind is IndicatorKind.RATING:
                press(phone, answer)
            else:
                say(phone, answer)
        press(phone, CONFIRM)
        phone.screenshot(path=str(tmp_path / "scorer.png"))

        with demo_db() as s:
            task = s.get(ScoringTask, task_id)
            assert task is not None
            assert task.state is TaskState.SUBMITTED

        # Now an employee: the published result of the previous period and the pay formula.
        phone.locator("#back").click()
        phone.locator(".persona[data-role=employee]").click()
        settle(phone, phone.locator(".msg.note button").click)
        employee_id = int(phone.evaluate("JSON.parse(localStorage['jixiao.web.v1']).current")[2:])
        with demo_db() as s:
            result = s.scalars(
                select(Result)
                .join(Period)
                .where(
                    Result.employee_id == employee_id,
                    Period.state.in_([PeriodState.PUBLISHED, PeriodState.FINAL]),
                )
                .order_by(Period.starts_on.desc())
            ).first()
            assert result is not None
            label, pay = result.period.label, i18n.money(result.pay, "zh_CN")

        press(phone, re.compile(r"我的成绩|My score"))
        expect(phone.locator(".messages")).to_contain_text(label)
        say(phone, "为什么我这个月绩效工资这么少")
        expect(last_bot(phone)).to_contain_text(pay)
        assert phone.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
        phone.screenshot(path=str(tmp_path / "employee.png"))
