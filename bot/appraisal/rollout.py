"""Rollout (试点推进): each institution's stage, against the target dates its head signed
(目标责任书), with the last acceptance result and a rank.

Stages, in order: environment ready → data collected → staff trained → trial run →
acceptance passed → live. HR sets the day a stage was reached (`jixiao rollout set`);
two are known to the system and derived when HR has not set them: the trial run starts
on the day the first period covering the institution was opened, acceptance passed on
the day of its first passing acceptance check. The current stage is the furthest one
reached.

Ahead or behind target, in days: when the next stage's target date has passed without it
being reached, behind by the days since; otherwise the current stage's target date less
the day it was reached (positive: ahead; negative: reached late). No target, no figure.
Institutions are ranked by stage, then by days ahead; those behind target are called out.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.appraisal import acceptance, audit
from bot.importing import cells
from bot.importing.cells import BadCell
from bot.importing.report import Problems
from bot.importing.table import Column, RowReader, canonical, read_table
from bot.infra.errors import Refused
from bot.infra.i18n import N_, _, ngettext
from bot.infra.workdays import default_tz
from models import (
    Institution,
    Period,
    Stage,
    StageReached,
    StageTarget,
)

ORDER = list(Stage)
NAMES = {
    Stage.ENVIRONMENT: N_("environment ready"),
    Stage.DATA: N_("data collected"),
    Stage.TRAINED: N_("staff trained"),
    Stage.TRIAL: N_("trial run"),
    Stage.ACCEPTED: N_("acceptance passed"),
    Stage.LIVE: N_("live"),
}
# Every word HR may use for a stage, in a command or a sheet's header.
WORDS: dict[Stage, tuple[str, ...]] = {
    Stage.ENVIRONMENT: ("环境就绪", "环境准备", "环境部署", "环境", "environment", "env"),
    Stage.DATA: ("数据采集完成", "数据采集", "数据", "data", "data_collected"),
    Stage.TRAINED: ("人员培训完成", "人员培训", "培训", "trained", "training", "staff_trained"),
    Stage.TRIAL: ("试运行", "试点运行", "trial", "trial_run"),
    Stage.ACCEPTED: ("验收通过", "验收", "accepted", "acceptance", "acceptance_passed"),
    Stage.LIVE: ("正式运行", "上线", "live", "go_live"),
}
_BY_WORD = {canonical(w): s for s, ws in WORDS.items() for w in (*ws, s.value, NAMES[s])}
_DATE = re.compile(r"^(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?$")


def stage_name(stage: Stage) -> str:
    return _(NAMES[stage])


def parse_stage(word: str) -> Stage:
    stage = _BY_WORD.get(canonical(word))
    if stage is None:
        raise Refused(
            _("Unknown stage {word!r}: use one of {stages}.").format(
                word=word, stages=_(", ").join(f"{stage_name(s)} ({s.value})" for s in ORDER)
            )
        )
    return stage


def parse_date(value: object) -> dt.date:
    """A date cell or text: 2026-12-31, 2026/12/31, 2026.12.31, 2026年12月31日."""
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    found = _DATE.match(cells.folded(value))
    if found:
        try:
            return dt.date(*(int(g) for g in found.groups()))
        except ValueError:
            pass
    raise BadCell(_("is not a date: write it as 2026-12-31"))


@dataclass(slots=True)
class Line:
    """One institution's rollout, as every report shows it."""

    institution_id: int
    name: str
    reached: dict[Stage, dt.date] = field(default_factory=dict)
    targets: dict[Stage, dt.date] = field(default_factory=dict)
    last: acceptance.Last | None = None
    days: int | None = None
    rank: int = 0

    @property
    def stage(self) -> Stage | None:
        done = [s for s in ORDER if s in self.reached]
        return done[-1] if done else None

    @property
    def behind(self) -> bool:
        return self.days is not None and self.days < 0

    def stage_text(self) -> str:
        if self.stage is None:
            return _("not started")
        return _("{stage} since {date}").format(
            stage=stage_name(self.stage), date=self.reached[self.stage].isoformat()
        )

    def days_text(self) -> str:
        if self.days is None:
            return _("no target")
        if self.days == 0:
            return _("on target")
        if self.days > 0:
            return ngettext("{n} day ahead", "{n} days ahead", self.days).format(n=self.days)
        return ngettext("{n} day behind", "{n} days behind", -self.days).format(n=-self.days)

    def acceptance_text(self) -> str:
        if self.last is None:
            return _("no acceptance check")
        return _("{verdict} ({period}, {date})").format(
            verdict=acceptance.verdict_word(self.last.passed),
            period=self.last.period,
            date=self.last.at.astimezone(zone()).date().isoformat(),
        )


def zone() -> dt.tzinfo:
    from zoneinfo import ZoneInfo

    return ZoneInfo(default_tz())


def _schedule(line: Line, today: dt.date) -> int | None:
    current = line.stage
    following = ORDER[ORDER.index(current) + 1 :] if current is not None else ORDER
    if following:
        due = line.targets.get(following[0])
        if due is not None and due < today:
            return -(today - due).days
    if current is not None and current in line.targets:
        return (line.targets[current] - line.reached[current]).days
    return None


def lines(session: Session, group_id: int, now: dt.datetime) -> list[Line]:
    """Pilot institutions (and any other with a stage, target or check), ranked."""
    today = now.astimezone(zone()).date()
    insts = session.execute(
        select(Institution.id, Institution.name, Institution.pilot, Institution.timezone)
        .where(Institution.group_id == group_id)
        .order_by(Institution.name)
    ).all()
    by_id = {i.id: Line(i.id, i.name) for i in insts}
    shown = {i.id for i in insts if i.pilot}
    for inst_id, stage, on in session.execute(
        select(StageReached.institution_id, StageReached.stage, StageReached.reached_on).where(
            StageReached.institution_id.in_(by_id)
        )
    ).tuples():
        by_id[inst_id].reached[stage] = on
        shown.add(inst_id)
    for inst_id, stage, due in session.execute(
        select(StageTarget.institution_id, StageTarget.stage, StageTarget.due_on).where(
            StageTarget.institution_id.in_(by_id)
        )
    ).tuples():
        by_id[inst_id].targets[stage] = due
        shown.add(inst_id)
    # Derived: the trial run from the first period opened that covers the institution.
    opened = session.execute(
        select(Period.institution_id, Period.opened_at).where(
            Period.group_id == group_id, Period.opened_at.is_not(None)
        )
    ).tuples()
    zones = {i.id: i.timezone for i in insts}
    first_group: dt.datetime | None = None
    first_own: dict[int, dt.datetime] = {}
    for own, at in opened:
        assert at is not None
        if own is None:
            first_group = at if first_group is None else min(first_group, at)
        else:
            first_own[own] = min(first_own.get(own, at), at)
    from zoneinfo import ZoneInfo

    for inst_id, line in by_id.items():
        starts = [t for t in (first_group, first_own.get(inst_id)) if t is not None]
        if starts and Stage.TRIAL not in line.reached:
            line.reached[Stage.TRIAL] = min(starts).astimezone(ZoneInfo(zones[inst_id])).date()
    for inst_id, last in acceptance.latest(session, group_id).items():
        line = by_id[inst_id]
        line.last = last
        shown.add(inst_id)
        if last.first_pass is not None and Stage.ACCEPTED not in line.reached:
            line.reached[Stage.ACCEPTED] = last.first_pass.astimezone(
                ZoneInfo(zones[inst_id])
            ).date()
    out = [
        line
        for inst_id, line in by_id.items()
        if inst_id in shown or not any(i.pilot for i in insts)
    ]
    for line in out:
        line.days = _schedule(line, today)

    def key(x: Line) -> tuple[int, int]:
        stage = -1 if x.stage is None else ORDER.index(x.stage)
        return (-stage, -(x.days if x.days is not None else -(10**6)))

    out.sort(key=lambda x: (key(x), x.name))
    previous = None
    for position, line in enumerate(out, start=1):
        line.rank = previous.rank if previous and key(previous) == key(line) else position
        previous = line
    return out


def table_lines(table: list[Line]) -> list[str]:
    """The rollout table's heading, one line per institution, the laggards called out."""
    if not table:
        return []
    out = [_("Rollout: rank · institution · stage · against target · last acceptance")]
    out.extend(
        _("{rank}. {name} · {stage} · {days} · {acceptance}").format(
            rank=x.rank,
            name=x.name,
            stage=x.stage_text(),
            days=x.days_text(),
            acceptance=x.acceptance_text(),
        )
        for x in table
    )
    late = sorted((x for x in table if x.behind), key=lambda x: (x.days or 0, x.name))
    if late:
        out.append(
            _("Behind target: {names}.").format(
                names=_(", ").join(
                    _("{name} ({days})").format(name=x.name, days=x.days_text()) for x in late
                )
            )
        )
    return out


def own_line(line: Line) -> str:
    """The head's own line in the daily digest."""
    return _("Rollout: {stage}, {days}, rank {rank}; last acceptance: {acceptance}.").format(
        stage=line.stage_text(),
        days=line.days_text(),
        rank=line.rank,
        acceptance=line.acceptance_text(),
    )


def set_stage(
    session: Session,
    now: dt.datetime,
    institution: Institution,
    stage: Stage,
    on: dt.date,
    actor: str = "cli",
) -> None:
    row = session.scalar(
        select(StageReached).where(
            StageReached.institution_id == institution.id, StageReached.stage == stage
        )
    )
    before = {"reached_on": row.reached_on.isoformat()} if row else None
    if row is None:
        row = StageReached(
            institution_id=institution.id, stage=stage, reached_on=on, recorded_at=now
        )
        session.add(row)
    row.reached_on, row.recorded_at = on, now
    session.flush()
    audit.record(
        session,
        now,
        "rollout.stage",
        "institution",
        institution.id,
        actor_label=actor,
        before=before,
        after={"stage": stage.value, "reached_on": on.isoformat()},
    )


def set_target(
    session: Session,
    now: dt.datetime,
    institution: Institution,
    stage: Stage,
    due: dt.date,
    actor: str = "cli",
) -> bool:
    """Record a target date; False when it was already that date."""
    row = session.scalar(
        select(StageTarget).where(
            StageTarget.institution_id == institution.id, StageTarget.stage == stage
        )
    )
    if row is not None and row.due_on == due:
        return False
    before = {"due_on": row.due_on.isoformat()} if row else None
    if row is None:
        row = StageTarget(institution_id=institution.id, stage=stage, due_on=due, recorded_at=now)
        session.add(row)
    row.due_on, row.recorded_at = due, now
    session.flush()
    audit.record(
        session,
        now,
        "rollout.target",
        "institution",
        institution.id,
        actor_label=actor,
        before=before,
        after={"stage": stage.value, "due_on": due.isoformat()},
    )
    return True


TARGET_COLUMNS = (
    Column("institution", ("机构", "机构名称", "institution"), True),
    *(Column(s.value, (WORDS[s][0], NAMES[s], *WORDS[s][1:], s.value)) for s in ORDER),
)


def import_targets(
    session: Session,
    now: dt.datetime,
    path: Path,
    group_id: int,
    actor: str = "cli",
    progress: Callable[[int], None] | None = None,
) -> tuple[int, int]:
    """A 目标责任书 sheet: 机构, then a target date per stage column. All or nothing.
    Returns (institutions, target dates changed)."""
    problems = Problems()
    table = read_table(path, TARGET_COLUMNS, problems, progress=progress)
    problems.raise_if_any()
    if not any(table.has(s.value) for s in ORDER):
        problems.add(
            _("no stage column: add one headed {names}").format(
                names=_(", ").join(WORDS[s][0] for s in ORDER)
            )
        )
        problems.raise_if_any()
    insts = {
        name: inst
        for name, inst in (
            (i.name, i)
            for i in session.scalars(select(Institution).where(Institution.group_id == group_id))
        )
    }
    wanted: list[tuple[Institution, Stage, dt.date]] = []
    seen: dict[str, int] = {}
    for row in table.rows:
        r = RowReader(table, row, problems)
        name = r.get("institution", cells.label, required=True)
        dates = {s: r.get(s.value, parse_date) for s in ORDER if table.has(s.value)}
        if name is None or not r.ok:
            continue
        if name in seen:
            r.bad(
                "institution",
                _("the same institution is already in row {row}").format(row=seen[name]),
            )
            continue
        seen[name] = row.number
        inst = insts.get(name)
        if inst is None:
            r.bad("institution", _("no institution has this name"))
            continue
        wanted.extend((inst, s, d) for s, d in dates.items() if d is not None)
    problems.raise_if_any()
    changed = sum(set_target(session, now, inst, s, d, actor) for inst, s, d in wanted)
    return len(seen), changed


def write_xlsx(table: list[Line], path: Path) -> None:
    from openpyxl import Workbook
    from openpyxl.styles import Font, PatternFill
    from openpyxl.utils import get_column_letter

    wb = Workbook()
    ws = wb.active
    ws.title = _("Rollout")[:31]
    ws.append(
        [
            _("Rank"),
            _("Institution"),
            _("Stage"),
            _("Reached on"),
            _("Days ahead (+) or behind (−) target"),
            _("Last acceptance"),
            *(stage_name(s) for s in ORDER),
        ]
    )
    for cell in ws[1]:
        cell.font = Font(bold=True)
    red = PatternFill("solid", fgColor="F8CBAD")
    for x in table:
        ws.append(
            [
                x.rank,
                x.name,
                stage_name(x.stage) if x.stage else _("not started"),
                x.reached[x.stage] if x.stage else None,
                x.days,
                x.acceptance_text(),
                *(
                    _("{reached} (target {due})").format(
                        reached=x.reached[s].isoformat() if s in x.reached else "—",
                        due=x.targets[s].isoformat() if s in x.targets else "—",
                    )
                    for s in ORDER
                ),
            ]
        )
        if x.behind:
            for cell in ws[ws.max_row]:
                cell.fill = red
    for row in ws.iter_rows(min_row=2):
        row[3].number_format = "yyyy-mm-dd"
        row[4].number_format = "+0;-0;0"
    for i, width in enumerate((6, 16, 14, 12, 14, 28, *(26,) * len(ORDER)), start=1):
        ws.column_dimensions[get_column_letter(i)].width = width
    ws.freeze_panes = "C2"
    path.parent.mkdir(parents=True, exist_ok=True)
    wb.save(path)
