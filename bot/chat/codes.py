"""One-time bind codes: HR hands each employee a code that binds their chat to them.

Only an HMAC of a code is stored, keyed with a secret that is never in the database
(BIND_CODE_SECRET, or a key file created beside the database on first use), so a copy of
the database binds nobody and cannot be swept offline. A code is 12 characters from an
alphabet without look-alikes (0/O, 1/I/L), shown in groups of four (K7Q2-M9XD-3F8A):
31^12 ≈ 7.9e17 possibilities, see docs/security.md for what that means for a guesser.
Codes issued before (8 characters, plain sha256) keep working until they expire.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
import hashlib
import hmac
import os
import secrets
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast
from zoneinfo import ZoneInfo

from sqlalchemy import CursorResult, insert, select, update
from sqlalchemy.orm import Session

from bot.appraisal.audit import record
from bot.infra.errors import Refused
from bot.infra.i18n import _
from bot.infra.settings import Settings, get_settings
from bot.platforms import BindLink, registered
from models import BindCode, Employee, Institution

ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
LENGTH = 12
GROUP = 4  # characters between dashes, for reading a code aloud or typing it
LEGACY_LENGTH = 8  # codes issued before keyed hashing; accepted until they expire
EXAMPLE = "K7Q2-M9XD-3F8A"


def _in_link(text: str) -> str | None:
    """The code a pasted deep link carries, by any platform's own link shape."""
    for platform in registered():
        if platform.code_link is not None and (found := platform.code_link.search(text)):
            return found.group(1)
    return None


def new_code() -> str:
    """A fresh code as it is shown: K7Q2-M9XD-3F8A."""
    raw = "".join(secrets.choice(ALPHABET) for _ in range(LENGTH))
    return "-".join(raw[i : i + GROUP] for i in range(0, LENGTH, GROUP))


def normalise(code: str) -> str:
    """What people type: lower case, spaces or dashes anywhere are all accepted."""
    return "".join(code.split()).replace("-", "").upper()


def code_in(text: str) -> str | None:
    """The code in what an unbound user sent: a bare code (grouped or not, any case) or a
    pasted deep link; None when the text is not shaped like a code at all."""
    found = _in_link(text)
    candidate = normalise(found if found is not None else text)
    if len(candidate) in (LENGTH, LEGACY_LENGTH) and set(candidate) <= set(ALPHABET):
        return candidate
    return None


def linked_code(text: str) -> str | None:
    """The code in a pasted deep link, and only there: for a chat already bound, where a
    bare "90 90 90 90 90 90" must stay a line of scores, not become a code."""
    found = _in_link(text)
    return normalise(found) if found is not None else None


def argument_code(arg: str) -> str:
    """The code in `/start ARG`: a deep link's code if it is one, else ARG itself."""
    found = _in_link(arg)
    return normalise(found if found is not None else arg)


@functools.cache
def _key_file(path: str) -> bytes:
    """The key in `path`, created (0600, 256 random bits) the first time it is needed.
    Created under a temporary name and linked into place, so two processes starting at
    once end up with the same key."""
    target = Path(path)
    if not target.exists():
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".bind_code_key_")
        try:
            with os.fdopen(fd, "w") as f:
                f.write(secrets.token_hex(32) + "\n")
            with contextlib.suppress(FileExistsError):
                os.link(tmp, target)
        finally:
            Path(tmp).unlink(missing_ok=True)
    key = target.read_text(encoding="ascii").strip()
    if len(key) < 32:
        raise Refused(
            _(
                "The bind-code key file {path} is damaged (too short); restore it from backup."
            ).format(path=path)
        )
    return key.encode("ascii")


def secret_key(settings: Settings | None = None) -> bytes:
    """The key codes are hashed with: BIND_CODE_SECRET, else the key file."""
    settings = settings or get_settings()
    if settings.bind_code_secret:
        return settings.bind_code_secret.encode()
    return _key_file(str(Path(settings.bind_code_secret_file).resolve()))


def hash_code(code: str, settings: Settings | None = None) -> str:
    """What is stored for a code: HMAC-SHA256 keyed with the bind-code secret."""
    message = normalise(code).encode("ascii", "replace")
    return hmac.new(secret_key(settings), message, hashlib.sha256).hexdigest()


def stored_forms(code: str) -> list[str]:
    """Every stored hash this typed code could match: the keyed hash, and for an
    8-character code also the plain sha256 the earlier codes were stored as."""
    forms = [hash_code(code)]
    plain = normalise(code)
    if len(plain) == LEGACY_LENGTH:
        forms.append(hashlib.sha256(plain.encode("ascii", "replace")).hexdigest())
    return forms


def platforms(settings: Settings) -> list[BindLink]:
    """A link per configured platform: a link to a bot that does not answer is a dead
    end. Each platform says what its link is (bot.platforms)."""
    return [link for p in registered() if (link := p.bind_link(settings)) is not None]


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
        while code in seen:  # 31^12 codes: a clash is rare, but cheap to rule out
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
    path: Path, institution: str, issued: list[Issued], links: list[BindLink], tz: str
) -> None:
    """The sheet HR hands out: readable by its owner only (0600) from the moment it exists,
    because it holds the only copy of the codes."""
    from openpyxl import Workbook
    from openpyxl.styles import Font

    wb = Workbook()
    ws = wb.active
    ws.title = _("Bind codes")[:31]
    headers = [_("Employee No."), _("Name"), _("Bind code")]
    headers += [_(p.header) for p in links]
    headers.append(_("Expires"))
    ws.append(headers)
    for cell in ws[1]:
        cell.font = Font(bold=True)
    for item in issued:
        ws.append(
            [
                item.number,
                item.name,
                item.code,
                *(p.link(item.code) for p in links),
                item.expires_at.astimezone(ZoneInfo(tz)).strftime("%Y-%m-%d %H:%M"),
            ]
        )
    widths = [12, 12, 18, *(48 for _p in links), 22]
    for column, width in enumerate(widths, start=1):
        ws.column_dimensions[ws.cell(row=1, column=column).column_letter].width = width
    ws.freeze_panes = "A2"
    how = wb.create_sheet(_("How to bind")[:31])
    how.append([_("Each person binds once, with their own code, before it expires.")])
    for p in links:
        how.append([_(p.how)])
    if not links:
        how.append([_("No chat platform is configured yet; the codes work once one is.")])
    how.column_dimensions["A"].width = 90
    wb.properties.title = _("Bind codes for {institution}").format(institution=institution)
    path.parent.mkdir(parents=True, exist_ok=True)
    # mkstemp creates the file 0600; it replaces the target only once complete.
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".bind_codes_", suffix=".xlsx")
    try:
        with os.fdopen(fd, "wb") as f:
            wb.save(f)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
