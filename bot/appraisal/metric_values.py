"""Stored metric values (数据采集) as the rest of the system reads them: what the pay
engine takes, and who still lacks one."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.appraisal.pay import Figures, SchemeSpec
from models import Employee, Indicator, IndicatorKind, MetricValue, Period


def missing_values(session: Session, period: Period) -> list[tuple[str, str, str]]:
    """(工号, name, indicator name) of every active appraisee of the period without a
    value of some metric indicator of its scheme, by 工号."""
    inds = session.execute(
        select(Indicator.id, Indicator.name)
        .where(Indicator.scheme_id == period.scheme_id, Indicator.kind == IndicatorKind.METRIC)
        .order_by(Indicator.position)
    ).all()
    if not inds:
        return []
    q = select(Employee.id, Employee.number, Employee.name).where(
        Employee.group_id == period.group_id, Employee.active.is_(True)
    )
    if period.institution_id is not None:
        q = q.where(Employee.institution_id == period.institution_id)
    have = set(
        session.execute(
            select(MetricValue.employee_id, MetricValue.indicator_id).where(
                MetricValue.period_id == period.id
            )
        ).tuples()
    )
    out = []
    for emp_id, number, name in session.execute(q.order_by(Employee.number)).tuples():
        for ind_id, ind_name in inds:
            if (emp_id, ind_id) not in have:
                out.append((number, name, ind_name))
    return out


def values_of(
    session: Session, period_id: int, employee_id: int | None = None
) -> dict[int, dict[str, Figures]]:
    """The period's metric values as the pay engine takes them: by employee, {indicator
    id as text: (target, actual, where the target came from) as text}."""
    q = select(
        MetricValue.employee_id,
        MetricValue.indicator_id,
        MetricValue.target,
        MetricValue.actual,
        MetricValue.source,
    ).where(MetricValue.period_id == period_id)
    if employee_id is not None:
        q = q.where(MetricValue.employee_id == employee_id)
    out: dict[int, dict[str, Figures]] = {}
    for emp, ind, target, actual, source in session.execute(q).tuples():
        out.setdefault(emp, {})[str(ind)] = (str(target), str(actual), source)
    return out


def any_metric(spec: SchemeSpec) -> bool:
    return any(i.kind is IndicatorKind.METRIC for i in spec.indicators)
