"""`import scores` and `template scores`: HR enters scores on scorers' behalf, all or
nothing, checked like the chat form, stored like a chat confirm, audited, and shown to
the scorer in chat; on SQLite and PostgreSQL."""

from __future__ import annotations

import csv
import datetime as dt
from decimal import Decimal
from pathlib import Path

import openpyxl
import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from bot.appraisal.behalf import ACTION
from bot.appraisal.periods import close_period, find_group, open_period
from bot.appraisal.results import compute_period
from bot.cli.main import app
from bot.importing import ImportRefused, import_org, import_scheme
from bot.importing.scores import check_scores, import_scores, read_sheet, write_template
from bot.infra import i18n
from bot.infra.errors import Refused
from models import (
    AuditEvent,
    Employee,
    Period,
    PeriodState,
    Result,
    ScoreEntry,
    ScoringTask,
    TaskState,
)
from tests.chat_helpers import NOW, WORDS, Chat, Tap, bind, build_world

D = Decimal
LATER = NOW + dt.timedelta(hours=2)
HEAD = ["工号", "姓名", "考核人工号", "考核人", "角色", "业绩", "业绩评语", "质量", "态度"]
HEAD += ["创新加分", "违纪扣分"]
ZHANG = ["003", "张三", "002", "李经理", "直接上级", 90, None, 85, "良好", None, 1]
LI = ["004", "李四", "002", "李经理", "manager", 70, None, 60, 60, 2, None]
TEMPLATES = Path(__file__).resolve().parent.parent / "docs/templates"


@pytest.fixture(autouse=True)
def _english():
    """Reports are asserted in English, the source language."""
    with i18n.using("en"):
        yield


@pytest.fixture
def w(session):
    world = build_world(session)
    session.commit()
    return world


def xlsx(tmp_path: Path, rows, headers=HEAD, name="scores.xlsx") -> Path:
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(headers)
    for row in rows:
        ws.append(row)
    path = tmp_path / name
    wb.save(path)
    return path


def written(session) -> dict[str, object]:
    """Everything an import could write."""
    session.expire_all()
    return {
        "entries": sorted(
            session.execute(
                select(ScoreEntry.task_id, ScoreEntry.indicator_id, ScoreEntry.value)
            ).tuples()
        ),
        "tasks": sorted(
            session.execute(select(ScoringTask.id, ScoringTask.state, ScoringTask.cursor)).tuples()
        ),
        "audit": session.scalar(select(func.count(AuditEvent.id))),
    }


def imported(session, w, path, at=NOW, **options):
    report = import_scores(session, at, path, period=w.period, **options)
    session.commit()
    session.expire_all()
    return report


def refused(session, w, path, **options) -> list[str]:
    before = written(session)
    with pytest.raises(ImportRefused) as exc:
        import_scores(session, NOW, path, period=w.period, **options)
    session.rollback()
    assert written(session) == before
    return exc.value.lines()


def answers(session, task) -> dict[str, tuple[str, str]]:
    session.refresh(task)
    return {e.indicator.code: (str(e.value), e.comment) for e in task.entries}


def task_of(session, w, appraisee) -> ScoringTask:
    return session.scalars(
        select(ScoringTask).where(
            ScoringTask.period_id == w.period.id, ScoringTask.appraisee_id == appraisee.id
        )
    ).one()


# Stored as a chat confirm would store it, audited as HR's entry.


def test_rows_become_submitted_tasks_like_a_chat_confirm_and_are_audited(session, w, tmp_path):
    report = imported(session, w, xlsx(tmp_path, [ZHANG, LI]))
    zhang, li = task_of(session, w, w.staff[0]), task_of(session, w, w.staff[1])
    assert answers(session, zhang) == {
        "perf": ("90", ""),
        "quality": ("85", ""),
        "attitude": ("80", ""),
        "penalty": ("1", ""),
    }
    assert answers(session, li)["bonus"] == ("2", "")
    for task in (zhang, li):
        assert task.state == TaskState.SUBMITTED
        assert task.submitted_at == NOW
        assert task.cursor == 5  # the form shows the summary, not the first question
        assert {e.entered_by for e in task.entries} == {w.manager.id}
    assert task_of(session, w, w.staff[2]).state == TaskState.PENDING
    events = session.scalars(select(AuditEvent).where(AuditEvent.action == ACTION)).all()
    assert len(events) == 2
    event = next(e for e in events if e.entity_id == zhang.id)
    assert event.actor_label == "hr-import:scores.xlsx"
    assert event.actor_id is None
    assert event.after["scorer_id"] == w.manager.id
    assert event.after["scorer_number"] == "002"
    assert event.after["scores"] == {
        "perf": "90",
        "quality": "85",
        "attitude": "80",
        "penalty": "1",
    }
    assert event.before["state"] == "pending"
    assert report.lines() == [
        "Read sheet Sheet of scores.xlsx.",
        "Stored 2 scoring tasks of 2026-11 as submitted on the scorers' behalf: "
        "2 new, 0 replaced; 0 rows unchanged.",
        "1 scoring task of 2026-11 is still not submitted; "
        "`jixiao template scores 2026-11` writes a sheet of it.",
    ]


def test_results_compute_from_imported_scores_as_from_chat(session, w, tmp_path):
    imported(session, w, xlsx(tmp_path, [ZHANG]))
    compute_period(session, NOW, w.period, actor="test")
    result = session.scalars(
        select(Result).where(Result.period_id == w.period.id, Result.employee_id == w.zhang.id)
    ).one()
    # 0.4 × 90 + 0.3 × 85 + 0.3 × 80 − 1, the manager being the only role present.
    assert result.total == D("84.50")
    assert result.grade == "B"


def test_cells_are_read_as_a_scorer_types_them(session, w, tmp_path):
    """Full-width digits, 分, text or number cells, a rating by name or by points."""
    rows = [
        ["003", "张三", "002", "李经理", "直接上级", "９０．５", None, "88分", 80, None, None],
        ["004", "李四", "002", "李经理", "直接上级", 77.25, None, "60", "合格", None, None],
    ]
    imported(session, w, xlsx(tmp_path, rows))
    assert answers(session, task_of(session, w, w.staff[0])) == {
        "perf": ("90.5", ""),
        "quality": ("88", ""),
        "attitude": ("80", ""),
    }
    assert answers(session, task_of(session, w, w.staff[1]))["perf"] == ("77.25", "")
    assert answers(session, task_of(session, w, w.staff[1]))["attitude"] == ("60", "")


def test_comments_the_scheme_requires_are_taken_from_the_comment_column(session, w, tmp_path):
    rows = [
        ["003", "张三", "002", "李经理", "直接上级", 50, "任务未完成", 85, "良好", None, None],
        ["004", "李四", "002", "李经理", "直接上级", 100, "超额完成", 60, 60, None, None],
    ]
    imported(session, w, xlsx(tmp_path, rows))
    assert answers(session, task_of(session, w, w.staff[0]))["perf"] == ("50", "任务未完成")
    assert answers(session, task_of(session, w, w.staff[1]))["perf"] == ("100", "超额完成")


def test_a_csv_in_gb18030_imports_like_a_workbook(session, w, tmp_path):
    path = tmp_path / "scores.csv"
    with path.open("w", encoding="gb18030", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(HEAD)
        writer.writerow(["" if v is None else v for v in ZHANG])
    report = imported(session, w, path)
    assert report.lines()[0] == "Read scores.csv."
    assert answers(session, task_of(session, w, w.staff[0]))["attitude"] == ("80", "")


def test_rows_without_scores_are_skipped_and_reported(session, w, tmp_path):
    rows = [ZHANG, ["004", "李四", "002", "李经理", "直接上级"], ["005", "赵六", "002", "李经理"]]
    report = imported(session, w, xlsx(tmp_path, rows))
    assert report.skipped == [3, 4]
    assert "Skipped 2 rows without scores (rows 3, 4)." in report.lines()
    assert task_of(session, w, w.staff[1]).state == TaskState.PENDING


def test_progress_counts_every_row_checked(session, w, tmp_path):
    sheet = read_sheet(session, xlsx(tmp_path, [ZHANG, LI, ["005"]]), w.period)
    seen: list[int] = []
    plan = check_scores(session, sheet, advance=seen.append)
    assert sum(seen) == 3
    assert len(plan.writes) == 2


# All or nothing: every bad row named.


def head_tasks(session, w) -> None:
    """The head scores the manager and the staff too."""
    for person in [w.manager, *w.staff]:
        session.add(
            ScoringTask(
                period_id=w.period.id,
                scorer_id=w.head.id,
                appraisee_id=person.id,
                role_code="head",
                deadline=w.period.deadline,
            )
        )
    session.commit()


def test_every_bad_row_is_named_and_nothing_is_written(session, w, tmp_path):
    head_tasks(session, w)

    def row(number, scorer, role, *values, name=""):
        return [number, name, scorer, "", role, *values]

    rows = [
        ZHANG,  # row 2
        row("999", "002", "直接上级", 90, None, 85, 80, None, None),
        row("004", "888", "直接上级", 90, None, 85, 80, None, None, name="王五"),
        row("004", "002", "同事", 90, None, 85, 80, None, None),
        row("004", "002", "一把手", 90, None, 85, 80, None, None),  # row 6
        row("004", "002", "直接上级", 101, None, "abc", "很好", None, None),
        row("005", "002", "直接上级", 90.555, None, 85, 80, 101, None),
        row("003", "001", "一把手", 50, None, 85, 80, None, None),
        row("004", "001", "head", 90, "长" * 501, 85, 80, None, None),  # row 10
        row("005", "001", "一把手", 90, None, None, 80, None, None),
        row("002", "001", "一把手", True, None, 85, 80, None, None),
        row("003", "002", "manager", 90, None, 85, 80, None, None),
    ]
    lines = refused(session, w, xlsx(tmp_path, rows))
    assert lines == [
        "Row 3, column 工号, value “999”: no employee has this 工号",
        "Row 4, column 姓名, value “王五”: 工号 004 is 李四, not this name",
        "Row 4, column 考核人工号, value “888”: no employee has this 工号",
        "Row 5, column 角色, value “同事”: is not a role of this scheme: use "
        "直接上级 (manager), 一把手 (head)",
        "Row 6, column 考核人工号, value “002”: 004 李四 has no 一把手 scoring task by "
        "002 李经理 in 2026-11; that task's scorer is 001 王行长",
        "Row 7, column 业绩, value “101”: 101 is outside the allowed range 0–100.",
        "Row 7, column 质量, value “abc”: “abc” is not a number: type digits, such as 90 or 90.5.",
        "Row 7, column 态度, value “很好”: “很好” is not one of the levels: 优秀 (100), "
        "良好 (80), 合格 (60), 不合格 (0).",
        "Row 8, column 业绩, value “90.555”: Use at most two decimal places, such as 90.25.",
        # An item's cap applies in the total; what may be entered goes further.
        "Row 8, column 创新加分, value “101”: 101 is outside the allowed range 0–100, "
        "counts at most 5.",
        "Row 9, column 业绩, value “50”: A comment is required for a score below 60 or at the "
        "maximum. Write it in column 业绩评语.",
        f"Row 10, column 业绩评语, value “{'长' * 501}”: The comment is 501 characters long; "
        "keep it under 500.",
        "Row 11, column 质量: is required: every scored or rated indicator needs a value "
        "(leave the whole row without scores to skip it)",
        "Row 12, column 业绩, value “True”: is not a number",
        "Row 13, column 工号, value “003”: the same scoring task is already in row 2",
        "Nothing was imported: 15 problems found.",
    ]


def test_a_task_with_another_scorer_names_the_scorer_it_has(session, w, tmp_path):
    rows = [["003", "", "001", "", "直接上级", 90, None, 85, 80, None, None]]
    assert refused(session, w, xlsx(tmp_path, rows))[0] == (
        "Row 2, column 考核人工号, value “001”: 003 张三 has no 直接上级 scoring task by "
        "001 王行长 in 2026-11; that task's scorer is 002 李经理"
    )


def test_a_number_cell_that_lost_its_leading_zeros_gets_a_hint(session, w, tmp_path):
    rows = [[3, "", "002", "", "直接上级", 90, None, 85, 80, None, None]]
    assert refused(session, w, xlsx(tmp_path, rows))[0] == (
        "Row 2, column 工号, value “3”: no employee has this 工号; Excel may have dropped the "
        "leading zeros of 003: format the column as text"
    )


def test_a_text_number_with_extra_leading_zeros_names_the_near_miss(session, w, tmp_path):
    rows = [["0003", "", "002", "", "直接上级", 90, None, 85, 80, None, None]]
    assert refused(session, w, xlsx(tmp_path, rows))[0] == (
        "Row 2, column 工号, value “0003”: no employee has this 工号, but 003 differs from it "
        "only in leading zeros"
    )


def test_a_file_without_rows_is_refused(session, w, tmp_path):
    assert refused(session, w, xlsx(tmp_path, [])) == [
        "The file has no rows of scores",
        "Nothing was imported: 1 problem found.",
    ]


def test_a_missing_indicator_column_or_one_comment_for_the_task_is_refused(session, w, tmp_path):
    lines = refused(session, w, xlsx(tmp_path, [ZHANG[:10]], headers=HEAD[:10]))
    assert lines[0] == "Required column 违纪扣分 is missing"
    rows = [[*ZHANG, "很好"]]
    lines = refused(session, w, xlsx(tmp_path, rows, headers=[*HEAD, "评语"], name="b.xlsx"))
    assert lines[0] == (
        "Row 2, column 评语, value “很好”: write each comment in the column of its "
        "indicator, such as 业绩评语"
    )


def test_a_comment_without_a_score_is_refused(session, w, tmp_path):
    rows = [[*ZHANG, "无"]]
    lines = refused(session, w, xlsx(tmp_path, rows, headers=[*HEAD, "创新加分评语"]))
    assert lines[0] == "Row 2, column 创新加分评语, value “无”: is a comment without a score"


@pytest.mark.parametrize(
    ("state", "says"),
    [
        (PeriodState.SCORING_CLOSED, "reopen it with `jixiao period reopen 2026-11`"),
        (PeriodState.PUBLISHED, "cannot be reopened"),
        (PeriodState.DRAFT, "open it with `jixiao period open 2026-11 --scheme CODE`"),
    ],
)
def test_a_period_not_open_for_scoring_is_refused_saying_how_to_reopen(
    session, w, tmp_path, state, says
):
    w.period.state = state
    session.commit()
    before = written(session)
    with pytest.raises(Refused) as exc:
        import_scores(session, NOW, xlsx(tmp_path, [ZHANG]), period=w.period)
    assert says in str(exc.value)
    session.rollback()
    assert written(session) == before


# Tasks already submitted.


def scorer_submits_zhang(session, w, lang="en") -> Chat:
    chat = Chat(session, bind(session, w.manager, language=lang))
    chat.say("/score")
    chat.say(Tap("张三"))
    chat.say("90 85 80")
    chat.say(Tap(WORDS[lang]["skip"]))
    chat.say(Tap(WORDS[lang]["skip"]))
    chat.say(Tap(WORDS[lang]["confirm"]))
    session.commit()
    return chat


def test_a_task_the_scorer_submitted_is_refused_unless_overwrite(session, w, tmp_path):
    scorer_submits_zhang(session, w)
    # The same answers: nothing to refuse, nothing to write.
    same = ["003", "张三", "002", "李经理", "直接上级", 90, None, 85, 80, None, None]
    report = imported(session, w, xlsx(tmp_path, [same]), at=LATER)
    assert (report.stored, report.replaced, report.unchanged) == (0, 0, 1)
    assert session.scalar(select(func.count()).where(AuditEvent.action == ACTION)) == 0

    lines = refused(session, w, xlsx(tmp_path, [ZHANG], name="b.xlsx"))
    assert lines[0] == (
        "Row 2: 李经理 submitted this task themself on Dec 3, 2026 10:00, with other scores: "
        "use --overwrite to replace them"
    )

    report = imported(session, w, xlsx(tmp_path, [ZHANG], name="b.xlsx"), at=LATER, overwrite=True)
    assert (report.stored, report.replaced) == (0, 1)
    task = task_of(session, w, w.zhang)
    assert answers(session, task)["penalty"] == ("1", "")
    event = session.scalars(select(AuditEvent).where(AuditEvent.action == ACTION)).one()
    assert event.before["scores"] == {"perf": "90", "quality": "85", "attitude": "80"}
    assert event.before["state"] == "submitted"
    assert event.after["scores"]["penalty"] == "1"
    assert event.actor_label == "hr-import:b.xlsx"


def test_hr_may_import_its_own_tasks_again_until_the_scorer_changes_them(session, w, tmp_path):
    imported(session, w, xlsx(tmp_path, [ZHANG]))
    report = imported(session, w, xlsx(tmp_path, [ZHANG]), at=LATER)
    assert report.unchanged == 1
    assert session.scalar(select(func.count()).where(AuditEvent.action == ACTION)) == 1

    changed = [*ZHANG[:5], 95, *ZHANG[6:]]
    report = imported(session, w, xlsx(tmp_path, [changed], name="b.xlsx"), at=LATER)
    assert report.replaced == 1
    assert answers(session, task_of(session, w, w.zhang))["perf"] == ("95", "")

    # The scorer edits one score in chat: from now on the task is theirs.
    chat = Chat(session, bind(session, w.manager, language="en"), now=LATER + dt.timedelta(hours=1))
    chat.say("/score")
    chat.say(Tap("张三"))
    chat.say(Tap("Edit"))
    chat.say("96")
    session.commit()
    lines = refused(session, w, xlsx(tmp_path, [ZHANG], name="c.xlsx"))
    assert "use --overwrite to replace them" in lines[0]


def test_a_draft_is_replaced_and_submitted_with_the_draft_in_the_audit(session, w, tmp_path):
    chat = Chat(session, bind(session, w.manager, language="en"))
    chat.say("/score")
    chat.say(Tap("张三"))
    chat.say("55 差一点")  # a value with its comment, then leave: a draft
    chat.say(Tap("Save and leave"))
    session.commit()
    assert task_of(session, w, w.zhang).state == TaskState.DRAFT
    imported(session, w, xlsx(tmp_path, [ZHANG]))
    task = task_of(session, w, w.zhang)
    assert task.state == TaskState.SUBMITTED
    assert answers(session, task)["perf"] == ("90", "")
    event = session.scalars(select(AuditEvent).where(AuditEvent.action == ACTION)).one()
    assert event.before["state"] == "draft"
    assert event.before["scores"] == {"perf": "55"}
    assert event.before["comments"] == {"perf": "差一点"}


# The scorer sees it in chat.


@pytest.mark.parametrize("lang", ["zh_CN", "en"])
def test_the_scorer_sees_the_task_submitted_with_a_line_saying_hr_entered_it(
    session, w, tmp_path, lang
):
    imported(session, w, xlsx(tmp_path, [ZHANG]))
    chat = Chat(session, bind(session, w.manager, language=lang), now=LATER)
    words = WORDS[lang]
    assert "✅ 张三" in " ".join([chat.say("/score"), *chat.labels()])
    shown = chat.say(Tap("张三"))
    entered = {
        "zh_CN": "人力资源部已于 2026年12月3日 10:00 代您录入这些评分。",
        "en": "HR entered these scores on your behalf on Dec 3, 2026 10:00.",
    }[lang]
    assert entered in shown
    assert words["summary"] in shown
    for value in ("1. 业绩: 90", "2. 质量: 85", "3. 态度: 80", "5. 违纪扣分: 1"):
        assert value in shown
    # Edited by the scorer afterwards, it says so.
    chat.say(Tap(words["edit"]))
    chat.say("91")
    chat.say("/score")
    shown = chat.say(Tap("张三"))
    assert {"zh_CN": "此后您做过修改", "en": "you changed them since"}[lang] in shown
    assert "1. 业绩: 91" in shown


def test_a_chat_submitted_task_has_no_hr_line(session, w):
    chat = scorer_submits_zhang(session, w)
    chat.say("/score")
    shown = chat.say(Tap("张三"))
    assert "Submitted" in shown
    assert "HR entered" not in shown


# The template, and the way back in.


def test_the_template_lists_the_open_tasks_with_text_numbers_notes_and_checks(session, w, tmp_path):
    imported(session, w, xlsx(tmp_path, [ZHANG]))
    path = tmp_path / "template.xlsx"
    assert write_template(session, w.period, path) == 2
    wb = openpyxl.load_workbook(path)
    assert wb.sheetnames == ["评分", "说明"]
    ws = wb["评分"]
    rows = list(ws.iter_rows(values_only=True))
    assert rows[0] == (
        "工号*",
        "姓名",
        "考核人工号*",
        "考核人",
        "角色*",
        "业绩*",
        "业绩评语",
        "质量*",
        "质量评语",
        "态度*",
        "态度评语",
        "创新加分",
        "创新加分评语",
        "违纪扣分",
        "违纪扣分评语",
    )
    assert [r[:5] for r in rows[1:]] == [
        ("004", "李四", "002", "李经理", "直接上级"),
        ("005", "赵六", "002", "李经理", "直接上级"),
    ]
    assert all(v is None for r in rows[1:] for v in r[5:])
    assert ws["A2"].number_format == "@"
    assert ws["A2"].data_type == "s"
    assert "0–100" in ws["F1"].comment.text
    assert "below 60" in ws["F1"].comment.text
    assert "优秀 (100)" in ws["J1"].comment.text
    checks = {str(v.sqref): v for v in ws.data_validations.dataValidation}
    assert checks["J2:J3"].formula1 == '"优秀,良好,合格,不合格"'
    assert (checks["F2:F3"].formula1, checks["F2:F3"].formula2) == ("0", "100")
    # A deduction item capped at 5 may be entered above it, as in the chat form: the cap
    # applies in the total.
    assert (checks["L2:L3"].formula1, checks["L2:L3"].formula2) == ("0", "100")
    notes = [r[0] for r in wb["说明"].iter_rows(values_only=True)]
    assert "业绩" in notes
    assert "违纪扣分" in notes


def test_a_filled_in_template_imports(session, w, tmp_path):
    path = tmp_path / "template.xlsx"
    write_template(session, w.period, path)
    wb = openpyxl.load_workbook(path)
    ws = wb["评分"]
    for row, values in ((2, [90, None, 85, None, "良好"]), (3, [70, None, 60, None, 60])):
        for k, v in enumerate(values):
            ws.cell(row, 6 + k).value = v
    ws.cell(4, 6).value = None  # 赵六 left for later
    wb.save(path)
    report = imported(session, w, path)
    assert (report.stored, report.skipped, report.left) == (2, [4], 1)


def test_a_template_of_a_fully_scored_period_is_refused(session, w, tmp_path):
    rows = [ZHANG, LI, ["005", "赵六", "002", "李经理", "直接上级", 80, None, 80, 80, None, None]]
    imported(session, w, xlsx(tmp_path, rows))
    with pytest.raises(Refused, match="nothing to fill in"):
        write_template(session, w.period, tmp_path / "t.xlsx")
    assert not (tmp_path / "t.xlsx").exists()


def _example_period(session) -> Period:
    """The shipped example org and scheme, and 2026-12 open for scoring."""
    import_org(session, NOW, TEMPLATES / "org_example.xlsx")
    session.flush()
    group = find_group(session, None)
    import_scheme(session, NOW, TEMPLATES / "scheme_example.xlsx", group)
    session.flush()
    period, _tasks = open_period(
        session, NOW, group=group, label="2026-12", scheme_code="STD", deadline=dt.date(2027, 1, 7)
    )
    session.commit()
    return period


def cli(engine, *args: str):
    url = engine.url.render_as_string(hide_password=False)
    return CliRunner().invoke(app, ["--database-url", url, "--lang", "en", *args])


def test_template_fill_import_compute_gives_the_expected_totals_on_the_example_scheme(
    engine, session, tmp_path
):
    """Through the command line: template → filled in as HR would → import → compute."""
    period = _example_period(session)
    path = tmp_path / "scores.xlsx"
    done = cli(engine, "template", "scores", "2026-12", "--output", str(path))
    assert done.exit_code == 0, done.output
    assert "Wrote" in done.stdout

    wb = openpyxl.load_workbook(path)
    ws = wb["评分"]
    header = [c.value for c in ws[1]]
    # By role: each scored indicator's value, and 工作质量's level.
    fill = {"直接上级": (90, "良"), "机构负责人": (80, "中"), "本人自评": (100, "优")}
    roles: dict[str, set[str]] = {}
    for row in ws.iter_rows(min_row=2):
        number, role = row[0].value, row[4].value
        roles.setdefault(number, set()).add(role)
        score, level = fill[role]
        for cell, name in zip(row, header, strict=True):
            if name in ("工作业绩*", "工作态度*", "团队协作*", "学习成长*", "合规纪律*"):
                cell.value = score
            elif name == "工作质量*":
                cell.value = level
            elif name == "加分项" and number == "20004" and role != "本人自评":
                cell.value = 2
    wb.save(path)

    done = cli(engine, "import", "scores", "2026-12", str(path))
    assert done.exit_code == 0, done.output
    assert "Read sheet 评分 of scores.xlsx." in done.stdout
    assert "Every scoring task of 2026-12 is submitted." in done.stdout

    session.expire_all()
    compute_period(session, NOW, period, actor="test")
    session.commit()
    totals = dict(
        session.execute(
            select(Employee.number, Result.total)
            .join(Result, Result.employee_id == Employee.id)
            .where(Result.period_id == period.id)
        ).all()
    )
    # Manager alone: 0.4 × 90 + 0.2 × 85 + 0.4 × 90 = 89; with the head (70 : 30):
    # 0.7 × 89 + 0.3 × (0.4 × 80 + 0.2 × 70 + 0.4 × 80) = 85.7. Self-assessment weighs 0.
    expected = {}
    for number, present in roles.items():
        if "直接上级" not in present:
            continue  # nobody with weight scores them: no total to expect
        total = D("85.70") if "机构负责人" in present else D("89.00")
        expected[number] = total + (2 if number == "20004" else 0)
    assert len(expected) >= 10
    assert {n: totals.get(n) for n in expected} == expected


def test_the_cli_reports_every_bad_row_on_stderr_and_exits_2(engine, session, w, tmp_path):
    rows = [ZHANG, ["004", "", "002", "", "直接上级", 101, None, 85, 80, None, None]]
    done = cli(engine, "import", "scores", "2026-11", str(xlsx(tmp_path, rows)))
    assert done.exit_code == 2
    assert done.stderr.splitlines() == [
        "Row 3, column 业绩, value “101”: 101 is outside the allowed range 0–100.",
        "Nothing was imported: 1 problem found.",
    ]
    assert session.scalar(select(func.count(ScoreEntry.id))) == 15  # the older periods'


def test_the_cli_refuses_a_closed_period_and_an_existing_template_file(
    engine, session, w, tmp_path
):
    existing = tmp_path / "t.xlsx"
    existing.write_bytes(b"HR's half-filled sheet")
    done = cli(engine, "template", "scores", "2026-11", "--output", str(existing))
    assert done.exit_code == 2
    assert "already exists" in done.stderr
    assert existing.read_bytes() == b"HR's half-filled sheet"

    # A folder that is really a file: the template cannot be written there.
    (tmp_path / "no").write_text("a file, not a folder")
    done = cli(engine, "template", "scores", "2026-11", "--output", str(tmp_path / "no/t.xlsx"))
    assert done.exit_code == 2
    assert "cannot be written" in done.stderr

    close_period(session, NOW, w.period)
    session.commit()
    done = cli(engine, "import", "scores", "2026-11", str(xlsx(tmp_path, [ZHANG])))
    assert done.exit_code == 2
    assert "`jixiao period reopen 2026-11`" in done.stderr
