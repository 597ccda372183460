"""`import metrics`: targets and actuals of metric indicators (数据采集) for a period.

Columns (Chinese or English header; * = required):

    工号* number · 姓名 name · 岗位 position · 指标* indicator (a metric indicator of the
    period's scheme, by code or name) · 目标值 target · 实际值 actual

A row with a 工号 gives that appraisee's actual, and their target (or, with 目标值
blank, the target of their position's row; without one, the scheme version's target for
their position, from its 岗位目标 sheet). Each stored value says which (`source`:
employee, position, scheme), and so does the trace. A row with a 岗位 and no 工号 gives the
target of everyone in that position, and no actual. A target must be more than 0: a
completion rate (actual ÷ target) cannot be worked out from 0 and means nothing against
a negative target (a figure where less is better is a 反向 rule, with a positive
target); the refusal names the row, whose target and the indicator.

All or nothing, every bad row named; a file replaces every value of the period (what
the file leaves out is gone) and is audited. The same checks serve `POST /api/metrics`
(`apply_batch`), which replaces only the values it is given.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy import delete, func, select, tuple_
from sqlalchemy.orm import Session

from bot.appraisal.audit import record
from bot.appraisal.metrics import target_problem
from bot.appraisal.periods import state_name
from bot.importing import cells
from bot.importing.cells import BadCell
from bot.importing.report import Problems
from bot.importing.table import Column, Progress, Row, RowReader, Table, canonical, read_table
from bot.infra.errors import Refused
from bot.infra.i18n import _
from models import (
    Employee,
    Indicator,
    IndicatorKind,
    MetricValue,
    Period,
    PeriodState,
    PositionTarget,
)
from models.db import copy_many

COLUMNS = (
    Column("number", ("工号", "员工工号", "number", "employee"), True),
    Column("name", ("姓名", "name")),
    Column("position", ("岗位", "职位", "position")),
    Column("indicator", ("指标", "指标编码", "指标名称", "indicator"), True),
    Column("target", ("目标值", "目标", "target")),
    Column("actual", ("实际值", "实际", "完成值", "actual")),
)
# Values of a period that is published or final no longer change: its pay is set.
OPEN = (PeriodState.DRAFT, PeriodState.SCORING, PeriodState.SCORING_CLOSED)
STORE_COLUMNS = (
    "period_id",
    "employee_id",
    "indicator_id",
    "target",
    "actual",
    "source",
    "updated_at",
)


@dataclass(slots=True)
class MetricsReport:
    source: str
    period: str
    values: int = 0
    replaced: int = 0
    people: int = 0
    notes: list[str] = field(default_factory=list)

    def lines(self) -> list[str]:
        return [
            _(
                "Imported {source}: {values} metric values of {people} people for {period} "
                "({replaced} values it replaced)."
            ).format(
                source=self.source,
                values=self.values,
                people=self.people,
                period=self.period,
                replaced=self.replaced,
            ),
            *self.notes,
        ]


# employee id, indicator id, target, actual, where the target came from
Value = tuple[int, int, Decimal, Decimal, str]


def check_open(period: Period) -> None:
    if period.state not in OPEN:
        raise Refused(
            _("Period {label} is {state}: its metric values no longer change.").format(
                label=period.label, state=state_name(period.state)
            )
        )


# What a business system's export mostly holds: plain ASCII numbers and codes, read
# here without the general cell readers' folding (the same result, a third of the time
# at 300,000 rows); anything else goes through them.
_PLAIN_NUMBER = re.compile(r"-?[0-9]+(?:\.[0-9]+)?\Z")
_PLAIN_CODE = re.compile(r"[0-9A-Za-z_-]+\Z")


def _number(value: object) -> Decimal:
    if isinstance(value, str) and _PLAIN_NUMBER.match(value):
        return Decimal(value)
    return cells.decimal(value, money=True)


def _code(value: object) -> str:
    if isinstance(value, str) and _PLAIN_CODE.match(value):
        return value
    return cells.code(value)


def _actual(value: object) -> Decimal:
    return _number(value)


class Checker:
    """Checks rows against the period's scheme and the stored org; loads both once."""

    def __init__(self, session: Session, period: Period) -> None:
        self.period = period
        inds = session.execute(
            select(Indicator.id, Indicator.code, Indicator.name, Indicator.kind).where(
                Indicator.scheme_id == period.scheme_id
            )
        ).all()
        self.metric_ids = {i for i, _c, _n, kind in inds if kind == IndicatorKind.METRIC}
        self.names = {i: name for i, _c, name, _k in inds}
        self.indicators: dict[str, int] = {}
        for ind_id, code, name, kind in inds:
            if kind == IndicatorKind.METRIC:
                self.indicators[canonical(code)] = ind_id
                self.indicators.setdefault(canonical(name), ind_id)
        self.others = {
            canonical(w)
            for _i, code, name, kind in inds
            if kind != IndicatorKind.METRIC
            for w in (code, name)
        }
        self.listed = _(", ").join(
            f"{name} ({code})" for _i, code, name, kind in inds if kind == IndicatorKind.METRIC
        )
        q = select(
            Employee.number,
            Employee.id,
            Employee.name,
            Employee.position,
            Employee.active,
            Employee.institution_id,
        ).where(Employee.group_id == period.group_id)
        self.people = {row[0]: row[1:] for row in session.execute(q).tuples()}
        self.position_of = {p[0]: p[2] for p in self.people.values()}
        # The scheme version's targets per position (its 岗位目标 sheet): the default when
        # the file gives none of the person's own or of their position.
        self.defaults: dict[tuple[str, int], Decimal] = {
            (position, ind): target
            for position, ind, target in session.execute(
                select(
                    PositionTarget.position, PositionTarget.indicator_id, PositionTarget.target
                ).where(PositionTarget.scheme_id == period.scheme_id)
            ).tuples()
        }
        self.seen_words: dict[str, int] = {}

    def _plain(
        self, cells_: dict[str, Any], inst: int | None
    ) -> tuple[int, int, Decimal | None, Decimal] | None:
        """A row of plain text (what a business system exports) that is good as it is:
        its person, indicator, target (None: the position's) and actual, read without
        the general cell readers. None for anything else, which the general path reads
        and, if bad, names: the two paths accept exactly the same rows."""
        number, word = cells_.get("number"), cells_.get("indicator")
        target_raw, actual_raw = cells_.get("target"), cells_.get("actual")
        if not (
            isinstance(number, str)
            and isinstance(word, str)
            and isinstance(actual_raw, str)
            and _PLAIN_CODE.match(number)
            and _PLAIN_NUMBER.match(actual_raw)
            and _blank(cells_.get("name"))
            and _blank(cells_.get("position"))
        ):
            return None
        ind = self.seen_words.get(word)
        person = self.people.get(number)
        if ind is None or person is None:
            return None
        emp_id, _name, _position, active, institution_id = person
        if not active or (inst is not None and institution_id != inst):
            return None
        target: Decimal | None = None
        if not _blank(target_raw):
            if not (isinstance(target_raw, str) and _PLAIN_NUMBER.match(target_raw)):
                return None
            target = Decimal(target_raw)
            if target <= 0:
                return None
        return emp_id, ind, target, Decimal(actual_raw)

    def indicator(self, value: object) -> int:
        # A few indicators, named again on every row: each spelling is read once.
        if isinstance(value, str):
            found = self.seen_words.get(value)
            if found is None:
                found = self.seen_words[value] = self._indicator(value)
            return found
        return self._indicator(value)

    def _indicator(self, value: object) -> int:
        word = canonical(cells.text(value))
        found = self.indicators.get(word)
        if found is None:
            if not self.metric_ids:
                raise BadCell(_("the period's scheme has no metric (数据) indicator"))
            if word in self.others:
                raise BadCell(
                    _("is scored by people, not by data: metric indicators are {names}").format(
                        names=self.listed
                    )
                )
            raise BadCell(
                _("is not a metric indicator of this scheme: use {names}").format(names=self.listed)
            )
        return found

    def check(self, table: Table, problems: Problems) -> list[Value]:
        """The values of every good row; each bad one noted in `problems`."""
        positions: dict[tuple[str, int], tuple[Decimal, int]] = {}
        wanted: list[tuple[Row, int, int, Decimal | None, Decimal]] = []
        seen: dict[tuple[int, int], int] = {}
        sheet = table.sheet
        inst = self.period.institution_id
        for row in table.rows:
            fast = self._plain(row.cells, inst)
            if fast is not None:
                emp_id, ind, target, actual = fast
                pair = (emp_id, ind)
                if pair not in seen:
                    seen[pair] = row.number
                    wanted.append((row, emp_id, ind, target, actual))
                    continue
                # A repeat: the general path names it.
            r = RowReader(table, row, problems, sheet=sheet)
            number = r.get("number", _code)
            position = r.get("position", cells.words)
            ind = r.get("indicator", self.indicator, required=True)
            target = r.get("target", _number)
            actual = r.get("actual", _actual)
            if target is not None:
                # Whose target of which indicator, so HR finds it in their own system.
                person_ = self.people.get(number) if number is not None else None
                if person_ is not None:
                    who = f"{number} {person_[1]}"
                elif number is not None:
                    who = number
                else:
                    who = _("position {position}").format(position=position or "—")
                shown = (
                    self.names[ind] if ind is not None else cells.text(row.cells.get("indicator"))
                )
                if (why := target_problem(target, shown, who)) is not None:
                    r.bad("target", why)
                    target = None
            if number is None:
                if r.blank("number") and r.blank("position"):
                    r.bad("number", _("is required but empty (or give a 岗位 for a target)"))
                elif r.blank("number"):
                    # A position's target, for everyone in it without their own.
                    if r.blank("target"):
                        r.bad("target", _("a position's row gives its target: it is empty"))
                    if not r.blank("actual"):
                        r.bad("actual", _("an actual belongs to a person: give their 工号"))
                    if r.ok and ind is not None and position is not None and target is not None:
                        key = (position, ind)
                        if key in positions:
                            r.bad(
                                "position",
                                _("this position's target is already in row {row}").format(
                                    row=positions[key][1]
                                ),
                            )
                        else:
                            positions[key] = (target, row.number)
                continue
            person = self.people.get(number)
            if person is None:
                r.bad("number", _("no employee with this 工号"))
                continue
            emp_id, name, emp_position, active, institution_id = person
            if not active:
                r.bad("number", _("this employee is no longer active"))
            inst = self.period.institution_id
            if inst is not None and institution_id != inst:
                r.bad("number", _("this employee is not in the period's institution"))
            if not r.blank("name") and cells.text(row.cells.get("name")) != name:
                r.bad("name", _("the 工号 is {name}'s").format(name=name))
            if position is not None and position != emp_position:
                r.bad(
                    "position",
                    _("the employee's position is {position}").format(position=emp_position or "—"),
                )
            if r.blank("actual"):
                r.bad("actual", _("is required but empty"))
            if ind is not None:
                key2 = (emp_id, ind)
                if key2 in seen:
                    r.bad(
                        "indicator",
                        _("this person's value of this indicator is already in row {row}").format(
                            row=seen[key2]
                        ),
                    )
                else:
                    seen[key2] = row.number
            if r.ok and ind is not None and actual is not None:
                wanted.append((row, emp_id, ind, target, actual))
        values: list[Value] = []
        for row, emp_id, ind, target, actual in wanted:
            source = "employee"
            if target is None:
                position = self.position_of[emp_id]
                found = positions.get((position, ind))
                default = self.defaults.get((position, ind))
                if found is not None:
                    target, source = found[0], "position"
                elif default is not None:
                    target, source = default, "scheme"
                else:
                    problems.add(
                        _(
                            "no target: give 目标值, or a row for position {position} (here or "
                            "on the scheme workbook's 岗位目标 sheet)"
                        ).format(position=position or "—"),
                        row=row.number,
                        column=table.header("target"),
                        sheet=sheet,
                    )
                    continue
            values.append((emp_id, ind, target, actual, source))
        return values


def _blank(value: object) -> bool:
    return value is None or value == ""


def store(
    session: Session,
    now: dt.datetime,
    period: Period,
    values: list[Value],
    *,
    replace_all: bool,
    action: str,
    actor: str,
    note: str = "",
) -> int:
    """Write `values`: all the period's (`replace_all`) or those (employee, indicator)
    pairs replaced. Returns how many stored values were replaced. Audited."""
    conn = session.connection()
    where = [MetricValue.period_id == period.id]
    if replace_all:
        replaced = session.scalar(select(func.count()).select_from(MetricValue).where(*where)) or 0
        conn.execute(delete(MetricValue).where(*where))
    else:
        pairs = [(v[0], v[1]) for v in values]
        replaced = 0
        for start in range(0, len(pairs), 1000):
            chunk = pairs[start : start + 1000]
            cond = tuple_(MetricValue.employee_id, MetricValue.indicator_id).in_(chunk)
            replaced += conn.execute(delete(MetricValue).where(*where, cond)).rowcount or 0
    copy_many(
        conn,
        MetricValue,
        STORE_COLUMNS,
        ((period.id, e, i, t, a, s, now) for e, i, t, a, s in values),
    )
    record(
        session,
        now,
        action,
        "period",
        period.id,
        actor_label=actor,
        before={"values": replaced},
        after={"values": len(values), "people": len({v[0] for v in values})},
        note=note,
    )
    return replaced


def import_metrics(
    session: Session,
    now: dt.datetime,
    path: Path,
    period: Period,
    *,
    progress: Progress | None = None,
) -> MetricsReport:
    """Replace the period's metric values by the file's. Raises ImportRefused listing
    every problem, having written nothing. Never commits."""
    check_open(period)
    problems = Problems()
    table = read_table(Path(path), COLUMNS, problems, progress=progress)
    problems.raise_if_any()
    values = Checker(session, period).check(table, problems)
    if not table.rows:
        problems.add(_("the file has no rows of values"))
    problems.raise_if_any()
    replaced = store(
        session,
        now,
        period,
        values,
        replace_all=True,
        action="import.metrics",
        actor="import",
        note=Path(path).name,
    )
    report = MetricsReport(
        Path(path).name, period.label, len(values), replaced, len({v[0] for v in values})
    )
    report.notes.extend(table.lines()[1:] if table.sheet else table.lines())
    return report


API_KEYS = {"number", "name", "position", "indicator", "target", "actual"}


def apply_batch(
    session: Session, now: dt.datetime, period: Period, items: Iterable[Mapping[str, Any]]
) -> tuple[int, int]:
    """`POST /api/metrics`: the values of a batch (JSON objects keyed like the file's
    English headers), all or nothing with the file's checks; replaces only those
    (employee, indicator) pairs. Returns (values stored, values replaced)."""
    check_open(period)
    problems = Problems()
    table = Table("api", headers={k: k for k in API_KEYS})
    for n, item in enumerate(items, start=1):
        if not isinstance(item, Mapping):
            problems.add(_("is not an object"), row=n)
            continue
        unknown = sorted(set(item) - API_KEYS)
        if unknown:
            problems.add(
                _("unknown fields: {fields}").format(fields=", ".join(map(str, unknown))), row=n
            )
            continue
        # Numbers come as JSON numbers or text; text keeps what the sender wrote.
        cells_ = {k: v if isinstance(v, str) or v is None else str(v) for k, v in item.items()}
        table.rows.append(Row(n, cells_))
    if not table.rows and not problems:
        problems.add(_("the batch has no values"))
    values = Checker(session, period).check(table, problems)
    problems.raise_if_any()
    replaced = store(
        session, now, period, values, replace_all=False, action="api.metrics", actor="api"
    )
    return len(values), replaced
