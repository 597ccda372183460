"""Calibration (校准): the pay follows the calibrated grade, the trace keeps both, a
recompute keeps it until removed, every change audited, refused outside the window, and
the employee's explanation says what happened, by which role and why."""

from __future__ import annotations

from decimal import Decimal

import pytest
from sqlalchemy import select

from bot.appraisal import quotas
from bot.appraisal.calibration import calibrate, remove
from bot.appraisal.periods import publish_period
from bot.appraisal.results import compute_period
from bot.infra import i18n
from bot.infra.errors import Refused
from models import AuditEvent, Calibration, CalibrationRole, PeriodState, Result
from tests.chat_helpers import Chat, bind
from tests.paysheet_helpers import LATER, cli, period_of
from tests.quota_helpers import scored_period

D = Decimal
HR = CalibrationRole.HR


@pytest.fixture(autouse=True)
def _english():
    with i18n.using("en"):
        yield


def result_of(session, period, employee) -> Result:
    return session.scalar(
        select(Result).where(Result.period_id == period.id, Result.employee_id == employee.id)
    )


def figures(result):
    return (result.total, result.grade, result.coefficient, result.pay)


def test_a_grade_set_by_calibration_sets_the_pay_and_the_trace_keeps_both(session):
    _g, period, staff = scored_period(session)
    third = staff[2]  # 91.00, A: 5000 × 1.5 = 7500.00
    assert figures(result_of(session, period, third)) == (D("91.00"), "A", D("1.5"), D("7500.00"))

    calibrate(session, LATER, period, third, grade="B", reason="季度内有投诉", role=HR)

    result = result_of(session, period, third)
    # The total stays; grade B's coefficient 1.2 makes the pay 5000 × 1.2 = 6000.00.
    assert figures(result) == (D("91.00"), "B", D("1.2"), D("6000.00"))
    c = result.trace["calibration"]
    assert c["computed"] == {
        "total": "91.00",
        "grade": "A",
        "label": "优秀",
        "coefficient": "1.5",
        "pay": "7500.00",
    }
    assert (c["grade"], c["role"], c["reason"]) == ("B", "hr", "季度内有投诉")
    assert result.trace["grade"]["grade"] == "B"
    assert D(result.trace["pay"]["pay"]) == D("6000.00")
    event = session.scalar(select(AuditEvent).where(AuditEvent.action == "result.calibrate"))
    assert (event.before["grade"], event.after["grade"], event.note) == ("A", "B", "季度内有投诉")
    assert event.after["pay"] == "6000.00"


def test_recomputing_keeps_the_calibration_until_it_is_removed(session):
    _g, period, staff = scored_period(session)
    third = staff[2]
    calibrate(session, LATER, period, third, grade="B", reason="校准", role=HR)

    report = compute_period(session, LATER, period)
    assert (report.updated, report.unchanged) == (0, 7)
    assert figures(result_of(session, period, third))[1:] == ("B", D("1.2"), D("6000.00"))

    remove(session, LATER, period, third)
    assert figures(result_of(session, period, third)) == (D("91.00"), "A", D("1.5"), D("7500.00"))
    assert "calibration" not in result_of(session, period, third).trace
    [cal] = session.scalars(select(Calibration)).all()
    assert (cal.removed, cal.computed_grade, cal.computed_total) == (True, "A", D("91.00"))
    assert session.scalar(
        select(AuditEvent).where(AuditEvent.action == "result.calibration_removed")
    )
    report = compute_period(session, LATER, period)
    assert figures(result_of(session, period, third))[1] == "A"
    assert report.unchanged == 7


def test_a_new_calibration_replaces_the_one_in_force(session):
    _g, period, staff = scored_period(session)
    third = staff[2]
    calibrate(session, LATER, period, third, grade="B", reason="一", role=HR)
    calibrate(session, LATER, period, third, grade="C", reason="二", role=CalibrationRole.HEAD)
    result = result_of(session, period, third)
    assert figures(result)[1:] == ("C", D("1.0"), D("5000.00"))
    # Computed values are what the engine gave, not the earlier calibration's.
    assert result.trace["calibration"]["computed"]["grade"] == "A"
    assert [c.removed for c in session.scalars(select(Calibration).order_by(Calibration.id))] == [
        True,
        False,
    ]


def test_a_total_adjustment_is_graded_again(session):
    _g, period, staff = scored_period(session)
    fourth = staff[3]  # 85.00, B
    calibrate(session, LATER, period, fourth, total_adjust=D("5.5"), reason="补录业绩", role=HR)
    # 85.00 + 5.5 = 90.50, grade A from 90: 5000 × 1.5 = 7500.00.
    assert figures(result_of(session, period, fourth)) == (D("90.50"), "A", D("1.5"), D("7500.00"))
    calibrate(session, LATER, period, fourth, total_adjust=D("-40"), reason="违规", role=HR)
    # 85.00 − 40 = 45.00, grade D: 5000 × 0.5 = 2500.00 (from the computed 85, not 90.50).
    assert figures(result_of(session, period, fourth)) == (D("45.00"), "D", D("0.5"), D("2500.00"))


def test_calibration_resolves_the_quota_and_publication_goes_ahead(session):
    _g, period, staff = scored_period(session)
    assert len(quotas.check(session, period)) == 1  # 3 of 7 in A, at most 1
    for person in staff[1:3]:  # the two lowest A totals, 93 and 91
        calibrate(session, LATER, period, person, grade="B", reason="强制分布", role=HR)
    assert quotas.check(session, period) == []
    publish_period(session, LATER, period)
    assert period.state == PeriodState.PUBLISHED
    with pytest.raises(Refused, match="published: its results can no longer be calibrated"):
        calibrate(session, LATER, period, staff[0], grade="B", reason="晚了", role=HR)
    with pytest.raises(Refused, match="can no longer be calibrated"):
        remove(session, LATER, period, staff[1])
    with pytest.raises(Refused, match="not recomputed"):
        compute_period(session, LATER, period)


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"grade": "B", "reason": "  "}, "needs a reason"),
        ({"grade": "Z", "reason": "x"}, "Grade Z is not in scheme STD"),
        ({"grade": "A", "reason": "x"}, "computed as grade A already"),
        ({"grade": "B", "total_adjust": D(1), "reason": "x"}, "not both"),
        ({"reason": "x"}, "not both"),
        ({"total_adjust": D("0.125"), "reason": "x"}, "2 decimal places"),
        ({"total_adjust": D(0), "reason": "x"}, "other than 0"),
        ({"grade": "B", "reason": "长" * 2001}, "longer than 2000"),
    ],
)
def test_bad_calibrations_are_refused_and_change_nothing(session, changes, message):
    _g, period, staff = scored_period(session)
    before = figures(result_of(session, period, staff[0]))
    with pytest.raises(Refused, match=message):
        calibrate(session, LATER, period, staff[0], role=HR, **changes)
    assert figures(result_of(session, period, staff[0])) == before
    assert session.scalar(select(Calibration)) is None


def test_calibration_waits_for_scoring_to_close(session):
    _g, period, staff = scored_period(session, close=False)
    with pytest.raises(Refused, match="once scoring is closed"):
        calibrate(session, LATER, period, staff[0], grade="B", reason="x", role=HR)
    with pytest.raises(Refused, match="once scoring is closed"):
        remove(session, LATER, period, staff[0])


def test_removing_what_is_not_there_is_refused(session):
    _g, period, staff = scored_period(session)
    with pytest.raises(Refused, match="no calibration in 2026-11 to remove"):
        remove(session, LATER, period, staff[0])


def test_the_command_line_calibrates_and_removes(engine, Session):
    with Session() as session, session.begin():
        scored_period(session)
    done = cli(
        engine, "calibrate", "2026-11", "1021", "--grade", "B", "--reason", "有投诉", lang="en"
    )
    assert done.exit_code == 0, done.output
    assert done.stdout.splitlines() == [
        "1021 东城支行员工2 calibrated: total 91.00 → 91.00, grade A → B, pay 7500.00 → 6000.00.",
        "1 grade quota violation remains (`jixiao quotas 2026-11`).",
    ]
    adjust = cli(
        engine,
        "calibrate",
        "2026-11",
        "1011",
        "--total-adjust",
        "-3.5",
        "--reason",
        "x",
        lang="en",
    )
    assert adjust.exit_code == 0, adjust.output
    assert adjust.stdout.splitlines() == [
        "1011 东城支行员工1 calibrated: total 93.00 → 89.50, grade A → B, pay 7500.00 → 6000.00.",
        "Every grade quota rule is met.",
    ]
    undo = cli(engine, "calibrate", "2026-11", "1011", "--remove", lang="en")
    assert undo.exit_code == 0, undo.output
    assert undo.stdout.splitlines()[0] == (
        "1011 东城支行员工1: calibration removed; back to total 93.00, grade A, pay 7500.00."
    )
    for args, message in (
        (("--grade", "B"), "needs a reason"),
        ((), "Say what to calibrate"),
        (("--remove", "--grade", "B"), "--remove takes no"),
        (("--total-adjust", "abc", "--reason", "x"), "is not a number"),
    ):
        bad = cli(engine, "calibrate", "2026-11", "1021", *args, lang="en")
        assert bad.exit_code == 2, bad.output
        assert message in bad.output
    unknown = cli(engine, "calibrate", "2026-11", "9999", "--grade", "B", "--reason", "x")
    assert unknown.exit_code == 2
    with Session() as session:
        assert period_of(session).state == PeriodState.SCORING_CLOSED
        assert (
            session.scalar(
                select(AuditEvent).where(AuditEvent.action == "result.calibrate")
            ).actor_label
            == "cli"
        )


@pytest.mark.parametrize(
    ("lang", "expected"),
    [
        (
            "en",
            [
                "Your result was calibrated by the head of your institution: grade A 优秀 → "
                "B 良好.",
                "Performance pay as computed: CN¥7,500.00; after calibration: CN¥6,000.00.",
                "Reason given: 与同组相比偏高 <b>",
                "Your grade B 良好 was set by calibration; your total 91.00 by itself gives "
                "grade A 优秀.",
            ],
        ),
        (
            "zh_CN",
            [
                "您的结果经本机构负责人校准：等级 A 优秀 → B 良好。",
                "计算所得绩效工资：¥7,500.00；校准后：¥6,000.00。",
                "校准理由：与同组相比偏高 <b>",
                "您的等级 B 良好 由校准确定；仅按总分 91.00 应为 A 优秀。",
            ],
        ),
    ],
)
def test_the_explanation_says_who_calibrated_from_what_to_what_and_why(session, lang, expected):
    _g, period, staff = scored_period(session)
    head = staff[0].manager  # the institution's head
    calibrate(
        session,
        LATER,
        period,
        staff[2],
        grade="B",
        reason="与同组相比偏高 <b>",
        role=CalibrationRole.HEAD,
        actor_id=head.id,
        actor_label="web",
    )
    calibrate(session, LATER, period, staff[1], grade="B", reason="x", role=HR)
    publish_period(session, LATER, period)
    text = Chat(session, bind(session, staff[2], language=lang)).say("/why")
    for line in expected:
        assert line in text, text
    assert head.name not in text  # the role, never the name
    adjusted_text = Chat(session, bind(session, staff[1], "u2", language=lang)).say("/why")
    assert "7,500.00" in adjusted_text
    mine = Chat(session, bind(session, staff[2], "u3", language=lang)).say("/myscore")
    assert ("This result was calibrated" if lang == "en" else "此结果经过校准") in mine
    unchanged = Chat(session, bind(session, staff[0], "u4", language=lang)).say("/myscore")
    assert ("calibrated" if lang == "en" else "校准") not in unchanged
