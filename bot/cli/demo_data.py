"""A believable fictional group to try Jixiao on: people, a scheme, last month final,
this month open for scoring.

Everything goes through the real domain paths (opening, computing, publishing and
finalizing periods); only the bulk of rows (people, scores) is written with set-based
inserts, so the same generator builds 60 people for a demo or 100,000 for a benchmark.
It is deterministic for a given seed and `now`.

Running it again keeps the demo group as it is (idempotent); `reset=True` rebuilds it.
It refuses to touch a database that holds any other group.
"""

from __future__ import annotations

import datetime as dt
import random
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Engine, delete, func, insert, select, update
from sqlalchemy.orm import Session

from bot.appraisal.audit import record, record_many
from bot.appraisal.periods import close_period, finalize_period, open_period, publish_period
from bot.appraisal.results import compute_period
from bot.infra.errors import Refused
from bot.infra.i18n import _
from models import (
    Base,
    Department,
    Employee,
    GradeBand,
    Group,
    Indicator,
    IndicatorKind,
    Institution,
    Period,
    PeriodState,
    Result,
    Role,
    RoleGrant,
    Scheme,
    ScoreEntry,
    ScorerRole,
    ScoringTask,
    TaskState,
)
from models.db import sessions

DEMO_GROUP = "鸿远集团"
SCHEME_CODE = "STD"
TZ = ZoneInfo("Asia/Shanghai")
BATCH = 5000
CENT = Decimal("0.01")

SURNAMES = (
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯"
    "邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈"
)
GIVEN = (
    "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超兰霞平刚桂英华建国志红玉梅晓燕鹏飞海波宇"
    "浩然子涵欣怡思远嘉怡佳琪俊杰文博雨萱一鸣晨阳雅婷振华立新春雷秋月冬梅"
)
CITIES = (
    "北京",
    "上海",
    "广州",
    "深圳",
    "杭州",
    "南京",
    "成都",
    "武汉",
    "西安",
    "苏州",
    "天津",
    "重庆",
    "长沙",
    "郑州",
    "青岛",
    "宁波",
    "合肥",
    "厦门",
    "福州",
    "济南",
    "沈阳",
    "大连",
    "昆明",
    "南昌",
    "贵阳",
    "南宁",
    "太原",
    "石家庄",
    "哈尔滨",
    "长春",
    "兰州",
    "乌鲁木齐",
    "呼和浩特",
    "海口",
    "银川",
    "西宁",
    "拉萨",
    "无锡",
    "佛山",
    "东莞",
)
ORDINALS = "一二三四五六七八九十"
HQ = "集团本部"
LEADERS = "领导班子"
# (path, what its staff are called); parents come before their children.
HQ_DEPARTMENTS = (
    ("人力资源部", "人事专员"),
    ("办公室", "文秘"),
    ("财务部", "会计"),
    ("审计部", "审计员"),
    ("战略发展部", "战略分析师"),
)
BRANCH_DEPARTMENTS = (
    ("综合管理部", "行政专员"),
    ("市场营销部", "客户经理"),
    ("运营管理部", "运营专员"),
    ("市场营销部/客户一组", "客户经理"),
    ("运营管理部/柜面组", "柜员"),
    ("风险合规部", "合规专员"),
    ("财务部", "会计"),
    ("市场营销部/客户二组", "客户经理"),
)
SCORE_COMMENTS_HIGH = ("超额完成季度目标", "客户评价很好", "主动承担攻坚任务", "工作细致，零差错")
SCORE_COMMENTS_LOW = ("本月业绩未达标，需制定改进计划。", "任务完成不及时，需加强跟进。")
BONUS_COMMENTS = ("牵头完成重点项目", "获得客户书面表扬", "提出合理化建议被采纳")
DEDUCTION_COMMENTS = ("迟到早退两次", "报表差错一次", "未按时提交周报")


@dataclass(frozen=True, slots=True)
class Persona:
    role: str
    number: str
    name: str
    institution: str
    position: str


@dataclass
class DemoSummary:
    created: bool
    group: str
    institutions: int
    departments: int
    employees: int
    previous: str
    current: str
    results: int
    tasks: Counter[str] = field(default_factory=Counter)
    personas: list[Persona] = field(default_factory=list)


def prepare(
    engine: Engine,
    now: dt.datetime,
    *,
    reset: bool = False,
    employees: int = 60,
    institutions: int = 3,
    seed: int = 2026,
) -> DemoSummary:
    """The demo group in the database behind `engine`: kept if already there, rebuilt
    with `reset`, built if missing. One transaction."""
    with sessions(engine)() as session, session.begin():
        others = session.scalars(select(Group.name).where(Group.name != DEMO_GROUP)).all()
        if others:
            raise Refused(
                _(
                    "This database holds group {name!r}: demo data goes only into an empty "
                    "database or one with demo data. Use another --database-url."
                ).format(name=others[0])
            )
        group = session.scalar(select(Group).where(Group.name == DEMO_GROUP))
        if group is not None and not reset:
            return summarise(session, group, created=False)
        if group is not None:
            wipe(session)
        return build(session, now, employees=employees, institutions=institutions, seed=seed)


def wipe(session: Session) -> None:
    """Delete every row of every table (the caller has checked it is demo data only)."""
    session.execute(update(Institution).values(head_id=None))
    for table in reversed(Base.metadata.sorted_tables):
        session.execute(delete(table))
    # Ids are reused after the delete; objects loaded before it must not be mistaken for
    # the new rows.
    session.expunge_all()


def month_labels(now: dt.datetime) -> tuple[str, str]:
    """(previous month, current month) in China time, e.g. ("2026-10", "2026-11")."""
    local = now.astimezone(TZ)
    first = local.date().replace(day=1)
    prev = first - dt.timedelta(days=1)
    return f"{prev.year}-{prev.month:02d}", f"{first.year}-{first.month:02d}"


class _Clock:
    """Demo history between the 25th of last month and `now`, as fractions of that span,
    so every timestamp is in the past whatever `now` is."""

    def __init__(self, now: dt.datetime, rng: random.Random) -> None:
        local = now.astimezone(TZ)
        prev = local.date().replace(day=1) - dt.timedelta(days=1)
        start = dt.datetime(prev.year, prev.month, min(25, prev.day), 9, 0, tzinfo=TZ)
        self.start = min(start, now - dt.timedelta(days=6))
        self.span = now - self.start
        self.rng = rng

    def at(self, fraction: float) -> dt.datetime:
        return (self.start + self.span * fraction).astimezone(dt.UTC)

    def between(self, a: float, b: float) -> dt.datetime:
        return self.at(self.rng.uniform(a, b))


def build(
    session: Session,
    now: dt.datetime,
    *,
    employees: int = 60,
    institutions: int = 3,
    seed: int = 2026,
) -> DemoSummary:
    if institutions < 1 or employees < 2 * institutions + 2:
        raise Refused(
            _("Demo data needs at least one institution and 2 employees per institution plus 2.")
        )
    rng = random.Random(seed)
    clock = _Clock(now, rng)
    created = clock.at(0)
    group = Group(name=DEMO_GROUP)
    session.add(group)
    session.flush()
    scheme = _scheme(group.id, created)
    session.add(scheme)
    session.flush()
    org = _Org(session, group.id, rng, employees, institutions)
    record(
        session,
        created,
        "demo.build",
        "group",
        group.id,
        actor_label="demo",
        after={"employees": employees, "institutions": institutions, "seed": seed},
    )

    prev_label, cur_label = month_labels(now)
    scorers = _Scores(session, rng, org.ability, scheme)

    prev, _count = open_period(
        session, clock.at(0), group=group, label=prev_label, scheme_code=SCHEME_CODE, actor="demo"
    )
    scorers.fill(prev, lambda task: (TaskState.SUBMITTED, 0), clock, 0.0, 0.3)
    close_period(session, clock.at(0.33), prev, actor="demo")
    compute_period(session, clock.at(0.34), prev, actor="demo")
    # The demo's history is compressed into days: last month's window closed at once.
    publish_period(session, clock.at(0.36), prev, actor="demo", window=0)
    finalize_period(session, clock.at(0.55), prev, actor="demo")

    cur, _count = open_period(
        session, clock.at(0.7), group=group, label=cur_label, scheme_code=SCHEME_CODE, actor="demo"
    )
    rates = {inst: rng.uniform(0.3, 0.9) for inst in org.institution_ids}
    n_ind = len(scheme.indicators)
    scorer_persona, employee_persona = org.persona_scorer, org.persona_employee
    forced = [0]

    def progress(task: dict[str, Any]) -> tuple[TaskState, int]:
        # The scorer persona keeps work to do: one done, one half-done, the rest pending.
        if task["scorer_id"] == scorer_persona:
            if task["role_code"] == "self":
                return TaskState.PENDING, 0
            seen = forced[0]
            forced[0] += 1
            if seen == 0:
                return TaskState.SUBMITTED, 0
            if seen == 1:
                return TaskState.DRAFT, n_ind // 2
            return TaskState.PENDING, 0
        if task["scorer_id"] == employee_persona:
            return TaskState.SUBMITTED, 0
        u = rng.random()
        rate = rates[org.institution_of[task["scorer_id"]]]
        if u < rate:
            return TaskState.SUBMITTED, 0
        if u < rate + 0.08:
            return TaskState.DRAFT, rng.randint(1, n_ind - 1)
        return TaskState.PENDING, 0

    scorers.fill(cur, progress, clock, 0.7, 0.99)
    session.flush()
    return summarise(session, group, created=True)


def _scheme(group_id: int, created: dt.datetime) -> Scheme:
    scheme = Scheme(
        group_id=group_id,
        code=SCHEME_CODE,
        version=1,
        name="员工月度绩效考核方案",
        created_at=created,
        bonus_cap=Decimal(5),
        deduction_cap=Decimal(10),
    )

    def score(pos: int, code: str, name: str, weight: int, criteria: str) -> Indicator:
        return Indicator(
            position=pos,
            code=code,
            name=name,
            kind=IndicatorKind.SCORE,
            weight=Decimal(weight),
            min_score=Decimal(0),
            max_score=Decimal(100),
            criteria=criteria,
            comment_below=Decimal(60),
        )

    scheme.indicators = [
        score(1, "perf", "工作业绩", 40, "本月目标任务完成情况、数量与效益"),
        Indicator(
            position=2,
            code="quality",
            name="工作质量",
            kind=IndicatorKind.RATING,
            weight=Decimal(20),
            min_score=Decimal(0),
            max_score=Decimal(100),
            levels=[["优", "100"], ["良", "85"], ["中", "70"], ["差", "50"]],
            criteria="准确性、规范性，差错与返工情况",
        ),
        score(3, "attitude", "工作态度", 10, "责任心、主动性、出勤"),
        score(4, "teamwork", "团队协作", 10, "配合同事、跨部门协作"),
        score(5, "growth", "学习成长", 10, "业务学习、技能提升"),
        score(6, "compliance", "合规纪律", 10, "遵守制度与操作规程"),
        Indicator(
            position=7,
            code="bonus",
            name="加分项",
            kind=IndicatorKind.BONUS,
            weight=Decimal(0),
            min_score=Decimal(0),
            max_score=Decimal(5),
            criteria="突出贡献、表彰，每次 1-3 分，合计不超过 5 分",
        ),
        Indicator(
            position=8,
            code="deduction",
            name="扣分项",
            kind=IndicatorKind.DEDUCTION,
            weight=Decimal(0),
            min_score=Decimal(0),
            max_score=Decimal(10),
            criteria="违规违纪、差错，每次 1-5 分，合计不超过 10 分",
        ),
    ]
    scheme.roles = [
        ScorerRole(position=1, code="manager", name="直接上级", weight=Decimal(70)),
        ScorerRole(position=2, code="head", name="机构负责人", weight=Decimal(30)),
        ScorerRole(position=3, code="self", name="本人自评", weight=Decimal(0)),
    ]
    scheme.grades = [
        GradeBand(grade="A", label="优秀", min_score=Decimal(90), coefficient=Decimal("1.20")),
        GradeBand(grade="B", label="良好", min_score=Decimal(80), coefficient=Decimal("1.00")),
        GradeBand(grade="C", label="合格", min_score=Decimal(70), coefficient=Decimal("0.90")),
        GradeBand(grade="D", label="基本合格", min_score=Decimal(60), coefficient=Decimal("0.80")),
        GradeBand(grade="E", label="不合格", min_score=Decimal(0), coefficient=Decimal("0.60")),
    ]
    return scheme


def _institution_names(count: int) -> list[str]:
    names = [HQ]
    for i in range(count - 1):
        city = CITIES[i % len(CITIES)]
        lap = i // len(CITIES)
        prefix = "" if lap == 0 else "第" + (ORDINALS[lap] if lap < len(ORDINALS) else str(lap + 1))
        names.append(f"{city}{prefix}分公司")
    return names


def _split(total: int, parts: int) -> list[int]:
    """Sizes of `parts` institutions: the group office a little smaller than branches."""
    base, extra = divmod(total, parts)
    return [base + (1 if i < extra else 0) for i in range(parts)]


class _Org:
    """Institutions, departments and employees, written in bulk; remembers who is who."""

    def __init__(
        self, session: Session, group_id: int, rng: random.Random, total: int, count: int
    ) -> None:
        self.rng = rng
        names = _institution_names(count)
        session.execute(
            insert(Institution),
            [
                {"group_id": group_id, "name": n, "pilot": i < 6, "timezone": "Asia/Shanghai"}
                for i, n in enumerate(names)
            ],
        )
        inst_ids = {
            name: id_
            for name, id_ in session.execute(
                select(Institution.name, Institution.id).where(Institution.group_id == group_id)
            ).tuples()
        }
        self.institution_ids = [inst_ids[n] for n in names]
        sizes = _split(total, count)

        # Departments: which ones each institution uses depends on its size.
        plans: list[list[tuple[str, str]]] = []
        for idx, size in enumerate(sizes):
            tree = HQ_DEPARTMENTS if idx == 0 else BRANCH_DEPARTMENTS
            rest = size - (2 if idx == 0 else 1)
            used = max(1, min(len(tree), rest // 5))
            plans.append([(LEADERS, ""), *tree[:used]])
        dept_ids: dict[tuple[int, str], int] = {}
        for depth in (1, 2):
            rows = [
                {
                    "institution_id": inst_id,
                    "parent_id": dept_ids.get((inst_id, path.rsplit("/", 1)[0]))
                    if depth == 2
                    else None,
                    "name": path.rsplit("/", 1)[-1],
                    "path": path,
                }
                for inst_id, plan in zip(self.institution_ids, plans, strict=True)
                for path, _title in plan
                if path.count("/") + 1 == depth
            ]
            if rows:
                session.execute(insert(Department), rows)
            dept_ids.update(
                {
                    (i, p): d
                    for i, p, d in session.execute(
                        select(Department.institution_id, Department.path, Department.id).where(
                            Department.institution_id.in_(self.institution_ids)
                        )
                    ).tuples()
                }
            )
        self.departments = len(dept_ids)

        # People, in 工号 order: leaders first, so the lowest numbers are the ones in charge.
        people: list[dict[str, Any]] = []
        manager_of: dict[int, int | None] = {}  # index in people -> index of their manager
        head_idx: dict[int, int] = {}
        self.grants: list[tuple[int, Role, int | None]] = []
        leadership = 0
        self.persona_scorer_idx: int | None = None
        self.persona_employee_idx: int | None = None

        def person(inst_id: int, path: str, position: str, lo: int, hi: int) -> int:
            people.append(
                {
                    "group_id": group_id,
                    "number": f"{100001 + len(people)}",
                    "name": self.name(),
                    "position": position,
                    "institution_id": inst_id,
                    "department_id": dept_ids[(inst_id, path)],
                    "pay_base": Decimal(rng.randrange(lo, hi + 1, 100)).quantize(CENT),
                }
            )
            return len(people) - 1

        for idx, (inst_id, plan, size) in enumerate(
            zip(self.institution_ids, plans, sizes, strict=True)
        ):
            first = len(people)
            if idx == 0:
                leadership = person(inst_id, LEADERS, "集团总经理", 8000, 8000)
                manager_of[leadership] = None
                self.grants.append((leadership, Role.LEADERSHIP, None))
                head = person(inst_id, LEADERS, "本部主任", 7000, 8000)
            else:
                head = person(inst_id, LEADERS, "总经理", 7000, 8000)
            manager_of[head] = leadership
            head_idx[inst_id] = head
            self.grants.append((head, Role.HEAD, inst_id))
            leaders: dict[str, int] = {}
            for path, _title in plan[1:]:
                parent = path.rsplit("/", 1)[0] if "/" in path else None
                title = "组长" if parent else "部门经理"
                leader = person(inst_id, path, title, 5000, 7000)
                leaders[path] = leader
                manager_of[leader] = leaders[parent] if parent else head
                if idx == 0 and path == "人力资源部":
                    self.grants.append((leader, Role.HR, None))
                elif self.persona_scorer_idx is None:
                    self.persona_scorer_idx = leader
            depts = plan[1:]
            for k in range(size - (len(people) - first)):
                path, title = depts[k % len(depts)]
                staff = person(inst_id, path, title, 3000, 6000)
                manager_of[staff] = leaders[path]
                if self.persona_employee_idx is None:
                    self.persona_employee_idx = staff

        for start in range(0, len(people), BATCH):
            session.execute(insert(Employee), people[start : start + BATCH])
        ids = {
            number: id_
            for number, id_ in session.execute(
                select(Employee.number, Employee.id).where(Employee.group_id == group_id)
            ).tuples()
        }
        id_of = [ids[p["number"]] for p in people]
        updates = [
            {"id": id_of[i], "manager_id": id_of[m]} for i, m in manager_of.items() if m is not None
        ]
        for start in range(0, len(updates), BATCH):
            session.execute(update(Employee), updates[start : start + BATCH])
        session.execute(
            update(Institution), [{"id": i, "head_id": id_of[h]} for i, h in head_idx.items()]
        )
        session.execute(
            insert(RoleGrant),
            [
                {"employee_id": id_of[i], "role": role, "institution_id": inst}
                for i, role, inst in self.grants
            ],
        )
        self.employees = len(people)
        self.institution_of = {id_of[i]: p["institution_id"] for i, p in enumerate(people)}
        # Mostly solid staff, and a few who struggle, so every grade band shows up.
        self.ability = {
            id_of[i]: rng.gauss(62, 5) if rng.random() < 0.06 else rng.gauss(83, 7)
            for i in range(len(people))
        }
        self.persona_scorer = (
            id_of[self.persona_scorer_idx] if self.persona_scorer_idx is not None else None
        )
        self.persona_employee = (
            id_of[self.persona_employee_idx] if self.persona_employee_idx is not None else None
        )

    def name(self) -> str:
        surname = self.rng.choice(SURNAMES)
        given = self.rng.choice(GIVEN)
        if self.rng.random() < 0.7:
            given += self.rng.choice(GIVEN)
        return surname + given


class _Scores:
    """Writes score entries and task states for a period, in batches."""

    def __init__(
        self, session: Session, rng: random.Random, ability: dict[int, float], scheme: Scheme
    ) -> None:
        self.session = session
        self.rng = rng
        self.ability = ability
        self.indicators = list(scheme.indicators)

    def fill(
        self,
        period: Period,
        progress: Callable[[dict[str, Any]], tuple[TaskState, int]],
        clock: _Clock,
        start: float,
        end: float,
    ) -> None:
        tasks = self.session.execute(
            select(
                ScoringTask.id,
                ScoringTask.scorer_id,
                ScoringTask.appraisee_id,
                ScoringTask.role_code,
            )
            .where(ScoringTask.period_id == period.id)
            .order_by(ScoringTask.scorer_id, ScoringTask.appraisee_id, ScoringTask.role_code)
        ).all()
        entries: list[dict[str, Any]] = []
        states: list[dict[str, Any]] = []
        submits: list[tuple[Any, ...]] = []
        for t in tasks:
            task = t._asdict()
            state, cursor = progress(task)
            if state == TaskState.PENDING:
                continue
            at = clock.between(start, end)
            answered = self.indicators if state == TaskState.SUBMITTED else self.indicators[:cursor]
            written = list(self._entries(task, answered, at))
            entries.extend(written)
            if state == TaskState.SUBMITTED:
                # As a confirm in chat records it: the chain seals the answers with it.
                codes = {i.id: i.code for i in answered}
                marks = {codes[e["indicator_id"]]: str(e["value"]) for e in written}
                who = task["scorer_id"]
                submits.append(
                    (at, who, "", "task.submit", "scoring_task", task["id"], None, marks, "")
                )
            states.append(
                {
                    "id": task["id"],
                    "state": state,
                    "cursor": len(answered),
                    "submitted_at": at if state == TaskState.SUBMITTED else None,
                    "updated_at": at,
                }
            )
            if len(entries) >= BATCH:
                self.session.execute(insert(ScoreEntry), entries)
                entries.clear()
        if entries:
            self.session.execute(insert(ScoreEntry), entries)
        for begin in range(0, len(states), BATCH):
            self.session.execute(update(ScoringTask), states[begin : begin + BATCH])
        record_many(self.session, submits)

    def _entries(
        self, task: dict[str, Any], indicators: list[Indicator], at: dt.datetime
    ) -> Iterator[dict[str, Any]]:
        rng = self.rng
        bias = {"self": 4.0, "head": -1.0}.get(task["role_code"], 0.0)
        level = self.ability[task["appraisee_id"]] + bias
        for ind in indicators:
            comment = ""
            if ind.kind == IndicatorKind.SCORE:
                raw = max(40.0, min(100.0, rng.gauss(level, 4)))
                value = Decimal(round(raw))
                if ind.comment_below is not None and value < ind.comment_below:
                    comment = rng.choice(SCORE_COMMENTS_LOW)
                elif value >= 97 and rng.random() < 0.5:
                    comment = rng.choice(SCORE_COMMENTS_HIGH)
            elif ind.kind == IndicatorKind.RATING:
                raw = rng.gauss(level, 5)
                points = 100 if raw >= 90 else 85 if raw >= 80 else 70 if raw >= 65 else 50
                value = Decimal(points)
            elif ind.kind == IndicatorKind.BONUS:
                value = Decimal(0)
                if task["role_code"] == "manager" and rng.random() < 0.1:
                    value = Decimal(rng.choice((1, 2, 3)))
                    comment = rng.choice(BONUS_COMMENTS)
            else:
                value = Decimal(0)
                if task["role_code"] == "manager" and rng.random() < 0.06:
                    value = Decimal(rng.choice((1, 2, 5)))
                    comment = rng.choice(DEDUCTION_COMMENTS)
            yield {
                "task_id": task["id"],
                "indicator_id": ind.id,
                "value": value,
                "comment": comment,
                "entered_by": task["scorer_id"],
                "entered_at": at,
            }


def summarise(session: Session, group: Group, *, created: bool) -> DemoSummary:
    periods = session.scalars(
        select(Period).where(Period.group_id == group.id).order_by(Period.starts_on)
    ).all()
    final = [p for p in periods if p.state == PeriodState.FINAL]
    open_ = [p for p in periods if p.state == PeriodState.SCORING]
    summary = DemoSummary(
        created=created,
        group=group.name,
        institutions=session.scalar(
            select(func.count(Institution.id)).where(Institution.group_id == group.id)
        )
        or 0,
        departments=session.scalar(
            select(func.count(Department.id))
            .join(Institution, Institution.id == Department.institution_id)
            .where(Institution.group_id == group.id)
        )
        or 0,
        employees=session.scalar(
            select(func.count(Employee.id)).where(Employee.group_id == group.id)
        )
        or 0,
        previous=final[-1].label if final else "",
        current=open_[-1].label if open_ else "",
        results=0,
    )
    if final:
        summary.results = (
            session.scalar(select(func.count(Result.id)).where(Result.period_id == final[-1].id))
            or 0
        )
    if open_:
        for state, count in session.execute(
            select(ScoringTask.state, func.count(ScoringTask.id))
            .where(ScoringTask.period_id == open_[-1].id)
            .group_by(ScoringTask.state)
        ).tuples():
            summary.tasks[TaskState(state).value] = count
    summary.personas = personas(session, group, open_[-1] if open_ else None)
    return summary


def personas(session: Session, group: Group, current: Period | None) -> list[Persona]:
    """People worth playing in the chat demo: an employee with a final result, a scorer
    with people left to score, a head, HR and group leadership."""
    in_group = Employee.group_id == group.id
    role_holders = select(RoleGrant.employee_id)
    heads = select(Institution.head_id).where(Institution.head_id.is_not(None))
    found: list[tuple[str, int | None]] = []
    scorer = None
    if current is not None:
        scorer = session.scalar(
            select(ScoringTask.scorer_id)
            .join(Employee, Employee.id == ScoringTask.scorer_id)
            .where(
                ScoringTask.period_id == current.id,
                ScoringTask.state == TaskState.PENDING,
                ScoringTask.role_code != "self",
                ScoringTask.scorer_id.not_in(role_holders),
                ScoringTask.scorer_id.not_in(heads),
            )
            .order_by(Employee.number)
            .limit(1)
        )
    employee = session.scalar(
        select(Employee.id)
        .where(
            in_group,
            Employee.id.not_in(role_holders),
            Employee.id.not_in(heads),
            Employee.id.not_in(select(Employee.manager_id).where(Employee.manager_id.is_not(None))),
            Employee.id.in_(select(Result.employee_id)),
        )
        .order_by(Employee.number)
        .limit(1)
    )
    found.append(("employee", employee))
    found.append(("scorer", scorer))
    # A branch's head rather than the group office's, when there is a branch.
    heads_in_order = session.scalars(
        select(Institution.head_id)
        .where(Institution.group_id == group.id, Institution.head_id.is_not(None))
        .order_by(Institution.id)
        .limit(2)
    ).all()
    found.append(("head", heads_in_order[-1] if heads_in_order else None))
    for label, role in (("hr", Role.HR), ("leadership", Role.LEADERSHIP)):
        found.append(
            (
                label,
                session.scalar(
                    select(RoleGrant.employee_id)
                    .where(RoleGrant.role == role)
                    .order_by(RoleGrant.id)
                    .limit(1)
                ),
            )
        )
    out = []
    for label, emp_id in found:
        if emp_id is None:
            continue
        emp = session.get_one(Employee, emp_id)
        out.append(Persona(label, emp.number, emp.name, emp.institution.name, emp.position))
    return out
