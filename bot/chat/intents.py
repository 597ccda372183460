"""Recognising free questions in Chinese or English: the common phrasings, nothing more.
Whatever is not recognised gets the menu."""

from __future__ import annotations

import enum
import re

from sqlalchemy import String, func, literal, select
from sqlalchemy.orm import Session

from models import Employee

_PAY = re.compile(r"工资|薪|绩效|奖金|钱|\b(pay|salary|wages?|bonus|paid)\b", re.I)
_WHY = re.compile(
    r"为什么|为啥|怎么算|怎么计算|如何计算|怎么来的|怎么这么|咋|解释|"
    r"\bwhy\b|\bhow\b.*\b(calculat|comput|work)|\bexplain|\blower\b|\bless\b",
    re.I,
)
_OTHER = re.compile(
    r"他|她|别人|同事|领导|经理|老板|"
    r"\b(his|her|their|someone|somebody|colleague|coworker|co-worker|boss|others?)\b",
    re.I,
)
_POSSESSIVE = re.compile(r"\b(?!what|that|it|who|there|here|my\b)(\w+)'s\s+(pay|salary)", re.I)
_HISTORY = re.compile(r"历史|往期|以前|之前的|\b(history|past|previous|earlier)\b", re.I)
_SCORE = re.compile(r"成绩|我的绩效|分数|得分|考核结果|等级|\b(score|result|grade)s?\b", re.I)
_TASKS = re.compile(r"评分|打分|待评|\b(to score|scoring|tasks?)\b", re.I)
_LANG = re.compile(r"语言|english|英文|中文|\blanguage\b", re.I)
# What heads, leadership and HR ask for: checked before "my pay", since "工资表" is about
# pay but asks for the payroll sheet, not for an explanation.
_PAY_SHEET = re.compile(
    r"工资表|工资单|薪酬表|发薪|导出|\b(pay ?sheets?|payroll|payslips?|export)\b", re.I
)
_REMIND = re.compile(r"提醒|催|\b(remind\w*|nudge|chase)\b", re.I)
_RANKING = re.compile(r"排名|排行|名次|比较各|各机构|\b(rank\w*|league|compare)\b", re.I)
_PROGRESS = re.compile(
    r"进度|进展|完成率|完成情况|完成得怎么样|"
    r"\b(progress|completion|how are we doing|how('s| is) it going|are we on track)\b",
    re.I,
)
# The parallel run: what the old (outsourced) system worked out. Checked before "my pay",
# since "旧系统算出来的绩效工资是多少？" asks about pay too.
_LEGACY = re.compile(
    r"旧系统|老系统|原系统|旧的系统|以前的系统|外包系统|"
    r"\b(old|previous|legacy|former)\s+system\b|\blegacy\b",
    re.I,
)
# "What if": checked first, since "如果质量90，我的绩效工资是多少" asks about pay too.
_WHAT_IF = re.compile(
    r"如果|假如|假设|要是|倘若|试算|\bwhat\s+if\b|\bsuppose\b|\bif\b.*\b(were|was)\b", re.I
)
# Asked by heads and HR; before "评分" (scoring tasks).
_SPREAD = re.compile(
    r"评分分布|打分分布|评分尺度|大锅饭|\bscor\w*\s+(spread|distribution)|\bspread\b", re.I
)
_MENU = re.compile(r"菜单|帮助|你好|您好|\b(menu|help|hi|hello|start)\b", re.I)


class Intent(enum.StrEnum):
    WHY = "why"
    WHY_OTHER = "why_other"
    MY_SCORE = "my"
    HISTORY = "hist"
    TASKS = "tasks"
    LANGUAGE = "lang"
    MENU = "menu"
    PROGRESS = "prog"
    RANKING = "rank"
    REMIND = "remind"
    PAY_SHEET = "paysheet"
    LEGACY = "legacy"
    WHAT_IF = "whatif"
    SPREAD = "spread"


def names_other(session: Session, me: Employee, text: str) -> bool:
    """Does the text name another employee of the group?"""
    name = func.length(Employee.name)
    hit = session.scalar(
        select(Employee.id)
        .where(
            Employee.group_id == me.group_id,
            Employee.id != me.id,
            name >= 2,
            literal(text, String).contains(Employee.name, autoescape=False),
        )
        .limit(1)
    )
    return hit is not None


def classify(session: Session, me: Employee, text: str) -> Intent | None:
    """What a free question asks for, or None."""
    if _WHAT_IF.search(text):
        return Intent.WHAT_IF
    if _LEGACY.search(text):
        # Only one's own figures: asking about someone else is refused as for pay.
        about_other = _OTHER.search(text) or _POSSESSIVE.search(text)
        if about_other or names_other(session, me, text):
            return Intent.WHY_OTHER
        return Intent.LEGACY
    if _PAY_SHEET.search(text) and not _WHY.search(text):
        return Intent.PAY_SHEET
    if _PAY.search(text) and (_WHY.search(text) or "?" in text or "？" in text):
        about_other = _OTHER.search(text) or _POSSESSIVE.search(text)
        if about_other or names_other(session, me, text):
            return Intent.WHY_OTHER
        return Intent.WHY
    for pattern, intent in (
        (_SPREAD, Intent.SPREAD),
        (_REMIND, Intent.REMIND),
        (_RANKING, Intent.RANKING),
        (_PROGRESS, Intent.PROGRESS),
        (_HISTORY, Intent.HISTORY),
        (_TASKS, Intent.TASKS),
        (_SCORE, Intent.MY_SCORE),
        (_LANG, Intent.LANGUAGE),
        (_MENU, Intent.MENU),
    ):
        if pattern.search(text):
            return intent
    if _PAY.search(text):
        return Intent.WHY
    return None
