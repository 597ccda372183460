"""`results compute`: indicators by name and true reasons, an exit status a script can
use, the work committed before anything is printed, progress."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from sqlalchemy import func, select

from bot.appraisal.periods import close_period, publish_period
from bot.appraisal.results import appraisee_count, compute_period
from models import Result
from tests.paysheet_helpers import LATER, cli, heads_managed, join, open_, org, period_of, score

ROOT = Path(__file__).resolve().parent.parent


def results(session):
    return session.scalar(select(func.count(Result.id)))


def test_the_report_names_missing_indicators_by_name(session):
    group, _people = org(session, two_indicators=True)
    period = open_(session, group)
    score(session, period, roles={"manager"}, skip={"quality"})
    report = compute_period(session, LATER, period)
    assert report.created == 0
    by_number = {u.number: u for u in report.incomplete}
    assert by_number["1001"].indicators == ["质量"]
    assert by_number["1001"].name == "东城支行员工0"
    # Heads have no submitted task in a role that counts: every weighted indicator.
    assert by_number["100"].indicators == ["业绩", "质量"]
    assert [u.number for u in report.incomplete] == sorted(by_number, key=lambda n: (len(n), n))


def test_compute_prints_names_and_true_reasons_and_exits_3_when_some_are_incomplete(
    engine, Session
):
    with Session() as session, session.begin():
        group, people = org(session, two_indicators=True)
        period = open_(session, group)
        score(session, period, roles={"manager"}, skip={"quality"})
        join(session, group, people)
    result = cli(engine, "results", "compute", "2026-11")
    assert result.exit_code == 3, result.output
    out = result.stdout
    assert out.splitlines()[0] == "2026-11 结果：新增 0 条，变更 0 条，未变 0 条，不完整 9 条。"
    assert "1001 东城支行员工0：缺少 质量，待提交：机构负责人 东城支行行长" in out
    assert "100 东城支行行长：没有计入权重的考核人：只有本人，权重为 0" in out
    assert "有 1 名在职员工在考核周期 2026-11 没有评分任务，不会有结果：3001 新员工" in out
    assert "quality" not in out
    assert "perf" not in out
    assert "任何指标" not in out


def test_nobody_submitted_says_so_and_who_is_awaited(engine, Session):
    with Session() as session, session.begin():
        group, _people = org(session)
        open_(session, group)
    result = cli(engine, "--lang", "en", "results", "compute", "2026-11")
    assert result.exit_code == 3, result.output
    assert (
        "1001 东城支行员工0: no counting score submitted yet; waiting for "
        "直接上级 东城支行行长, 机构负责人 东城支行行长\n"
    ) in result.stdout
    assert "any indicator" not in result.stdout


def test_compute_exits_0_when_everyone_has_a_result_and_2_when_refused(engine, Session):
    with Session() as session, session.begin():
        group, people = org(session)
        heads_managed(people)
        period = open_(session, group)
        score(session, period)
        close_period(session, LATER, period)
    done = cli(engine, "results", "compute", "2026-11")
    assert done.exit_code == 0, done.output
    with Session() as session, session.begin():
        assert results(session) == 9
        publish_period(session, LATER, period_of(session))
    refused = cli(engine, "results", "compute", "2026-11")
    assert refused.exit_code == 2


def test_the_help_documents_the_exit_statuses(engine):
    result = cli(engine, "results", "compute", "--help")
    text = "".join(result.stdout.split())
    assert "每位被考核人都有结果时为0" in text
    assert "仍有人未完成时为3（其他人的结果已保存）" in text
    assert "被拒绝时为2" in text


def test_a_reader_that_goes_away_neither_undoes_the_work_nor_gets_a_traceback(engine, Session):
    """`jixiao results compute 2026-11 | head -1`, made certain: stdout is a pipe whose
    reader is gone before the command writes its first line."""
    with Session() as session, session.begin():
        group, people = org(session)
        heads_managed(people)
        period = open_(session, group)
        score(session, period)
    url = engine.url.render_as_string(hide_password=False)
    proc = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "from bot.cli.main import main; main()",
            "--database-url",
            url,
            "results",
            "compute",
            "2026-11",
        ],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert proc.stdout is not None
    proc.stdout.close()  # like `head -1` having read its line and left
    _out, err = proc.communicate(timeout=120)
    said = err.decode()
    assert "Traceback" not in said
    assert "BrokenPipe" not in said
    assert proc.returncode == 0, said
    with Session() as session:
        assert results(session) == 9


def test_compute_reports_progress_for_every_appraisee(session):
    group, _people = org(session)
    period = open_(session, group)
    score(session, period, roles={"manager"})
    done: list[int] = []
    compute_period(session, LATER, period, progress=done.append)
    assert sum(done) == appraisee_count(session, period) == 9
