"""A small appraisal world built straight from the models, and a chat driver that checks a
dialogue as a table: what the user sent → what the bot showed."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal
from zoneinfo import ZoneInfo

from bot.appraisal.periods import new_period
from bot.appraisal.results import compute_period
from bot.chat.codes import hash_code
from bot.chat.dispatch import handle
from bot.infra.message import Incoming, Kind, Reply
from models import (
    BindCode,
    ChatIdentity,
    Department,
    Employee,
    GradeBand,
    Group,
    Indicator,
    IndicatorKind,
    Institution,
    Period,
    PeriodState,
    Role,
    RoleGrant,
    Scheme,
    ScoreEntry,
    ScorerRole,
    ScoringTask,
    TaskState,
)

SH = ZoneInfo("Asia/Shanghai")
NOW = dt.datetime(2026, 12, 3, 10, 0, tzinfo=SH)
D = Decimal


@dataclass
class World:
    group: Group
    inst: Institution
    other_inst: Institution
    scheme: Scheme
    head: Employee
    manager: Employee
    staff: list[Employee]
    hr: Employee
    outsider: Employee  # works in the other institution, and heads it
    period: Period  # 2026-11, open for scoring
    october: Period  # published
    september: Period  # published

    @property
    def zhang(self) -> Employee:
        return self.staff[0]

    def tasks(self, session) -> list[ScoringTask]:
        return list(
            session.query(ScoringTask)
            .filter_by(period_id=self.period.id, scorer_id=self.manager.id)
            .order_by(ScoringTask.id)
        )


def _scheme(group: Group) -> Scheme:
    scheme = Scheme(group_id=group.id, code="STD", name="标准方案", created_at=NOW)
    scheme.indicators = [
        Indicator(
            position=1,
            code="perf",
            name="业绩",
            kind=IndicatorKind.SCORE,
            weight=D(40),
            criteria="完成任务的比例",
            comment_below=D(60),
            comment_at_max=True,
        ),
        Indicator(position=2, code="quality", name="质量", kind=IndicatorKind.SCORE, weight=D(30)),
        Indicator(
            position=3,
            code="attitude",
            name="态度",
            kind=IndicatorKind.RATING,
            weight=D(30),
            max_score=D(100),
            levels=[["优秀", 100], ["良好", 80], ["合格", 60], ["不合格", 0]],
        ),
        Indicator(
            position=4, code="bonus", name="创新加分", kind=IndicatorKind.BONUS, max_score=D(5)
        ),
        Indicator(
            position=5,
            code="penalty",
            name="违纪扣分",
            kind=IndicatorKind.DEDUCTION,
            max_score=D(10),
        ),
    ]
    scheme.roles = [
        ScorerRole(position=1, code="manager", name="直接上级", weight=D(70)),
        ScorerRole(position=2, code="head", name="一把手", weight=D(30)),
    ]
    scheme.grades = [
        GradeBand(grade="A", label="优秀", min_score=D(90), coefficient=D("1.2")),
        GradeBand(grade="B", label="良好", min_score=D(80), coefficient=D(1)),
        GradeBand(grade="C", label="合格", min_score=D(60), coefficient=D("0.8")),
        GradeBand(grade="D", label="不合格", min_score=D(0), coefficient=D("0.5")),
    ]
    return scheme


def _period(session, w_group, scheme, label, state, deadline) -> Period:
    period = new_period(
        w_group.id,
        scheme.id,
        label,
        state=state,
        deadline=deadline,
        now=deadline - dt.timedelta(days=30),
    )
    session.add(period)
    session.flush()
    return period


def _scored(session, period, scorer, appraisee, role, values, comments=None):
    """A submitted task with its entries: values by indicator code."""
    task = ScoringTask(
        period_id=period.id,
        scorer_id=scorer.id,
        appraisee_id=appraisee.id,
        role_code=role,
        deadline=period.deadline,
        state=TaskState.SUBMITTED,
        submitted_at=period.deadline,
    )
    session.add(task)
    session.flush()
    inds = {i.code: i for i in period.scheme.indicators}
    for code, value in values.items():
        session.add(
            ScoreEntry(
                task_id=task.id,
                indicator_id=inds[code].id,
                value=D(value),
                comment=(comments or {}).get(code, ""),
                entered_by=scorer.id,
                entered_at=period.deadline,
            )
        )
    session.flush()
    return task


def build_world(session) -> World:
    """One group, two institutions, a scorer with three people to score in 2026-11, and
    published results for 2026-09 and 2026-10."""
    group = Group(name="测试集团")
    session.add(group)
    session.flush()
    inst = Institution(group_id=group.id, name="一分公司", pilot=True)
    other = Institution(group_id=group.id, name="二分公司")
    session.add_all([inst, other])
    session.flush()
    dept = Department(institution_id=inst.id, name="营业部", path="营业部")
    session.add(dept)
    scheme = _scheme(group)
    session.add(scheme)
    session.flush()

    def emp(number, name, institution=inst, manager=None, base="4000"):
        e = Employee(
            group_id=group.id,
            number=number,
            name=name,
            institution_id=institution.id,
            department_id=dept.id if institution is inst else None,
            manager_id=manager.id if manager else None,
            pay_base=D(base),
        )
        session.add(e)
        session.flush()
        return e

    head = emp("001", "王行长", base="9000")
    inst.head_id = head.id
    manager = emp("002", "李经理", manager=head, base="6000")
    staff = [emp(n, name, manager=manager) for n, name in (("003", "张三"), ("004", "李四"))]
    staff.append(emp("005", "赵六", manager=manager))
    hr = emp("006", "钱人事")
    session.add(RoleGrant(employee_id=hr.id, role=Role.HR, institution_id=None))
    outsider = emp("101", "孙行长", institution=other)
    other.head_id = outsider.id

    sep = _period(
        session,
        group,
        scheme,
        "2026-09",
        PeriodState.SCORING,
        dt.datetime(2026, 10, 8, 23, 59, tzinfo=SH),
    )
    oct_ = _period(
        session,
        group,
        scheme,
        "2026-10",
        PeriodState.SCORING,
        dt.datetime(2026, 11, 7, 23, 59, tzinfo=SH),
    )
    _scored(session, sep, manager, staff[0], "manager", {"perf": 80, "quality": 80, "attitude": 80})
    _scored(session, sep, manager, staff[1], "manager", {"perf": 70, "quality": 70, "attitude": 60})
    _scored(
        session,
        oct_,
        manager,
        staff[0],
        "manager",
        {"perf": 95, "quality": 85, "attitude": 100, "bonus": 2, "penalty": 1},
        {"perf": "业绩突出 <b>加粗</b>", "bonus": "提出新流程"},
    )
    _scored(session, oct_, head, staff[0], "head", {"perf": 90})
    _scored(
        session,
        oct_,
        manager,
        staff[1],
        "manager",
        {"perf": 50, "quality": 60, "attitude": 60},
        {"perf": "任务未完成"},
    )
    for period in (sep, oct_):
        compute_period(session, NOW, period, actor="test")
        period.state = PeriodState.PUBLISHED
        period.published_at = period.deadline

    nov = _period(
        session,
        group,
        scheme,
        "2026-11",
        PeriodState.SCORING,
        dt.datetime(2026, 12, 7, 23, 59, tzinfo=SH),
    )
    for person in staff:
        session.add(
            ScoringTask(
                period_id=nov.id,
                scorer_id=manager.id,
                appraisee_id=person.id,
                role_code="manager",
                deadline=nov.deadline,
            )
        )
    session.flush()
    return World(group, inst, other, scheme, head, manager, staff, hr, outsider, nov, oct_, sep)


def bind(session, employee, user_id=None, platform="web", language=None) -> str:
    """Bind a chat user to the employee directly; returns the user id."""
    user_id = user_id or f"u{employee.number}"
    session.add(
        ChatIdentity(platform=platform, external_id=user_id, employee_id=employee.id, bound_at=NOW)
    )
    if language:
        employee.language = language
    session.flush()
    return user_id


def issue_code(session, employee, code, now=NOW, ttl=dt.timedelta(hours=72)) -> BindCode:
    bc = BindCode(
        employee_id=employee.id, code_hash=hash_code(code), created_at=now, expires_at=now + ttl
    )
    session.add(bc)
    session.flush()
    return bc


@dataclass
class Tap:
    """Tap the button whose label contains this text, in the latest replies."""

    label: str


@dataclass
class Other:
    """A sticker, a photo: anything but text or a button."""


@dataclass
class Chat:
    """One user talking to the bot, keeping the transcript and every button shown."""

    session: object
    user_id: str
    now: dt.datetime = NOW
    platform: str = "web"
    private: bool = True
    language_code: str | None = None
    last: list[Reply] = field(default_factory=list)
    transcript: list[str] = field(default_factory=list)
    payloads: list[str] = field(default_factory=list)
    shown: list[str] = field(default_factory=list)  # what the bot showed, nothing said

    def incoming(self, said) -> Incoming:
        base = {
            "platform": self.platform,
            "user_id": self.user_id,
            "chat_id": self.user_id,
            "private": self.private,
            "language_code": self.language_code,
        }
        if isinstance(said, Incoming):
            return said
        if isinstance(said, Tap):
            return Incoming(**base, kind=Kind.BUTTON, payload=self.payload(said.label))
        if isinstance(said, Other):
            return Incoming(**base, kind=Kind.OTHER)
        return Incoming(**base, text=said)

    def payload(self, label: str) -> str:
        for reply in reversed(self.last):
            for row in reply.buttons:
                for b in row:
                    if label in b.label:
                        return b.payload
        shown = [b.label for r in self.last for row in r.buttons for b in row]
        raise AssertionError(f"no button {label!r} among {shown}")

    def labels(self) -> list[str]:
        return [b.label for r in self.last for row in r.buttons for b in row]

    def say(self, said) -> str:
        self.last = handle(self.session, self.incoming(said), self.now)
        self.session.flush()
        self.payloads.extend(b.payload for r in self.last for row in r.buttons for b in row)
        text = "\n".join(r.text for r in self.last)
        shown = " ".join(f"[{b.label}]" for r in self.last for row in r.buttons for b in row)
        self.transcript.append(f"> {said}\n{text}\n{shown}")
        self.shown.append(f"{text}\n{shown}")
        return text

    def text(self) -> str:
        return "\n".join(self.transcript)


def verify_dialog(chat: Chat, steps) -> None:
    """Each step: what the user sends → text(s) the reply must contain. A text starting
    with "!" must not appear."""
    for said, expected in steps:
        got = chat.say(said)
        shown = got + "\n" + " ".join(chat.labels())
        for want in (expected,) if isinstance(expected, str) else expected:
            if want.startswith("!"):
                assert want[1:] not in shown, f"after {said!r}: {want[1:]!r} shown in\n{shown}"
            else:
                assert want in shown, f"after {said!r}: {want!r} not in\n{shown}"


# A few words the tests look for, in each language.
WORDS = {
    "zh_CN": {
        "to_score": "待评分",
        "confirm": "确认提交",
        "skip": "跳过",
        "back": "上一步",
        "keep": "保持",
        "leave": "保存并离开",
        "edit": "修改",
        "next": "下一位",
        "list": "待评分名单",
        "menu": "菜单",
        "my": "我的成绩",
        "why": "为什么是这个绩效工资",
        "history": "历史",
        "language": "语言",
        "progress": "今日进度",
        "status": "考核状态",
        "item": "第 {n}/5 项",
        "range": "超出允许范围",
        "not_number": "不是数字",
        "type_number": "请输入数字",
        "places": "两位小数",
        "comment": "必须填写评语",
        "comment_empty": "评语为空",
        "comment_long": "字以内",
        "summary": "汇总",
        "submitted": "已提交：",
        "already": "已提交过",
        "privately": "私下回复",
        "sorry": "抱歉",
        "bind": "/start",
        "welcome": "欢迎",
        # Wrong, used and expired codes get one answer: it tells a guesser nothing.
        "used": "此绑定码无效",
        "expired": "此绑定码无效",
        "wrong": "此绑定码无效",
        "locked": "错误次数过多",
        "saved": "已保存",
        "nothing_saved": "未保存任何分数",
        "earlier_step": "之前的步骤",
        "unreadable": "只能识别文字和按钮",
        "closed": "评分未开放",
        "not_published": "尚未公示",
        "own_pay": "只能解释您本人",
        "formula": "绩效工资 = 基数",
        "coefficient": "系数",
        "highest": "最高等级",
        "since": "与 2026-09 相比",
        "gap": "再多",
        "total": "总分",
        "lost": "失",
        "not_understood": "没有理解",
        "choose_language": "请选择语言",
        "only_heads": "仅向机构负责人",
        "only_hr": "仅向人力资源部",
        "everyone": "全部评分已完成",
        "needs_answer": "还需要填写",
        "cannot_skip": "不能跳过",
        "levels": "不是可选等级",
    },
    "en": {
        "to_score": "To score",
        "confirm": "Confirm",
        "skip": "Skip",
        "back": "Back",
        "keep": "Keep",
        "leave": "Save and leave",
        "edit": "Edit",
        "next": "Next person",
        "list": "People to score",
        "menu": "Menu",
        "my": "My score",
        "why": "Why is my pay this amount",
        "history": "History",
        "language": "Language",
        "progress": "Today's progress",
        "status": "Appraisal status",
        "item": "item {n}/5",
        "range": "outside the allowed range",
        "not_number": "is not a number",
        "type_number": "Please type a number",
        "places": "two decimal places",
        "comment": "A comment is required",
        "comment_empty": "The comment is empty",
        "comment_long": "keep it under",
        "summary": "summary",
        "submitted": "Submitted:",
        "already": "already submitted",
        "privately": "I'll reply privately",
        "sorry": "Sorry",
        "bind": "/start",
        "welcome": "Welcome",
        "used": "This code does not work",
        "expired": "This code does not work",
        "wrong": "This code does not work",
        "locked": "Too many wrong codes",
        "saved": "Saved",
        "nothing_saved": "Nothing was saved",
        "earlier_step": "earlier step",
        "unreadable": "only text and buttons",
        "closed": "is not open",
        "not_published": "not published yet",
        "own_pay": "only explain your own pay",
        "formula": "Performance pay = base",
        "coefficient": "coefficient",
        "highest": "highest grade",
        "since": "Since 2026-09",
        "gap": "points more would reach it",
        "total": "total",
        "lost": "lost",
        "not_understood": "did not understand",
        "choose_language": "Choose your language",
        "only_heads": "heads only",
        "only_hr": "HR only",
        "everyone": "Everyone is scored",
        "needs_answer": "still needs an answer",
        "cannot_skip": "cannot be skipped",
        "levels": "not one of the levels",
    },
}


def money(amount: str, lang: str) -> str:
    return ("¥" if lang == "zh_CN" else "CN¥") + amount
