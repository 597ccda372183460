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

from bot.infra import i18n
from bot.infra.message import Button, Incoming, Kind, Reply
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
NARROW_PHONE: ViewportSize = {"width": 360, "height": 640}
MARKS = "✅已完成✏️草稿⬜未开始"
LONG_TEXT = "绩效工资" * 80 + "\n" + "9" * 300 + "\nhttps://example.invalid/" + "a/" * 100
LONG_BUTTONS = [
    [Button("✅ 张三（直接上级）", "a"), Button("✏️ 李四（机构负责人）", "b")],
    [Button("优秀", "1"), Button("良好", "2"), Button("合格", "3"), Button("基本合格", "4")],
    [Button("‹ 上一页", "p"), Button("更多 ›", "n")],
]


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
        if incoming.text == "标记":  # the task marks of bot/chat/tasks.py, no space between
            return [Reply(text=MARKS)]
        if incoming.text == "长":
            return [Reply(text=LONG_TEXT, buttons=LONG_BUTTONS)]
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
    demo = pytest.importorskip(
        "bot.cli.demo_data", reason="bot/cli/demo_data.py is not written yet"
    )
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


# ---- a fresh machine, a narrow phone, and the page's own buttons -----------------------


def bound(page: Page, url: str) -> None:
    """Open the page, pick the one persona and bind: the scripted bot shows its menu."""
    page.goto(url)
    page.locator(".persona", has_text="王一").click()
    page.locator(".msg.note button").click()
    expect(page.locator(".msg.bot").last).to_contain_text("已绑定：李二")


def fonts_used(page: Page, selector: str) -> list[dict[str, object]]:
    """The fonts Chromium really drew a node's text with (DevTools' "Rendered Fonts")."""
    cdp = page.context.new_cdp_session(page)
    cdp.send("DOM.enable")
    cdp.send("CSS.enable")
    root = cdp.send("DOM.getDocument", {"depth": -1})["root"]["nodeId"]
    node = cdp.send("DOM.querySelector", {"nodeId": root, "selector": selector})["nodeId"]
    fonts: list[dict[str, object]] = cdp.send("CSS.getPlatformFontsForNode", {"nodeId": node})[
        "fonts"
    ]
    cdp.detach()
    return fonts


def test_chinese_and_the_task_marks_are_drawn_with_the_shipped_fonts(
    phone: Page, db: sessionmaker[Session], demo_org: int, tmp_path: Path
) -> None:
    """This machine has no CJK and no emoji font (as a fresh one): without the page's
    own fonts every character below is drawn as a box by some Latin font."""
    fonts = []
    phone.on(
        "response",
        lambda r: (
            fonts.append((r.status, r.headers.get("content-type"), r.url))
            if "/fonts/" in r.url
            else None
        ),
    )
    app = create_app(db, handle=ScriptedBot(), clock=lambda: NOW, issue_code=lambda *a: "ABCD2345")
    with served(app) as url:
        bound(phone, url)
        phone.locator("#input").fill("标记")
        phone.locator("#input").press("Enter")
        expect(phone.locator(".msg.bot").last).to_have_text(MARKS)
        phone.evaluate("document.fonts.ready")
        assert phone.evaluate("document.fonts.check('16px \"Jixiao Sans\"', '绩效')")
        loaded = phone.evaluate(
            "[...document.fonts].filter(f => f.status === 'loaded').map(f => f.family)"
        )
        assert {"Jixiao Sans", "Jixiao Marks"} <= {f.strip('"') for f in loaded}
        bubble = fonts_used(phone, ".msg.bot:last-child .bubble")
        families = {str(f["familyName"]) for f in bubble}
        assert families <= {"Jixiao Sans", "Jixiao Marks"}, bubble
        assert all(f["isCustomFont"] for f in bubble), bubble
        # The page's own labels too: the send button, the language pill, the header.
        for selector in ("#send", "#clear", ".msg.bot .keyboard button"):
            used = fonts_used(phone, selector)
            assert {str(f["familyName"]) for f in used} == {"Jixiao Sans"}, (selector, used)
        phone.locator("#sticker").click()
        expect(phone.locator(".msg.me .sticker-sent")).to_have_count(1)
        for selector in ("#sticker", ".sticker-sent"):
            used = fonts_used(phone, selector)
            assert {str(f["familyName"]) for f in used} == {"Jixiao Marks"}, (selector, used)
        phone.screenshot(path=str(tmp_path / "fonts.png"))
    assert {(status, kind) for status, kind, _url in fonts} == {(200, "font/woff")}
    assert len(fonts) == 2


def test_clearing_keeps_the_buttons_in_force(
    phone: Page, db: sessionmaker[Session], demo_org: int
) -> None:
    bot = ScriptedBot()
    app = create_app(db, handle=bot, clock=lambda: NOW, issue_code=lambda *a: "ABCD2345")
    with served(app) as url:
        bound(phone, url)
        phone.locator("#input").fill("你好")
        phone.locator("#input").press("Enter")
        expect(phone.locator(".msg.bot").last).to_have_text("你说：你好")
        phone.locator("#clear").click()
        # The words are gone; the menu the bot last showed is still there, and works.
        expect(phone.locator(".msg")).to_have_count(1)
        expect(phone.locator(".msg.bot .keyboard button")).to_have_count(2)
        phone.get_by_role("button", name="待评分").click()
        expect(phone.locator(".msg.bot").last).to_contain_text("第 2 项")
        expect(phone.locator(".msg")).to_have_count(1)
        # After a reload too.
        phone.reload()
        expect(phone.locator(".msg")).to_have_count(1)
        expect(phone.locator(".msg.bot .keyboard button")).to_have_count(2)
    assert [i.payload for i in bot.seen if i.kind is Kind.BUTTON] == ["step:2"]


def test_no_request_of_the_page_fails(
    phone: Page, db: sessionmaker[Session], demo_org: int
) -> None:
    failed: list[str] = []
    phone.on(
        "response", lambda r: failed.append(f"{r.status} {r.url}") if r.status >= 400 else None
    )
    app = create_app(db, handle=ScriptedBot(), clock=lambda: NOW, issue_code=lambda *a: "ABCD2345")
    with served(app) as url:
        bound(phone, url)
        icon = phone.evaluate("document.querySelector('link[rel=icon]').href")
        assert phone.request.get(icon).status == 200
        assert phone.request.get(url + "/favicon.ico").status == 200
    assert failed == []


def inside(box: dict[str, float] | None, width: float) -> bool:
    return box is not None and box["x"] >= 0 and box["x"] + box["width"] <= width + 0.5


def test_a_narrow_phone_cuts_nothing_off_and_every_button_is_tappable(
    browser: Browser, db: sessionmaker[Session], demo_org: int, tmp_path: Path
) -> None:
    context = browser.new_context(
        viewport=NARROW_PHONE, device_scale_factor=3, is_mobile=True, has_touch=True, locale="zh-CN"
    )
    page = context.new_page()
    page.set_default_timeout(15_000)
    width = NARROW_PHONE["width"]
    with db() as s, s.begin():
        head = s.get(Employee, demo_org)
        assert head is not None
        head.name = "欧阳·阿卜杜热合曼·买买提明"  # a long name in the header
    app = create_app(db, handle=ScriptedBot(), clock=lambda: NOW, issue_code=lambda *a: "ABCD2345")
    try:
        with served(app) as url:
            page.goto(url)
            page.locator(".persona").click()
            page.locator(".msg.note button").click()
            expect(page.locator(".msg.bot").last).to_contain_text("已绑定：李二")
            page.locator("#input").fill("长")
            page.locator("#input").press("Enter")
            expect(page.locator(".msg.bot .keyboard")).to_have_count(2)
            page.screenshot(path=str(tmp_path / "narrow.png"))

            assert page.evaluate("document.documentElement.scrollWidth") <= width
            # Long words, numbers and links wrap inside their bubble.
            for bubble in page.locator(".msg .bubble").all():
                assert inside(bubble.bounding_box(), width)
            # Every control is on screen, big enough for a thumb, and shows its whole label.
            controls = page.locator(
                "header button:visible, .keyboard button, .composer button, .note button"
            ).all()
            assert len(controls) >= 13
            for control in controls:
                box = control.bounding_box()
                label = control.inner_text() or control.get_attribute("aria-label")
                assert inside(box, width), label
                assert box is not None
                assert box["height"] >= 32, (label, box)
                assert box["width"] >= 32, (label, box)
                assert control.evaluate("b => b.scrollWidth <= b.clientWidth + 1"), label
            # A short message's buttons still get the width of a message, not of its text.
            for keyboard in page.locator(".keyboard").all():
                box = keyboard.bounding_box()
                assert box is not None
                assert box["width"] >= 0.8 * width, box
            # The header's title gives way to its buttons rather than pushing them off.
            title = page.locator("#title").bounding_box()
            lang = page.locator("#lang").bounding_box()
            assert title is not None
            assert lang is not None
            assert title["x"] + title["width"] <= lang["x"]
            assert page.locator("#title").evaluate(
                "t => t.scrollWidth <= t.clientWidth || getComputedStyle(t).overflow === 'hidden'"
            ), "the name runs over the header's buttons"
            # The message box stays usable.
            composer = page.locator("#input").bounding_box()
            assert composer is not None
            assert composer["width"] >= 150
    finally:
        context.close()


def test_the_pages_language_and_the_bots_are_one_setting(
    phone: Page, db: sessionmaker[Session], demo_org: int
) -> None:
    """The real conversation core: the page's switch changes the bot's language, and the
    bot's own "Language" button changes the page's."""
    pytest.importorskip("bot.chat.dispatch")
    with served(create_app(db)) as url:
        phone.goto(url)
        phone.locator(".persona").click()
        settle(phone, phone.locator(".msg.note button").click)
        expect(last_bot(phone)).to_contain_text("王一")
        expect(phone.locator("#send")).to_have_text("发送")

        # The page's switch: the page is in English, and so is the bot.
        with phone.expect_response(lambda r: r.url.endswith("/api/language")):
            phone.locator("#lang").click()
        expect(phone.locator("#send")).to_have_text("Send")
        expect(phone.locator(".msg.note").last).to_have_text("Language set to English.")
        with db() as s:
            head = s.get(Employee, demo_org)
            assert head is not None
            assert head.language == "en"
        say(phone, "menu")
        expect(phone.locator(".msg.bot .keyboard button", has_text="Language").last).to_be_visible()

        # The bot's "Language" button: the page follows.
        press(phone, "Language")
        press(phone, "中文")
        expect(phone.locator("#send")).to_have_text("发送")
        expect(phone.locator("#lang")).to_have_text("English")
        expect(last_bot(phone)).to_contain_text("语言已设为中文")
        phone.reload()
        expect(phone.locator("#send")).to_have_text("发送")
