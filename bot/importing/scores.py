"""`import scores`: HR enters scores on scorers' behalf, one row per scoring task.

Columns (Chinese or English header; * = required):

    工号* number (the appraisee) · 姓名 name · 考核人工号* scorer_number · 考核人 scorer ·
    角色* role (the scheme's role name or code: 直接上级 / manager ...) · then one column
    per indicator of the period's scheme, headed by its name or code (* for the scored and
    rated ones), each optionally followed by its comment column "<name>评语".

姓名 and 考核人, when present, must match the 工号s: a row moved onto the wrong person is
refused, not stored. Every value is checked by the chat form's own rules (range, rating
levels, two decimals, the comments the scheme requires), so a task entered here is
exactly what its scorer could have confirmed in chat. A row is complete (every scored
and rated indicator; bonus and deduction items may stay blank) or has no scores at all,
and then it is skipped and reported. All or nothing: one bad row and nothing is written.

A task its scorer already submitted is refused unless `overwrite` is given; a task HR
imported before (and its scorer has not changed since) may be imported again. Each task
written is audited (`bot.appraisal.behalf.ACTION`, actor "hr-import:<file>", the scorer in the
detail), with the answers it replaced.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import bindparam, delete, func, select, update
from sqlalchemy.orm import Session, aliased, selectinload

from bot.appraisal import behalf
from bot.appraisal.audit import record_many
from bot.appraisal.periods import state_name
from bot.appraisal.sections import indicators_for
from bot.appraisal.values import (
    COMMENT_MAX,
    BadValue,
    allowed,
    check,
    check_comment,
    comment_rule,
    input_max,
    needs_comment,
)
from bot.importing import cells
from bot.importing.cells import BadCell
from bot.importing.report import Problems
from bot.importing.scheme import ROLE_WORDS
from bot.importing.table import Column, Row, RowReader, Table, canonical, read_table
from bot.infra.errors import Refused
from bot.infra.i18n import _, ngettext
from bot.infra.render import when
from bot.infra.workdays import default_tz
from models import (
    Employee,
    Indicator,
    IndicatorKind,
    Period,
    PeriodState,
    Scheme,
    ScoreEntry,
    ScoringTask,
    TaskState,
)
from models.chain import row_hash
from models.db import insert_many

# "n more units are done" (rows checked, tasks stored), for a progress meter.
Advance = Callable[[int], None]

WEIGHTED = (IndicatorKind.SCORE, IndicatorKind.RATING)
# The template's sheets. The instructions sheet has the name the shipped templates use.
SHEET, NOTES_SHEET = "评分", "说明"
IDENTITY = (
    Column("number", ("工号", "被考核人工号", "员工工号", "number", "appraisee_number"), True),
    Column("name", ("姓名", "被考核人", "被考核人姓名", "name", "appraisee")),
    Column("scorer_number", ("考核人工号", "评分人工号", "scorer_number"), True),
    Column("scorer_name", ("考核人", "考核人姓名", "评分人", "scorer", "scorer_name")),
    Column("role", ("角色", "考核角色", "评分角色", "role"), True),
    # One comment for a whole task has nowhere to go (comments belong to indicators):
    # known, so that it is refused rather than silently dropped.
    Column("comment", ("评语", "comment", "comments")),
)
_COMMENT_SUFFIXES = ("评语", "说明", "comment")
_CHUNK = 5000
# Written with the driver's executemany, in each table's column order.
_ENTRY_COLUMNS = (
    *("task_id", "indicator_id", "value", "comment", "entered_by", "entered_at"),
    "row_hash",
)
_SHOWN_ROWS = 20


def value_key(ind: Indicator) -> str:
    return f"value:{ind.code}"


def scored(scheme: Scheme) -> list[Indicator]:
    """The indicators people score (metric ones come from `jixiao import metrics`)."""
    return [i for i in scheme.indicators if i.kind != IndicatorKind.METRIC]


def comment_key(ind: Indicator) -> str:
    return f"comment:{ind.code}"


def comment_header(ind: Indicator) -> str:
    return f"{ind.name}评语"


def columns(scheme: Scheme) -> tuple[Column, ...]:
    """The sheet's columns for `scheme`: each indicator by name or code, its comment,
    then the identity columns (last, so they win should an indicator share a name)."""
    found: list[Column] = []
    for ind in scored(scheme):
        found.append(Column(value_key(ind), (ind.name, ind.code), True))
        found.append(
            Column(
                comment_key(ind),
                tuple(f"{n}{s}" for s in _COMMENT_SUFFIXES for n in (ind.name, ind.code)),
            )
        )
    return (*found, *IDENTITY)


def check_open(period: Period) -> None:
    """Refuse a period whose scores cannot change now, saying how to get there."""
    if period.state == PeriodState.SCORING:
        return
    target = period.label
    if period.institution is not None:
        target += f" --institution {period.institution.name}"
    if period.state == PeriodState.DRAFT:
        raise Refused(
            _(
                "Period {label} is not open for scoring yet: open it with "
                "`jixiao period open {target} --scheme CODE`."
            ).format(label=period.label, target=target)
        )
    if period.state == PeriodState.SCORING_CLOSED:
        raise Refused(
            _(
                "Scoring for {label} is closed: reopen it with `jixiao period reopen {target}`, "
                "import the scores, then close it again."
            ).format(label=period.label, target=target)
        )
    raise Refused(
        _(
            "Period {label} is {state}: its scores can no longer change, and a published or "
            "final period cannot be reopened."
        ).format(label=period.label, state=state_name(period.state))
    )


@dataclass(frozen=True, slots=True)
class _Task:
    id: int
    appraisee_id: int
    scorer_id: int
    role_code: str
    state: TaskState
    submitted_at: dt.datetime | None
    updated_at: dt.datetime | None


@dataclass(frozen=True, slots=True)
class _Person:
    id: int
    number: str
    name: str


@dataclass(frozen=True, slots=True)
class _Ind:
    """An indicator's fields the row loop reads, read off the ORM object once."""

    ind: Indicator
    id: int
    code: str
    weighted: bool
    vkey: str
    ckey: str

    @classmethod
    def of(cls, ind: Indicator) -> _Ind:
        return cls(ind, ind.id, ind.code, ind.kind in WEIGHTED, value_key(ind), comment_key(ind))


@dataclass(slots=True)
class _Scored:
    """One valid row: the task and its answers by indicator id."""

    row: int
    task: _Task
    answers: dict[int, tuple[Decimal, str]]


@dataclass(slots=True)
class Sheet:
    """The file read, with the period it is for."""

    source: str
    table: Table
    period: Period
    scheme: Scheme


@dataclass(slots=True)
class Plan:
    """A checked file: the tasks to write, and what the report will say."""

    sheet: Sheet
    writes: list[_Scored] = field(default_factory=list)
    # task id → its stored answers and state, for the audit's "before".
    before: dict[int, dict[str, Any]] = field(default_factory=dict)
    scorers: dict[int, _Person] = field(default_factory=dict)
    replaced: int = 0
    unchanged: int = 0
    skipped: list[int] = field(default_factory=list)


@dataclass(slots=True)
class ScoresReport:
    """What a scores import did."""

    source: str
    sheet: str
    period: str
    stored: int = 0  # tasks newly submitted
    replaced: int = 0  # submitted tasks whose answers were replaced
    unchanged: int = 0  # rows whose task already held exactly these answers
    skipped: list[int] = field(default_factory=list)  # rows without scores
    left: int = 0  # tasks of the period still not submitted

    def lines(self) -> list[str]:
        if self.sheet and self.sheet != self.source:
            lines = [
                _("Read sheet {sheet} of {source}.").format(sheet=self.sheet, source=self.source)
            ]
        else:
            lines = [_("Read {source}.").format(source=self.source)]
        lines.append(
            _(
                "Stored {n} scoring tasks of {period} as submitted on the scorers' behalf: "
                "{new} new, {replaced} replaced; {unchanged} rows unchanged."
            ).format(
                n=self.stored + self.replaced,
                period=self.period,
                new=self.stored,
                replaced=self.replaced,
                unchanged=self.unchanged,
            )
        )
        if self.skipped:
            rows = _(", ").join(str(r) for r in self.skipped[:_SHOWN_ROWS])
            if len(self.skipped) > _SHOWN_ROWS:
                rows += _(", ") + "…"
            lines.append(
                ngettext(
                    "Skipped {n} row without scores (row {rows}).",
                    "Skipped {n} rows without scores (rows {rows}).",
                    len(self.skipped),
                ).format(n=len(self.skipped), rows=rows)
            )
        if self.left:
            lines.append(
                ngettext(
                    "{n} scoring task of {period} is still not submitted; "
                    "`jixiao template scores {period}` writes a sheet of it.",
                    "{n} scoring tasks of {period} are still not submitted; "
                    "`jixiao template scores {period}` writes a sheet of them.",
                    self.left,
                ).format(n=self.left, period=self.period)
            )
        else:
            lines.append(
                _("Every scoring task of {period} is submitted.").format(period=self.period)
            )
        return lines


def _load_period(session: Session, period: Period) -> Scheme:
    scheme = session.scalar(
        select(Scheme)
        .where(Scheme.id == period.scheme_id)
        .options(
            selectinload(Scheme.indicators),
            selectinload(Scheme.roles),
            selectinload(Scheme.sections),
        )
    )
    assert scheme is not None
    return scheme


def read_sheet(session: Session, path: Path, period: Period) -> Sheet:
    """Read the file for `period` (refused if its scores cannot change now)."""
    check_open(period)
    scheme = _load_period(session, period)
    problems = Problems()
    table = read_table(path, columns(scheme), problems)
    problems.raise_if_any()
    return Sheet(path.name, table, period, scheme)


def _roles(scheme: Scheme) -> Callable[[object], str]:
    """A reader of the 角色 cell: the scheme's role name or code, or a word for one."""
    by_word: dict[str, str] = {}
    codes = {r.code for r in scheme.roles}
    for word, code in ROLE_WORDS.items():
        if code in codes:
            by_word[canonical(word)] = code
    for role in scheme.roles:
        by_word[canonical(role.code)] = role.code
        by_word[canonical(role.name)] = role.code
    listed = _(", ").join(f"{r.name} ({r.code})" for r in scheme.roles)

    def read(value: object) -> str:
        code = by_word.get(canonical(cells.text(value)))
        if code is None:
            raise BadCell(_("is not a role of this scheme: use {roles}").format(roles=listed))
        return code

    return read


def _cell_text(value: object) -> str:
    """A score cell as the text a scorer would have typed: 90, 90.5, 良."""
    if isinstance(value, (bool, dt.date, dt.datetime, dt.time)):
        raise BadValue(_("is not a number"))
    return cells.text(value)


class _Checker:
    """Checks rows against the stored org, the period's tasks and the scheme."""

    def __init__(self, session: Session, sheet: Sheet, problems: Problems) -> None:
        self.session, self.sheet, self.problems = session, sheet, problems
        self.table = sheet.table
        self.scheme = sheet.scheme
        self.inds = [_Ind.of(i) for i in scored(self.scheme)]
        self.keys = [k for i in self.inds for k in (i.vkey, i.ckey)]
        self.role_of = _roles(self.scheme)
        self.role_names = {r.code: r.name for r in self.scheme.roles}
        self._scores_of: dict[str, set[int]] = {}
        period = sheet.period
        self.people: dict[str, _Person] = {}
        self.by_id: dict[int, _Person] = {}
        for pid, number, name in session.execute(
            select(Employee.id, Employee.number, Employee.name).where(
                Employee.group_id == period.group_id
            )
        ).tuples():
            person = _Person(pid, number, name)
            self.people[number] = person
            self.by_id[pid] = person
        # Numeric 工号 by their digits without leading zeros, to name the near miss when a
        # cell has lost its zeros (a number cell) or gained some.
        self.digits = {n.lstrip("0"): n for n in self.people if n.isdigit()}
        self.tasks: dict[tuple[int, str, int], _Task] = {}
        self.scorers_of: dict[tuple[int, str], list[int]] = {}
        for row in session.execute(
            select(
                ScoringTask.id,
                ScoringTask.appraisee_id,
                ScoringTask.scorer_id,
                ScoringTask.role_code,
                ScoringTask.state,
                ScoringTask.submitted_at,
                ScoringTask.updated_at,
            ).where(ScoringTask.period_id == period.id)
        ).tuples():
            task = _Task(*row)
            self.tasks[(task.appraisee_id, task.role_code, task.scorer_id)] = task
            self.scorers_of.setdefault((task.appraisee_id, task.role_code), []).append(
                task.scorer_id
            )
        self.first_row: dict[int, int] = {}

    def person(self, r: RowReader, key: str, name_key: str) -> _Person | None:
        number = r.get(key, cells.code, required=True)
        if number is None:
            return None
        person = self.people.get(number)
        if person is None:
            near = self.digits.get(number.lstrip("0")) if number.isdigit() else None
            if near is not None and len(near) > len(number):
                r.bad(
                    key,
                    _(
                        "no employee has this 工号; Excel may have dropped the leading zeros "
                        "of {number}: format the column as text"
                    ).format(number=near),
                )
            elif near is not None:
                r.bad(
                    key,
                    _(
                        "no employee has this 工号, but {number} differs from it only in "
                        "leading zeros"
                    ).format(number=near),
                )
            else:
                r.bad(key, _("no employee has this 工号"))
            return None
        if not r.blank(name_key):
            written = cells.text(r.row.cells.get(name_key))
            if canonical(written) != canonical(person.name):
                r.bad(
                    name_key,
                    _("工号 {number} is {name}, not this name").format(
                        number=person.number, name=person.name
                    ),
                )
        return person

    def check(self, row: Row) -> _Scored | None:
        """The row's task and answers; None (with its problems noted) if it is bad."""
        r = RowReader(self.table, row, self.problems)
        if not r.blank("comment"):
            r.bad(
                "comment",
                _("write each comment in the column of its indicator, such as {column}").format(
                    column=comment_header(self.inds[0].ind)
                ),
            )
        appraisee = self.person(r, "number", "name")
        scorer = self.person(r, "scorer_number", "scorer_name")
        role = r.get("role", self.role_of, required=True)
        task = None
        if appraisee and scorer and role:
            task = self._task(r, appraisee, scorer, role)
        answers = self._answers(r, role)
        if not r.ok or task is None:
            return None
        return _Scored(row.number, task, answers)

    def _task(self, r: RowReader, appraisee: _Person, scorer: _Person, role: str) -> _Task | None:
        task = self.tasks.get((appraisee.id, role, scorer.id))
        if task is None:
            others = self.scorers_of.get((appraisee.id, role), [])
            shown = _(", ").join(f"{self.by_id[s].number} {self.by_id[s].name}" for s in others)
            reason = _("{number} {name} has no {role} scoring task by {scorer} in {period}").format(
                number=appraisee.number,
                name=appraisee.name,
                role=self.role_names[role],
                scorer=f"{scorer.number} {scorer.name}",
                period=self.sheet.period.label,
            )
            if shown:
                reason += _("; that task's scorer is {scorers}").format(scorers=shown)
            r.bad("scorer_number" if others else "role", reason)
            return None
        first = self.first_row.setdefault(task.id, r.row.number)
        if first != r.row.number:
            r.bad("number", _("the same scoring task is already in row {row}").format(row=first))
            return None
        return task

    def _answers(self, r: RowReader, role: str | None = None) -> dict[int, tuple[Decimal, str]]:
        answers: dict[int, tuple[Decimal, str]] = {}
        cells_ = r.row.cells
        for spec in self.inds:
            ind, vkey, ckey = spec.ind, spec.vkey, spec.ckey
            if role is not None and self.scheme.sections and spec.id not in self.scores_of(role):
                # With sections, a role scores its own sections' indicators only.
                if not r.blank(vkey):
                    r.bad(
                        vkey,
                        _("{role} does not score this indicator: leave it empty").format(
                            role=self.role_names[role]
                        ),
                    )
                continue
            comment = ""
            if not r.blank(ckey):
                try:
                    comment = check_comment(cells.text(cells_.get(ckey)))
                except BadValue as exc:
                    r.bad(ckey, str(exc))
                    continue
            if r.blank(vkey):
                if spec.weighted:
                    r.bad(
                        vkey,
                        _(
                            "is required: every scored or rated indicator needs a value "
                            "(leave the whole row without scores to skip it)"
                        ),
                    )
                elif comment:
                    r.bad(ckey, _("is a comment without a score"))
                continue
            try:
                value = check(ind, _cell_text(cells_.get(vkey)))
            except BadValue as exc:
                r.bad(vkey, str(exc))
                continue
            if needs_comment(ind, value) and not comment:
                column = self.table.header(ckey) if self.table.has(ckey) else comment_header(ind)
                r.bad(
                    vkey,
                    _("{rule} Write it in column {column}.").format(
                        rule=comment_rule(ind), column=column
                    ),
                )
                continue
            answers[spec.id] = (value, comment)
        return answers

    def scores_of(self, role: str) -> set[int]:
        found = self._scores_of.get(role)
        if found is None:
            found = self._scores_of[role] = {i.id for i in indicators_for(self.scheme, role)}
        return found

    def scoreless(self, row: Row) -> bool:
        """No score and no comment in any indicator column."""
        return all(not row.has(k) for k in self.keys)


def check_scores(
    session: Session, sheet: Sheet, *, overwrite: bool = False, advance: Advance | None = None
) -> Plan:
    """Check every row; raises ImportRefused naming each problem, having written nothing."""
    problems = Problems()
    plan = Plan(sheet)
    if not sheet.table.rows:
        problems.add(_("the file has no rows of scores"))
    checker = _Checker(session, sheet, problems)
    scored: list[_Scored] = []
    codes = [(i.id, i.code) for i in checker.inds]
    for n, row in enumerate(sheet.table.rows, start=1):
        if checker.scoreless(row):
            plan.skipped.append(row.number)
        else:
            found = checker.check(row)
            if found is not None:
                scored.append(found)
        if advance is not None and (n % 500 == 0 or n == len(sheet.table.rows)):
            advance(500 if n % 500 == 0 else n % 500)
    stored = _stored_answers(
        session, [s.task.id for s in scored if s.task.state != TaskState.PENDING]
    )
    submitted = [s.task.id for s in scored if s.task.state == TaskState.SUBMITTED]
    by_hr = behalf.entered_at(session, submitted)
    for s in scored:
        old = stored.get(s.task.id, {})
        if s.task.state == TaskState.SUBMITTED:
            if _same(old, s.answers):
                plan.unchanged += 1
                continue
            hr_at = by_hr.get(s.task.id)
            mine = hr_at is None or (s.task.updated_at is not None and s.task.updated_at > hr_at)
            if mine and not overwrite:
                assert s.task.submitted_at is not None
                problems.add(
                    _(
                        "{scorer} submitted this task themself on {when}, with other scores: "
                        "use --overwrite to replace them"
                    ).format(
                        scorer=checker.by_id[s.task.scorer_id].name,
                        when=when(s.task.submitted_at, _tz(sheet.period)),
                    ),
                    row=s.row,
                )
                continue
            plan.replaced += 1
        plan.writes.append(s)
        plan.before[s.task.id] = {
            "state": str(s.task.state),
            "submitted_at": s.task.submitted_at.isoformat() if s.task.submitted_at else None,
            **_described(codes, old),
        }
        plan.scorers[s.task.id] = checker.by_id[s.task.scorer_id]
    problems.raise_if_any()
    return plan


def _tz(period: Period) -> ZoneInfo:
    return ZoneInfo(period.institution.timezone if period.institution else default_tz())


def _stored_answers(
    session: Session, task_ids: Sequence[int]
) -> dict[int, dict[int, tuple[Decimal, str]]]:
    found: dict[int, dict[int, tuple[Decimal, str]]] = {}
    for start in range(0, len(task_ids), _CHUNK):
        for task_id, ind_id, value, comment in session.execute(
            select(
                ScoreEntry.task_id, ScoreEntry.indicator_id, ScoreEntry.value, ScoreEntry.comment
            ).where(ScoreEntry.task_id.in_(task_ids[start : start + _CHUNK]))
        ).tuples():
            found.setdefault(task_id, {})[ind_id] = (value, comment)
    return found


def _same(old: dict[int, tuple[Decimal, str]], new: dict[int, tuple[Decimal, str]]) -> bool:
    """The same answers: equal numbers (90 is 90.0) and the same comments."""
    return old.keys() == new.keys() and all(
        old[k][0] == new[k][0] and old[k][1] == new[k][1] for k in new
    )


def _described(
    codes: Sequence[tuple[int, str]], answers: dict[int, tuple[Decimal, str]]
) -> dict[str, dict[str, str]]:
    """Answers by indicator code, in the scheme's order, as the audit log keeps them."""
    given = [(code, answers[i]) for i, code in codes if i in answers]
    return {
        "scores": {code: str(value) for code, (value, _c) in given},
        "comments": {code: comment for code, (_v, comment) in given if comment},
    }


def store_scores(
    session: Session, now: dt.datetime, plan: Plan, *, advance: Advance | None = None
) -> ScoresReport:
    """Write a checked plan: each task submitted with its answers, as a scorer's confirm
    in chat leaves it, and audited as HR's entry on the scorer's behalf. Never commits."""
    sheet = plan.sheet
    codes = [(i.id, i.code) for i in sheet.scheme.indicators]
    label = behalf.actor_label(sheet.source)
    conn = session.connection()
    # Run on the connection, so as plain SQL: the session's objects are expired below.
    submit = (
        update(ScoringTask)
        .where(ScoringTask.id == bindparam("task"))
        .values(
            state=TaskState.SUBMITTED,
            submitted_at=now,
            updated_at=now,
            cursor=len(codes),
        )
    )
    for chunk in _chunks(plan.writes):
        ids = [s.task.id for s in chunk]
        conn.execute(delete(ScoreEntry).where(ScoreEntry.task_id.in_(ids)))
        insert_many(
            conn,
            ScoreEntry,
            _ENTRY_COLUMNS,
            # Entered as if by the scorer, as their confirm in chat leaves it: the audit
            # event says who really did.
            (
                (
                    *(entry := (s.task.id, ind_id, value, comment, s.task.scorer_id, now)),
                    row_hash("score_entries", entry),
                )
                for s in chunk
                for ind_id, (value, comment) in s.answers.items()
            ),
        )
        conn.execute(submit, [{"task": task_id} for task_id in ids])
        record_many(
            session,
            (
                (
                    now,
                    None,
                    label,
                    behalf.ACTION,
                    behalf.ENTITY,
                    s.task.id,
                    plan.before[s.task.id],
                    {
                        "state": str(TaskState.SUBMITTED),
                        **_described(codes, s.answers),
                        "scorer_id": s.task.scorer_id,
                        "scorer_number": plan.scorers[s.task.id].number,
                        "row": s.row,
                    },
                    f"entered by HR on behalf of scorer {plan.scorers[s.task.id].number}",
                )
                for s in chunk
            ),
        )
        if advance is not None:
            advance(len(chunk))
    # Tasks this session already holds (a caller that read them first) must not keep
    # their old state and answers: the writes above went around them.
    written = {s.task.id for s in plan.writes}
    for obj in list(session.identity_map.values()):
        if isinstance(obj, ScoringTask) and obj.id in written:
            session.expire(obj)
    left = session.scalar(
        select(func.count(ScoringTask.id)).where(
            ScoringTask.period_id == sheet.period.id, ScoringTask.state != TaskState.SUBMITTED
        )
    )
    return ScoresReport(
        source=sheet.source,
        sheet=sheet.table.name,
        period=sheet.period.label,
        stored=len(plan.writes) - plan.replaced,
        replaced=plan.replaced,
        unchanged=plan.unchanged,
        skipped=plan.skipped,
        left=left or 0,
    )


def _chunks(items: list[_Scored]) -> Iterator[list[_Scored]]:
    for start in range(0, len(items), _CHUNK):
        yield items[start : start + _CHUNK]


def import_scores(
    session: Session, now: dt.datetime, path: Path, *, period: Period, overwrite: bool = False
) -> ScoresReport:
    """Read, check and store a scores file for `period`; raises Refused (ImportRefused
    listing every bad row) having written nothing. Never commits."""
    sheet = read_sheet(session, Path(path), period)
    plan = check_scores(session, sheet, overwrite=overwrite)
    return store_scores(session, now, plan)


# The template: one row per task still to score, headers the importer reads back.


@dataclass(frozen=True, slots=True)
class _Open:
    number: str
    name: str
    scorer_number: str
    scorer_name: str
    role: str


def _open_tasks(session: Session, period: Period, scheme: Scheme) -> list[_Open]:
    appraisee, scorer = aliased(Employee), aliased(Employee)
    position = {r.code: r.position for r in scheme.roles}
    names = {r.code: r.name for r in scheme.roles}
    rows = session.execute(
        select(appraisee.number, appraisee.name, scorer.number, scorer.name, ScoringTask.role_code)
        .join(appraisee, appraisee.id == ScoringTask.appraisee_id)
        .join(scorer, scorer.id == ScoringTask.scorer_id)
        .where(ScoringTask.period_id == period.id, ScoringTask.state != TaskState.SUBMITTED)
    ).tuples()
    found = sorted(rows, key=lambda r: (r[0], position.get(r[4], 0), r[2]))
    return [_Open(n, nm, sn, snm, names.get(role, role)) for n, nm, sn, snm, role in found]


def _rule(ind: Indicator) -> str:
    if ind.comment_below is not None or ind.comment_at_max:
        return comment_rule(ind)
    return ""


def _kind(ind: Indicator) -> str:
    return {
        IndicatorKind.SCORE: _("scored indicator"),
        IndicatorKind.RATING: _("rated indicator"),
        IndicatorKind.BONUS: _("bonus item"),
        IndicatorKind.DEDUCTION: _("deduction item"),
    }[ind.kind]


def _note(ind: Indicator) -> str:
    lines = [_("Allowed: {range}").format(range=allowed(ind))]
    if ind.kind in WEIGHTED:
        lines.append(_("Required; weight {weight}.").format(weight=ind.weight))
    else:
        lines.append(_("Optional: leave blank for none."))
    if rule := _rule(ind):
        lines.append(rule)
    if ind.criteria:
        lines.append(_("Criteria: {text}").format(text=ind.criteria))
    return "\n".join(lines)


def write_template(session: Session, period: Period, path: Path) -> int:
    """Write an .xlsx to fill in: one row per task of `period` not yet submitted, the
    indicator columns empty. Returns the number of rows."""
    import openpyxl  # imported here: loading it costs more than most commands need
    from openpyxl.comments import Comment
    from openpyxl.styles import Font
    from openpyxl.worksheet.datavalidation import DataValidation

    check_open(period)
    scheme = _load_period(session, period)
    tasks = _open_tasks(session, period, scheme)
    if not tasks:
        raise Refused(
            _("Every scoring task of {period} is submitted: there is nothing to fill in.").format(
                period=period.label
            )
        )
    wb = openpyxl.Workbook()
    ws = wb.active
    assert ws is not None
    ws.title = SHEET
    inds = scored(scheme)
    headers = ["工号*", "姓名", "考核人工号*", "考核人", "角色*"]
    for ind in inds:
        headers += [f"{ind.name}*" if ind.kind in WEIGHTED else ind.name, comment_header(ind)]
    ws.append(headers)
    for cell in ws[1]:
        cell.font = Font(bold=True)
    for k, ind in enumerate(inds):
        ws.cell(1, 6 + 2 * k).comment = Comment(_note(ind), "jixiao", width=320, height=160)
        ws.cell(1, 7 + 2 * k).comment = Comment(
            _(
                "Comment on {name}: optional unless required above; up to {limit} characters."
            ).format(name=ind.name, limit=COMMENT_MAX),
            "jixiao",
        )
    for t in tasks:
        ws.append([t.number, t.name, t.scorer_number, t.scorer_name, t.role])
    last = len(tasks) + 1
    for row in ws.iter_rows(min_row=2, max_row=last, max_col=3):
        for cell in row:
            cell.number_format = "@"  # 工号 as text: leading zeros survive Excel
    for k, ind in enumerate(inds):
        validation = _validation(ind, DataValidation)
        if validation is not None:
            ws.add_data_validation(validation)
            col = ws.cell(1, 6 + 2 * k).column_letter
            validation.add(f"{col}2:{col}{last}")
    ws.freeze_panes = "F2"
    for letter, width in zip("ABCDE", (12, 10, 12, 10, 12), strict=True):
        ws.column_dimensions[letter].width = width
    _notes_sheet(wb.create_sheet(NOTES_SHEET), period, inds, Font)
    wb.save(path)
    return len(tasks)


def _validation(ind: Indicator, cls: Any) -> Any:
    """Excel's own check of a typed value, matching the form's (the import checks again)."""
    if ind.kind == IndicatorKind.RATING and ind.levels:
        labels = [str(label) for label, _points in ind.levels]
        formula = '"' + ",".join(labels) + '"'
        if any("," in x or '"' in x for x in labels) or len(formula) > 255:
            return None
        # A warning, not a stop: the level's points (85 for 良) are accepted too.
        return cls(
            type="list",
            formula1=formula,
            allow_blank=True,
            errorStyle="warning",
            error=_("Allowed: {range}").format(range=allowed(ind)),
        )
    return cls(
        type="decimal",
        operator="between",
        formula1=str(ind.min_score),
        formula2=str(input_max(ind)),  # a bonus or deduction item may exceed its cap
        allow_blank=True,
        error=_("Allowed: {range}").format(range=allowed(ind)),
    )


def _notes_sheet(ws: Any, period: Period, inds: Sequence[Indicator], font: Any) -> None:
    lines = [
        _("Scores of period {period}, entered by HR on the scorers' behalf.").format(
            period=period.label
        ),
        _(
            "One row per scoring task. Fill in every column marked *; bonus and deduction "
            "items may stay blank. A row with no scores at all is skipped."
        ),
        _(
            "Ratings take the level's name or its points. A comment goes in the column "
            "after its indicator (<indicator>评语)."
        ),
        _(
            "Import with `jixiao import scores {period} FILE`. All or nothing: any bad row "
            "and nothing is written; every bad row is listed."
        ).format(period=period.label),
        "",
    ]
    for line in lines:
        ws.append([line])
    ws.append(
        [
            _("Indicator"),
            _("Code"),
            _("Kind"),
            _("Weight"),
            _("Allowed values"),
            _("Comment required"),
            _("Criteria"),
        ]
    )
    for cell in ws[len(lines) + 1]:
        cell.font = font(bold=True)
    for ind in inds:
        ws.append(
            [
                ind.name,
                ind.code,
                _kind(ind),
                str(ind.weight) if ind.kind in WEIGHTED else "",
                allowed(ind),
                _rule(ind),
                ind.criteria,
            ]
        )
    ws.column_dimensions["A"].width = 16
    ws.column_dimensions["E"].width = 30
    ws.column_dimensions["F"].width = 30
