"""One-time bind codes: HR hands each employee a code that binds their chat to them.

Only a code's sha256 is stored, so a copy of the database binds nobody. A code is short
enough to type on a phone and drawn from an alphabet without look-alikes (0/O, 1/I/L).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast
from zoneinfo import ZoneInfo

from sqlalchemy import CursorResult, insert, select, update
from sqlalchemy.orm import Session

from bot.audit import record
from bot.i18n import _
from bot.settings import get_settings
from models import BindCode, Employee, Institution

ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
LENGTH = 8


def new_code() -> str:
    return "".join(secrets.choice(ALPHABET) for _ in range(LENGTH))


def normalise(code: str) -> str:
    """What people type: lower case, spaces or a dash in the middle are all accepted."""
    return "".join(code.split()).replace("-", "").upper()


def hash_code(code: str) -> str:
    return hashlib.sha256(normalise(code).encode("ascii", "replace")).hexdigest()


def deep_link(code: str, bot_username: str | None = None) -> str:
    username = bot_username or get_settings().telegram_bot_username
    return f"https://t.me/{username}?start={code}"


@dataclass(frozen=True, slots=True)
class Issued:
    employee_id: int
    number: str
    name: str
    code: str
    expires_at: dt.datetime


def _ttl(ttl_hours: int | None) -> dt.timedelta:
    return dt.timedelta(hours=ttl_hours or get_settings().bind_code_ttl_hours)


def _revoke_unused(session: Session, now: dt.datetime, employee_ids: list[int]) -> int:
    """Expire earlier codes nobody used yet: only the newest code a person holds works."""
    revoked = 0
    for start in range(0, len(employee_ids), 1000):
        chunk = employee_ids[start : start + 1000]
        result = session.execute(
            update(BindCode)
            .where(
                BindCode.employee_id.in_(chunk),
                BindCode.used_at.is_(None),
                BindCode.expires_at > now,
            )
            .values(expires_at=now)
            .execution_options(synchronize_session=False)
        )
        revoked += cast(CursorResult[Any], result).rowcount
    return revoked


def _store(
    session: Session, now: dt.datetime, employee_ids: Iterable[int], ttl: dt.timedelta
) -> dict[int, str]:
    codes: dict[int, str] = {}
    seen: set[str] = set()
    for emp_id in employee_ids:
        code = new_code()
        while code in seen:  # 31^8 codes: a clash is rare, but cheap to rule out
            code = new_code()
        seen.add(code)
        codes[emp_id] = code
    rows = [
        {
            "employee_id": emp_id,
            "code_hash": hash_code(code),
            "created_at": now,
            "expires_at": now + ttl,
        }
        for emp_id, code in codes.items()
    ]
    for start in range(0, len(rows), 5000):
        session.execute(insert(BindCode), rows[start : start + 5000])
    return codes


def issue(
    session: Session, employee_id: int, now: dt.datetime, *, ttl_hours: int | None = None
) -> str:
    """A fresh code for one employee (earlier unused ones stop working); returns the code,
    which is shown once and never stored."""
    _revoke_unused(session, now, [employee_id])
    code = _store(session, now, [employee_id], _ttl(ttl_hours))[employee_id]
    record(session, now, "codes.issue", "employee", employee_id, actor_label="codes")
    return code


def issue_for_institution(
    session: Session,
    now: dt.datetime,
    institution: Institution,
    *,
    ttl_hours: int | None = None,
    actor: str = "cli",
) -> list[Issued]:
    """Codes for every active employee of an institution, in 工号 order, with one audit
    event for the batch."""
    people = session.execute(
        select(Employee.id, Employee.number, Employee.name)
        .where(Employee.institution_id == institution.id, Employee.active.is_(True))
        .order_by(Employee.number)
    ).all()
    ttl = _ttl(ttl_hours)
    ids = [p.id for p in people]
    revoked = _revoke_unused(session, now, ids)
    codes = _store(session, now, ids, ttl)
    record(
        session,
        now,
        "codes.issue",
        "institution",
        institution.id,
        actor_label=actor,
        after={"issued": len(ids), "revoked": revoked, "expires_at": (now + ttl).isoformat()},
    )
    return [Issued(p.id, p.number, p.name, codes[p.id], now + ttl) for p in people]


def write_xlsx(
    path: Path, institution: str, issued: list[Issued], bot_username: str, tz: str
) -> None:
    from openpyxl import Workbook
    from openpyxl.styles import Font

    wb = Workbook()
    ws = wb.active
    ws.title = _("Bind codes")[:31]
    headers = [_("Employee No."), _("Name"), _("Bind code"), _("Link"), _("Expires")]
    ws.append(headers)
    for cell in ws[1]:
        cell.font = Font(bold=True)
    for item in issued:
        ws.append(
            [
                item.number,
                item.name,
                item.code,
                deep_link(item.code, bot_username),
                item.expires_at.astimezone(ZoneInfo(tz)).strftime("%Y-%m-%d %H:%M"),
            ]
        )
    for letter, width in zip("ABCDE", (12, 12, 12, 48, 22), strict=True):
        ws.column_dimensions[letter].width = width
    ws.freeze_panes = "A2"
    wb.properties.title = _("Bind codes for {institution}").format(institution=institution)
    path.parent.mkdir(parents=True, exist_ok=True)
    wb.save(path)
