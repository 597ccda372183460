"""Heads, group leadership and HR in chat: on demand, what the 09:00 digest shows (rank,
overdue scorers, the one-tap reminder, the chart); every institution's rank for
leadership; what it takes to export the pay sheet for HR."""

from __future__ import annotations

import asyncio
import datetime as dt

import pytest
from sqlalchemy import func, select

from bot.infra.i18n import using
from bot.notify.digest import build as build_digest
from bot.notify.digest import facts
from handlers.telegram.bot import build_application, set_commands
from models import (
    ChatIdentity,
    OutboxMessage,
    Result,
    Role,
    RoleGrant,
    ScoringTask,
    TaskState,
)
from tests.chat_helpers import SH, WORDS, Chat, Tap, bind, build_world, issue_code, verify_dialog
from tests.fakes.telegram import FakeBotAPI
from tests.test_telegram_chat import Telegram

LATE = dt.datetime(2026, 12, 9, 9, 30, tzinfo=SH)  # a Wednesday, two days past the deadline
PNG = b"\x89PNG"

PROGRESS_QUESTIONS = {
    "zh_CN": ["今日进度", "今天的进度怎么样", "进度", "排名"],
    "en": ["how are we doing", "progress", "ranking"],
}


@pytest.fixture(params=["zh_CN", "en"])
def lang(request):
    return request.param


@pytest.fixture
def w(session):
    return build_world(session)


def _ahead(session, w):
    """二分公司 scores its one appraisee: 100 %, ahead of 一分公司's 0/3."""
    session.add(
        ScoringTask(
            period_id=w.period.id,
            scorer_id=w.outsider.id,
            appraisee_id=w.outsider.id,
            role_code="manager",
            deadline=w.period.deadline,
            state=TaskState.SUBMITTED,
            submitted_at=LATE - dt.timedelta(days=3),
        )
    )
    session.flush()


def _pushed_to(session, employee):
    return session.scalars(
        select(OutboxMessage).where(OutboxMessage.employee_id == employee.id)
    ).all()


def test_a_heads_progress_on_demand_is_the_digest_with_its_button_and_chart(session, w, lang):
    _ahead(session, w)
    head = Chat(session, bind(session, w.head, language=lang), now=LATE)
    with using(lang):
        digest = build_digest(session, w.inst, LATE, facts(session, w.group.id, LATE))
    assert digest is not None
    remind = "一键提醒逾期人员" if lang == "zh_CN" else "Remind all overdue"
    for question in PROGRESS_QUESTIONS[lang]:
        text = head.say(question)
        # The digest's own lines: completion, rank, overdue scorers, departments.
        assert digest.text in text, (question, text)
        assert w.manager.name in text
        assert "营业部" in text
        assert "二分公司" not in text  # a head sees her own standing, not another's figures
        assert ("再提交 3 份即可升至第 1 名" if lang == "zh_CN" else "3 more submitted") in text
        assert any(remind in label for label in head.labels()), head.labels()
        assert head.last[0].image is not None
        assert head.last[0].image.startswith(PNG)
    # The button in the answer is the digest's one tap: the overdue scorer gets a reminder.
    bind(session, w.manager)
    head.say(Tap(remind))
    assert any(w.head.name in m.content["text"] for m in _pushed_to(session, w.manager))


def test_on_slack_the_progress_comes_with_its_chart_too(session, w):
    head = Chat(session, bind(session, w.head, platform="slack"), now=LATE, platform="slack")
    text = head.say("今天的进度怎么样")
    assert w.manager.name in text
    assert head.last[0].image is not None
    assert head.last[0].image.startswith(b"\x89PNG")


def test_remind_the_people_behind_lists_them_and_asks_for_the_tap(session, w, lang):
    head = Chat(session, bind(session, w.head, language=lang), now=LATE)
    ask = "提醒未完成的人" if lang == "zh_CN" else "remind"
    unreachable = "无法通过聊天联系" if lang == "zh_CN" else "cannot be reached"
    text = head.say(ask)
    assert w.manager.name in text
    assert unreachable in text
    assert _pushed_to(session, w.manager) == []  # typing alone sends nothing
    bind(session, w.manager)
    assert unreachable not in head.say(ask)
    head.say(Tap("提醒" if lang == "zh_CN" else "Remind"))
    assert len(_pushed_to(session, w.manager)) == 1


def test_remind_is_for_heads(session, w):
    zhang = Chat(session, bind(session, w.zhang), now=LATE)
    text = zhang.say("提醒未完成的人")
    assert "机构负责人" in text
    assert w.manager.name not in text


def test_leadership_compares_every_institution_by_button_and_by_question(session, w, lang):
    _ahead(session, w)
    leader = w.staff[2]
    session.add(RoleGrant(employee_id=leader.id, role=Role.LEADERSHIP, institution_id=None))
    chat = Chat(session, bind(session, leader, language=lang), now=LATE)
    button = "比较各机构的排名" if lang == "zh_CN" else "Compare institutions' ranking"
    chat.say("/menu")
    assert button in chat.labels()
    for said in (Tap(button), "比较各机构的排名", "ranking", "/ranking"):
        text = chat.say(said)
        assert "1. 二分公司 · 100%" in text, (said, text)
        assert "2. 一分公司 · 0%" in text, (said, text)
        assert chat.last[0].image is not None
        assert chat.last[0].image.startswith(PNG)


def test_the_ranking_of_institutions_is_not_for_everyone(session, w, lang):
    zhang = Chat(session, bind(session, w.zhang, language=lang), now=LATE)
    text = zhang.say("比较各机构的排名")
    assert "二分公司" not in text
    assert "一分公司" not in text
    assert ("集团领导" if lang == "zh_CN" else "group leadership") in text


def test_hr_asking_for_the_pay_sheet_gets_its_state_and_the_command(session, w, lang):
    hr = Chat(session, bind(session, w.hr, language=lang), now=LATE)
    with_result = session.scalar(
        select(func.count(Result.id)).where(Result.period_id == w.october.id)
    )
    with_result_text = (
        f"{with_result} 人有金额" if lang == "zh_CN" else f"{with_result} people with an amount"
    )
    button = "导出工资表" if lang == "zh_CN" else "Export the pay sheet"
    hr.say("/menu")
    assert button in hr.labels()
    for said in ("导出工资表", "工资表", "export the pay sheet", "payroll", Tap(button)):
        if isinstance(said, Tap):
            hr.say("/menu")
        text = hr.say(said)
        assert "jixiao export pay 2026-10 --format xlsx" in text, (said, text)
        assert with_result_text in text, (said, text)
        assert "2026-11" in text  # the newest period, still being scored
        assert w.staff[2].name in text  # who has no amount is named, as the export does
        assert "¥" not in text  # not HR's own pay explanation


def test_an_employee_asking_for_a_payslip_gets_their_own_pay(session, w):
    zhang = Chat(session, bind(session, w.zhang), now=LATE)
    text = zhang.say("我的工资单")
    assert "¥" in text
    assert "jixiao" not in text


def test_hr_of_one_institution_is_told_the_command_for_it(session, w):
    local_hr = w.staff[1]
    session.add(RoleGrant(employee_id=local_hr.id, role=Role.HR, institution_id=w.inst.id))
    text = Chat(session, bind(session, local_hr), now=LATE).say("导出工资表")
    assert "jixiao export pay 2026-10 --format xlsx --institution 一分公司" in text


def test_a_scorer_asking_how_it_is_going_gets_their_own_list(session, w):
    manager = Chat(session, bind(session, w.manager), now=LATE)
    manager.say("进度怎么样")
    assert any(w.zhang.name in label for label in manager.labels())


def test_progress_words_in_the_menu_of_each_role(session, w):
    words = WORDS["zh_CN"]
    verify_dialog(
        Chat(session, bind(session, w.hr), now=LATE),
        [("/menu", [words["status"], "导出工资表", "!比较各机构的排名"])],
    )


def test_telegram_lists_progress_ranking_and_status_in_its_command_menu(Session):
    api = FakeBotAPI(per_chat_interval=0.0).start()
    try:
        app = build_application("123:TEST", Session, base_url=api.base_url)

        async def go():
            async with app:
                await set_commands(app)

        asyncio.run(go())
        calls = [s for s in api.sent if s.method == "setMyCommands"]
        for call in calls:
            names = [c["command"] for c in call.params["commands"]]
            assert {"progress", "status", "ranking"} <= set(names), names
        chinese = next(c for c in calls if c.params.get("language_code") == "zh")
        about = {c["command"]: c["description"] for c in chinese.params["commands"]}
        assert "一把手" in about["progress"]
        assert "人力" in about["status"]
    finally:
        api.stop()


def test_on_telegram_the_heads_progress_comes_with_the_chart_as_a_photo(Session):
    api = FakeBotAPI(per_chat_interval=0.0).start()
    try:
        with Session() as s, s.begin():
            w = build_world(s)
            issue_code(s, w.head, "H3ADC0DE", now=LATE)
        app = build_application("123:TEST", Session, base_url=api.base_url, clock=lambda: LATE)
        tg = Telegram(app, api, 9001)
        tg.send("/start H3ADC0DE")
        sent = tg.send("今天的进度怎么样")
        assert [s.method for s in sent if s.method in ("sendPhoto", "sendMessage")].count(
            "sendPhoto"
        ) == 1
        text = "\n".join(str(s.params.get("text", "")) for s in sent)
        assert "李经理" in text
        with Session() as s:
            assert s.scalar(
                select(ChatIdentity.employee_id).where(ChatIdentity.external_id == "9001")
            )
    finally:
        api.stop()


def test_the_command_hr_is_given_writes_the_pay_sheet(tmp_path):
    """The command in the chat's answer runs as given and writes the period it names."""
    import shlex

    from typer.testing import CliRunner

    from bot.cli.main import app
    from models.db import make_engine, sessions

    url = f"sqlite:///{tmp_path}/x.db"
    runner = CliRunner()
    assert (
        runner.invoke(app, ["--database-url", url, "demo-data", "--employees", "20"]).exit_code == 0
    )
    engine = make_engine(url)
    try:
        with sessions(engine)() as s, s.begin():
            grant = s.scalars(
                select(RoleGrant).where(
                    RoleGrant.role == Role.HR, RoleGrant.institution_id.is_(None)
                )
            ).first()
            assert grant is not None
            hr = grant.employee
            assert hr is not None
            text = Chat(s, bind(s, hr, user_id="hr-web"), now=dt.datetime.now(dt.UTC)).say(
                "导出工资表"
            )
    finally:
        engine.dispose()
    line = next(x for x in text.splitlines() if x.startswith("jixiao export pay "))
    out = tmp_path / "sheet.xlsx"
    args = shlex.split(line)[1:]
    result = runner.invoke(app, ["--database-url", url, *args, "--output", str(out)])
    assert result.exit_code in (0, 3), result.output  # 3: written, some without an amount
    assert out.stat().st_size > 0
