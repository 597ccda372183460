"""Importing the organisation and appraisal schemes from HR's spreadsheets.

All or nothing: every row is checked first and the report lists every problem; only a
file without one is written, into the caller's transaction (nothing here commits).
"""

from bot.importing.org import OrgReport, import_org
from bot.importing.report import ImportRefused, Problem
from bot.importing.scheme import SchemeReport, import_scheme

__all__ = [
    "ImportRefused",
    "OrgReport",
    "Problem",
    "SchemeReport",
    "import_org",
    "import_scheme",
]
