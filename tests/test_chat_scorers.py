"""How each scorer scores, where heads and HR see it: "评分分布" in chat (both languages),
the head's digest after scoring closes (flagged scorers only), and `jixiao scorers
report` with its workbook and chart. Data and figures: tests/test_scorers.py."""

from __future__ import annotations

import io
import warnings

import pytest
from openpyxl import load_workbook
from PIL import Image

from bot.infra import i18n
from bot.notify import digest
from models import Institution, PeriodState, Role, RoleGrant
from tests.chat_helpers import NOW, WORDS, Chat, Tap, _scored, bind, build_world, verify_dialog
from tests.paysheet_helpers import cli
from tests.test_scorers import build

SAY = {
    "zh_CN": {
        "ask": "评分分布",
        "title": "一分公司，2026-11：各考核人评分情况（考核人 4 名，有提示 2 名）",
        "uniform": "所有人相差不超过 2 分",
        "max": "满分超过 80%",
        "above": "平均分高于同类考核人 10 分以上",
        "refused": "仅向机构负责人和人力资源部",
        "info": "仅供参考",
    },
    "en": {
        "ask": "scorer spread",
        "title": "一分公司, 2026-11: how each scorer scored (scorers: 4, flagged: 2)",
        "uniform": "everyone within 2 points",
        "max": "more than 80% maximum marks",
        "above": "average 10+ points above peers",
        "refused": "shown to heads and HR",
        "info": "never a block",
    },
}


@pytest.fixture(params=["zh_CN", "en"])
def lang(request):
    return request.param


def test_a_head_asks_and_sees_every_scorer_flagged_first(session, lang):
    _period, who = build(session)
    t = SAY[lang]
    head = Chat(session, bind(session, who["H"], language=lang))
    verify_dialog(
        head,
        [
            (
                t["ask"],
                [t["title"], "均匀", "宽松", "正常", t["uniform"], t["max"], t["above"], t["info"]],
            )
        ],
    )
    text = head.shown[-1]
    assert text.index("宽松") < text.index("正常")  # flagged first
    assert text.index("均匀") < text.index("正常")
    assert "少数" not in text  # 二分公司 is not theirs


def test_a_scorer_who_heads_nothing_is_refused(session, lang):
    _period, who = build(session)
    t = SAY[lang]
    scorer = Chat(session, bind(session, who["U"], language=lang))
    verify_dialog(scorer, [(t["ask"], [t["refused"], "!宽松"])])


def test_the_digest_after_scoring_closes_lists_the_flagged_scorers_only(session):
    period, who = build(session)
    one = session.get(Institution, who["U"].institution_id)
    with i18n.using("en"):
        got = digest.build(session, one, NOW, digest.facts(session, one.group_id, NOW))
    assert got is not None
    lines = got.text.splitlines()
    assert lines[0].startswith("一分公司 · how scorers scored")
    assert "2026-11: scorers to look at (2), information only:" in lines
    flagged = [line for line in lines if line.startswith("  ")]
    assert len(flagged) == 2
    assert "均匀" in flagged[0] or "均匀" in flagged[1]
    assert not any("正常" in line for line in lines)
    # Once published, the digest no longer carries them.
    period.state = PeriodState.PUBLISHED
    session.flush()
    with i18n.using("en"):
        assert digest.build(session, one, NOW, digest.facts(session, one.group_id, NOW)) is None


def test_the_report_command_writes_a_workbook_and_a_chart(engine, Session, tmp_path):
    with Session() as session, session.begin():
        build(session)
    xlsx, png = tmp_path / "scorers.xlsx", tmp_path / "scorers.png"
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a missing glyph in the chart warns; here it fails
        result = cli(
            engine, "scorers", "report", "2026-11", "--xlsx", str(xlsx), "--chart", str(png)
        )
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert "2026-11：5 名考核人，2 名有提示" in out
    assert "所有人相差不超过 2 分" in out
    rows = list(load_workbook(xlsx).active.iter_rows(values_only=True))
    assert len(rows) == 6  # header and five scorers
    by_name = {r[2]: r for r in rows[1:]}
    assert by_name["宽松"][4:10] == (5, 99.0, 95.0, 100.0, 2.0, 90.0)
    assert by_name["宽松"][10] == 19.55
    assert by_name["正常"][11:13] == (5, -5.0)
    assert Image.open(io.BytesIO(png.read_bytes())).format == "PNG"


def test_the_report_waits_for_scoring_to_close(engine, Session):
    with Session() as session, session.begin():
        period, _who = build(session)
        period.state = PeriodState.SCORING
    result = cli(engine, "scorers", "report", "2026-11")
    assert result.exit_code == 2
    assert "仍在评分" in result.output


@pytest.mark.parametrize("lang", ["zh_CN", "en"])
def test_the_form_summary_shows_the_scorers_range_beside_the_institutions(session, lang):
    """李经理 scores 张三 90/85/良好 (36 + 25.5 + 24 = 85.50), then 李四 70/60/合格 (28 + 18
    + 18 = 64.00); 王行长 submitted 李四 70/70/良好 (28 + 21 + 24 = 73.00) and 赵六 96/96/优秀
    (38.4 + 28.8 + 30 = 97.20)."""
    w = build_world(session)
    _scored(
        session, w.period, w.head, w.staff[1], "head", {"perf": 70, "quality": 70, "attitude": 80}
    )
    _scored(
        session, w.period, w.head, w.staff[2], "head", {"perf": 96, "quality": 96, "attitude": 100}
    )
    words = WORDS[lang]
    line = {
        "zh_CN": "您评的 2 人：64.00–85.50；本机构其他考核人：73.00–97.20",
        "en": "Your 2 people: 64.00–85.50; others in your institution: 73.00–97.20",
    }[lang]
    scorer = Chat(session, bind(session, w.manager, language=lang))
    scorer.say("/score")
    scorer.say(Tap("张三"))
    verify_dialog(
        scorer,
        [
            ("90 85 80", words["saved"]),
            (Tap(words["skip"]), words["skip"]),
            # One person so far: no range to compare yet.
            (Tap(words["skip"]), ["85.50", words["confirm"], "!" + line[:6]]),
            (Tap(words["confirm"]), words["next"]),
            (Tap(words["next"]), "李四"),
            ("70 60 60", words["saved"]),
            (Tap(words["skip"]), words["skip"]),
            (Tap(words["skip"]), ["64.00", line, words["confirm"]]),
            # Submitted: the summary is a record now, without the comparison.
            (Tap(words["confirm"]), ["!" + line]),
        ],
    )


def test_hr_of_the_whole_group_sees_every_institution(session):
    _period, who = build(session)
    session.add(RoleGrant(employee_id=who["S"].id, role=Role.HR, institution_id=None))
    session.flush()
    hr = Chat(session, bind(session, who["S"], language="en"))
    verify_dialog(
        hr,
        [
            (
                "/scorers",
                [
                    "一分公司, 2026-11: how each scorer scored (scorers: 4, flagged: 2)",
                    "二分公司, 2026-11: how each scorer scored (scorers: 1, flagged: 0)",
                    "少数",
                ],
            )
        ],
    )
