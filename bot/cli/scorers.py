"""`jixiao scorers report PERIOD [--xlsx OUT] [--chart OUT.png]`: how each scorer scored."""

from __future__ import annotations

import re
from pathlib import Path

import typer

from bot.appraisal import scorers
from bot.cli.common import GROUP, PERIOD, Failure, transaction
from bot.cli.output import emit
from bot.cli.periods import INSTITUTION, _period
from bot.infra.i18n import _
from bot.notify.chart import spread_boxes
from models import PeriodState

scorers_app = typer.Typer(help=_("How each scorer scores: who gives everyone the same marks."))
# Scorers drawn in the chart: flagged first; the workbook has them all.
CHARTED = 40


def headers() -> list[str]:
    return [
        _("Institution"),
        _("Employee number"),
        _("Scorer"),
        _("Role"),
        _("People scored"),
        _("Average"),
        _("Lowest"),
        _("Highest"),
        _("Std dev"),
        _("Maximum marks (%)"),
        _("Vs peers (points)"),
        _("People with another scorer"),
        _("Vs the other scorer (points)"),
        _("Flags"),
    ]


def cells(s: scorers.Spread, limits: scorers.Thresholds, names: dict[str, str]) -> list[object]:
    def opt(value: object) -> object:
        return "" if value is None else float(scorers.p2(value))  # type: ignore[arg-type]

    return [
        s.institution,
        s.number,
        s.name,
        names.get(s.role, s.role),
        s.people,
        float(scorers.p2(s.mean)),
        float(scorers.p2(s.low)),
        float(scorers.p2(s.high)),
        float(scorers.p2(s.std)),
        float(scorers.p2(s.max_share)),
        opt(s.vs_peers),
        s.other_people,
        opt(s.vs_other),
        _("; ").join(scorers.flag_text(f, limits) for f in s.flags),
    ]


def write_xlsx(
    path: Path,
    title: str,
    found: list[scorers.Spread],
    limits: scorers.Thresholds,
    names: dict[str, str],
) -> None:
    from openpyxl import Workbook
    from openpyxl.styles import Font

    wb = Workbook()
    ws = wb.active
    ws.title = re.sub(r"[\[\]:*?/\\]", "-", title)[:31]
    ws.append(headers())
    for cell in ws[1]:
        cell.font = Font(bold=True)
    for s in found:
        ws.append(cells(s, limits, names))
    for row in ws.iter_rows(min_row=2):
        row[1].number_format = "@"  # 工号 as text: "007" stays "007"
    ws.freeze_panes = "A2"
    wb.save(path)


def report(
    label: str = PERIOD,
    xlsx: str = typer.Option(None, "--xlsx", help=_("Also write the figures to this workbook.")),
    chart: str = typer.Option(
        None, "--chart", help=_("Also draw each scorer's totals to this PNG file.")
    ),
    group: str = GROUP,
    institution: str = INSTITUTION,
) -> None:
    limits = scorers.Thresholds.from_settings()
    with transaction() as s:
        period = _period(s, label, group, institution)
        if period.state in (PeriodState.DRAFT, PeriodState.SCORING):
            raise Failure(
                _(
                    "Period {label} is still open for scoring: the spread is worked out once "
                    "scoring closes."
                ).format(label=period.label)
            )
        only = [period.institution_id] if period.institution_id else None
        found = scorers.spreads(s, period, only, limits)
        names = scorers.role_names(s, period)
    flagged = [x for x in found if x.flags]
    lines = [
        _("Period {label}: {n} scorers, {flagged} flagged (information, never a block).").format(
            label=period.label, n=len(found), flagged=len(flagged)
        ),
        _(
            "Flags: {uniform}; {max_marks}; {above} (settings SCORER_*; fewer than {min} "
            "people: never flagged)."
        ).format(
            uniform=scorers.flag_text(scorers.Flag.UNIFORM, limits),
            max_marks=scorers.flag_text(scorers.Flag.MAX_MARKS, limits),
            above=scorers.flag_text(scorers.Flag.ABOVE_PEERS, limits),
            min=limits.min_people,
        ),
    ]
    current = None
    for x in found:
        if x.institution != current:
            current = x.institution
            lines.append(f"{x.institution}:")
        lines.append("  " + scorers.line(x, limits, names))
    title = _("Scorers {label}").format(label=period.label)
    if xlsx is not None:
        write_xlsx(Path(xlsx), title, found, limits, names)
        lines.append(_("Written: {path}").format(path=xlsx))
    if chart is not None:
        shown = sorted(found, key=lambda x: not x.flags)[:CHARTED]
        Path(chart).write_bytes(
            spread_boxes(
                _("{label}: each scorer's totals (flagged first)").format(label=period.label),
                [
                    (
                        f"{x.institution} {x.name}" + (" *" if x.flags else ""),
                        x.totals,
                    )
                    for x in shown
                ],
                _("Total given (0–100)"),
            )
        )
        lines.append(_("Written: {path}").format(path=chart))
    emit(lines)


def register(app: typer.Typer) -> None:
    scorers_app.command(
        "report",
        help=_(
            "How each scorer scored in a period once scoring has closed: people scored, "
            "range and std dev of their totals, share of maximum marks, difference from "
            "peers and from the other scorer on the same people, and flags."
        ),
    )(report)
    app.add_typer(scorers_app, name="scorers")
