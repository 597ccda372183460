"""`import org`: institutions, departments, employees and their roles from one sheet.

The file defines the organisation: unknown institutions are created, departments given
as paths ("零售部/柜面组") create the department tree, and employees are matched by
工号. Everything is checked before anything is written; one bad row and nothing is.

Columns (Chinese or English header; * = required):

    工号* number · 姓名* name · 机构* institution · 部门 department · 岗位 position ·
    直接上级工号 manager_number · 绩效工资基数* pay_base · 邮箱 email · 手机 mobile ·
    语言 language · 是否试点 pilot · 角色 roles · 集团 group

An optional column left out of the file leaves that field of existing employees as it
is; present but blank, it clears it. 角色 lists roles separated by commas: 一把手/head
(the institution's head), 人力/hr (HR of the employee's institution), 集团人力/group_hr
(HR of the whole group), 集团领导/leadership. When the column is present, the roles of
every employee in the file are set to exactly those listed. 是否试点 is an institution's
flag, given on any of its rows; its rows must not disagree.

A manager must be in the file or an active employee already stored (and not about to be
deactivated); departments never fail to resolve, since the file creates them.

工号 is text exactly as the sheet shows it: "000123" and "123" are different 工号. Since
Excel turns a typed 000123 into the number 123 unless the column is formatted as text,
two 工号 that differ only in leading zeros (in the file, or one in the file and one
stored) are refused as ambiguous rather than made into two people.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy import delete, insert, select
from sqlalchemy.orm import Session

from bot.appraisal import audit
from bot.importing import cells
from bot.importing.cells import BadCell
from bot.importing.report import Problems
from bot.importing.table import Column, Progress, Row, RowReader, Table, read_table, simplified
from bot.infra.i18n import _
from bot.infra.mobile import normalise as normalise_mobile
from bot.infra.workdays import default_tz
from models import Department, Employee, Group, Institution, Role, RoleGrant
from models.db import copy_many, flushed, update_many

COLUMNS = (
    Column("number", ("工号", "员工工号", "员工编号", "员工号", "number", "employee_number"), True),
    Column("name", ("姓名", "员工姓名", "name"), True),
    Column("institution", ("机构", "机构名称", "所属机构", "institution"), True),
    Column("department", ("部门", "所属部门", "department", "dept")),
    Column("position", ("岗位", "职位", "职务", "position", "title")),
    Column("manager_number", ("直接上级工号", "上级工号", "manager_number", "manager")),
    Column("pay_base", ("绩效工资基数", "绩效基数", "pay_base", "performance_pay_base"), True),
    Column("email", ("邮箱", "电子邮箱", "email")),
    Column("mobile", ("手机", "手机号", "手机号码", "移动电话", "mobile", "phone")),
    Column("language", ("语言", "language", "lang")),
    Column("pilot", ("是否试点", "试点", "pilot")),
    Column("roles", ("角色", "roles", "role")),
    Column("group", ("集团", "group")),
)

# Role words in the 角色 column → (role, scoped to the employee's institution?).
ROLE_WORDS: dict[str, tuple[Role, bool]] = {
    "一把手": (Role.HEAD, True),
    "负责人": (Role.HEAD, True),
    "机构负责人": (Role.HEAD, True),
    "head": (Role.HEAD, True),
    "人力": (Role.HR, True),
    "人力资源": (Role.HR, True),
    "hr": (Role.HR, True),
    "集团人力": (Role.HR, False),
    "group_hr": (Role.HR, False),
    "集团领导": (Role.LEADERSHIP, False),
    "领导": (Role.LEADERSHIP, False),
    "leadership": (Role.LEADERSHIP, False),
}
LANGUAGE_WORDS = {
    "zh_cn": "zh_CN",
    "zh": "zh_CN",
    "zh-cn": "zh_CN",
    "中文": "zh_CN",
    "简体中文": "zh_CN",
    "汉语": "zh_CN",
    "chinese": "zh_CN",
    "en": "en",
    "english": "en",
    "英文": "en",
    "英语": "en",
}
_ROLE_SEPARATORS = re.compile(r"[\s,，、;；/|]+")
_DEPT_SEPARATORS = re.compile(r"[/／]")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
CODE_MAX, NAME_MAX, PATH_MAX = 64, 200, 500
# Employee fields an import sets, in the order the audit shows them.
FIELDS = (
    "name",
    "institution_id",
    "department_id",
    "position",
    "manager_id",
    "pay_base",
    "email",
    "mobile",
    "language",
    "active",
)
_CHUNK = 500

Grant = tuple[Role, bool]


@dataclass(slots=True)
class Person:
    """One valid row."""

    row: int
    number: str
    name: str
    institution: str
    department: str | None
    position: str
    manager: str | None
    pay_base: Decimal
    email: str | None
    mobile: str | None
    language: str | None
    pilot: bool | None
    roles: frozenset[Grant]
    pilot_shown: str = ""


@dataclass(slots=True)
class OrgReport:
    """What an org import did (or, for a refused one, never did)."""

    source: str
    group: str
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    deactivated: int = 0
    missing: int = 0  # stored active employees not in the file, left active
    institutions_created: int = 0
    departments_created: int = 0
    group_created: bool = False
    # What the reading left aside (sheet read, ignored columns, totals rows …).
    notes: list[str] = field(default_factory=list)

    def counts(self) -> dict[str, int]:
        return {
            "created": self.created,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "deactivated": self.deactivated,
            "institutions_created": self.institutions_created,
            "departments_created": self.departments_created,
        }

    def lines(self) -> list[str]:
        lines = []
        if self.group_created:
            lines.append(_("New group {group} created.").format(group=self.group))
        lines.append(
            _(
                "Imported {source} into {group}: {created} created, {updated} updated, "
                "{unchanged} unchanged, {deactivated} deactivated."
            ).format(source=self.source, group=self.group, **self.counts())
        )
        if self.institutions_created or self.departments_created:
            lines.append(
                _("New institutions: {institutions}; new departments: {departments}.").format(
                    institutions=self.institutions_created, departments=self.departments_created
                )
            )
        lines.extend(self.notes)
        if self.missing:
            lines.append(
                _(
                    "{n} active employees are not in the file and stay active; "
                    "use --deactivate-missing to deactivate them."
                ).format(n=self.missing)
            )
        return lines


@dataclass(slots=True)
class _Stored:
    """Employees, institutions and departments already in the database, loaded once."""

    group: Group | None
    institutions: dict[str, Institution] = field(default_factory=dict)
    departments: dict[tuple[int, str], int] = field(default_factory=dict)
    department_paths: dict[int, str] = field(default_factory=dict)
    employees: dict[str, dict[str, Any]] = field(default_factory=dict)
    number_of: dict[int, str] = field(default_factory=dict)
    grants: dict[int, dict[tuple[Role, int | None], int]] = field(default_factory=dict)


def import_org(
    session: Session,
    now: dt.datetime,
    path: Path,
    *,
    group: str | None = None,
    deactivate_missing: bool = False,
    sheet: str | None = None,
    progress: Progress | None = None,
) -> OrgReport:
    """Import the org file at `path` (.xlsx or .csv; of a workbook, the only sheet
    holding data, or `sheet`); raises ImportRefused listing every problem, having
    written nothing. Never commits. `progress` is told of rows as they are read."""
    problems = Problems()
    table = read_table(Path(path), COLUMNS, problems, sheet=sheet, progress=progress)
    problems.raise_if_any()
    report = import_org_table(
        session, now, table, group=group, deactivate_missing=deactivate_missing, source=path.name
    )
    report.notes.extend(table.lines())
    return report


def import_org_table(
    session: Session,
    now: dt.datetime,
    table: Table,
    *,
    group: str | None = None,
    deactivate_missing: bool = False,
    source: str = "",
) -> OrgReport:
    problems = Problems()
    if not table.rows:
        # An empty file is a mistake, and with --deactivate-missing a costly one.
        if table.header_row is not None:
            problems.add(
                _("the file has no employee rows below its header (row {row})").format(
                    row=table.header_row
                ),
                sheet=table.sheet,
            )
        else:
            problems.add(_("the file has no employee rows"), sheet=table.sheet)
        problems.raise_if_any()
    group_name = _group_name(session, table, group, problems)
    problems.raise_if_any()
    assert group_name is not None
    session.flush()
    stored = _load(session, group_name)
    people, numbers = _parse(table, group_name, problems)
    _check_leading_zeros(table, people, stored, problems)
    _check_mobiles(table, people, stored, problems)
    _check_managers(table, people, numbers, stored, deactivate_missing, problems)
    _check_institutions(table, people, problems)
    problems.raise_if_any()
    report = OrgReport(source=source or table.name, group=group_name)
    _write(session, now, table, people, stored, deactivate_missing, report)
    return report


def _group_name(
    session: Session, table: Table, option: str | None, problems: Problems
) -> str | None:
    if option:
        return option.strip()
    for row in table.rows:
        if row.has("group"):
            r = RowReader(table, row, problems)
            name: str | None = r.get("group", cells.label, max_len=NAME_MAX)
            return name
    names = session.scalars(select(Group.name).limit(2)).all()
    if len(names) == 1:
        return names[0]
    if names:
        problems.add(_("several groups exist: say which with --group"))
    else:
        problems.add(_("no group yet: name it with --group or a 集团 column"))
    return None


def _load(session: Session, group_name: str) -> _Stored:
    grp = session.scalar(select(Group).where(Group.name == group_name))
    stored = _Stored(grp)
    if grp is None:
        return stored
    for inst in session.scalars(select(Institution).where(Institution.group_id == grp.id)):
        stored.institutions[inst.name] = inst
    rows = session.execute(
        select(Department.id, Department.institution_id, Department.path)
        .join(Institution, Institution.id == Department.institution_id)
        .where(Institution.group_id == grp.id)
    )
    for dept_id, inst_id, dept_path in rows:
        stored.departments[(inst_id, dept_path)] = dept_id
        stored.department_paths[dept_id] = dept_path
    columns = [Employee.id, Employee.number, *(getattr(Employee, f) for f in FIELDS)]
    for rec in session.execute(select(*columns).where(Employee.group_id == grp.id)).mappings():
        stored.employees[rec["number"]] = dict(rec)
        stored.number_of[rec["id"]] = rec["number"]
    grant_rows = session.execute(
        select(RoleGrant.id, RoleGrant.employee_id, RoleGrant.role, RoleGrant.institution_id)
        .join(Employee, Employee.id == RoleGrant.employee_id)
        .where(Employee.group_id == grp.id)
    )
    for grant_id, emp_id, role, inst_id in grant_rows:
        stored.grants.setdefault(emp_id, {})[(Role(role), inst_id)] = grant_id
    return stored


def _parse(table: Table, group_name: str, problems: Problems) -> tuple[list[Person], set[str]]:
    """The valid rows, and every 工号 the file holds (bad rows' too, so that a manager on a
    bad row is not also reported as unknown)."""
    people: list[Person] = []
    numbers: set[str] = set()
    first_row: dict[str, int] = {}
    for row in table.rows:
        with contextlib.suppress(BadCell):
            numbers.add(cells.code(row.cells.get("number")))
        before = len(problems)
        person = _person(table, row, problems)
        if row.has("group") and cells.text(row.cells["group"]) != group_name:
            _bad(
                problems,
                table,
                row,
                "group",
                _("this file is being imported into group {group}").format(group=group_name),
            )
        if person is None or len(problems) > before:
            continue
        if person.number in first_row:
            _bad(
                problems,
                table,
                row,
                "number",
                _("the same 工号 is already in row {row}").format(row=first_row[person.number]),
            )
            continue
        first_row[person.number] = row.number
        people.append(person)
    return people, numbers


def _person(table: Table, row: Row, problems: Problems) -> Person | None:
    r = RowReader(table, row, problems)
    read = r.get
    number = read("number", cells.code, required=True, max_len=CODE_MAX)
    name = read("name", cells.label, required=True, max_len=NAME_MAX)
    institution = read("institution", cells.label, required=True, max_len=NAME_MAX)
    department = read("department", _department)
    position = read("position", cells.label, max_len=NAME_MAX) or ""
    manager = read("manager_number", cells.code, max_len=CODE_MAX)
    pay_base = read("pay_base", _pay_base, required=True)
    email = read("email", _email, max_len=NAME_MAX)
    mobile = read("mobile", _mobile)
    language = read("language", _language)
    pilot = read("pilot", cells.flag)
    roles = read("roles", _roles) or frozenset()
    if not r.ok:
        return None
    return Person(
        row.number,
        number,
        name,
        institution,
        department,
        position,
        manager,
        pay_base,
        email,
        mobile,
        language,
        pilot,
        roles,
        cells.shown(row.cells.get("pilot")),
    )


def _bad(problems: Problems, table: Table, row: Row, key: str, reason: str) -> None:
    problems.add(
        reason, row=row.number, column=table.header(key), value=cells.shown(row.cells.get(key))
    )


def _pay_base(value: object) -> Decimal:
    amount = cells.decimal(value, money=True)
    if amount < 0:
        raise BadCell(_("is negative: a pay base is zero or more"))
    if cells.places(amount) > 2:
        raise BadCell(_("has more than two decimal places (yuan and fen)"))
    return amount


def _department(value: object) -> str:
    parts = [p.strip() for p in _DEPT_SEPARATORS.split(cells.label(value))]
    if any(not p for p in parts):
        raise BadCell(_("has an empty level: write a path such as 零售部/柜面组"))
    if any(len(p) > NAME_MAX for p in parts):
        raise BadCell(_("a department name is longer than {n} characters").format(n=NAME_MAX))
    joined = "/".join(parts)
    if len(joined) > PATH_MAX:
        raise BadCell(_("is longer than {n} characters").format(n=PATH_MAX))
    return joined


def _email(value: object) -> str:
    address = cells.text(value)
    if not _EMAIL.match(address):
        raise BadCell(_("is not an email address"))
    return address


def _mobile(value: object) -> str:
    number = normalise_mobile(cells.text(value))
    if number is None:
        raise BadCell(_("is not a mobile number: 11 digits starting with 1, +86 allowed"))
    return number


def _language(value: object) -> str:
    word = simplified(cells.folded(value)).casefold()
    if word not in LANGUAGE_WORDS:
        raise BadCell(_("is not a language we speak: use 中文 (zh_CN) or 英文 (en)"))
    return LANGUAGE_WORDS[word]


def _roles(value: object) -> frozenset[Grant]:
    grants = set()
    for word in _ROLE_SEPARATORS.split(simplified(cells.folded(value)).casefold()):
        if not word:
            continue
        if word not in ROLE_WORDS:
            raise BadCell(
                _("“{word}” is not a role: use 一把手, 人力, 集团人力 or 集团领导").format(
                    word=word
                )
            )
        grants.add(ROLE_WORDS[word])
    return frozenset(grants)


def _unpadded(number: str) -> str | None:
    """The 工号 without leading zeros, when it is all digits: "000123" → "123"."""
    if not number.isdigit():
        return None
    return number.lstrip("0") or "0"


def _zeros_hint() -> str:
    return _(
        "工号 is read exactly as the sheet shows it, so these would be two different "
        "people; format the 工号 column as text in Excel and write each 工号 as it is stored"
    )


def _check_leading_zeros(
    table: Table, people: list[Person], stored: _Stored, problems: Problems
) -> None:
    """Refuse two 工号 that differ only in leading zeros: "000123" and 123 (Excel's
    number) in one file, or one in the file and the other already stored."""
    stored_by_key: dict[str, list[str]] = {}
    for number in stored.employees:
        key = _unpadded(number)
        if key is not None:
            stored_by_key.setdefault(key, []).append(number)
    first: dict[str, Person] = {}
    for p in people:
        key = _unpadded(p.number)
        if key is None:
            continue
        other = first.setdefault(key, p)
        if other is not p and other.number != p.number:
            problems.add(
                _(
                    "工号 {number} and 工号 {other} in row {row} differ only in leading zeros. "
                ).format(number=p.number, other=other.number, row=other.row)
                + _zeros_hint(),
                row=p.row,
                column=table.header("number"),
                value=p.number,
            )
            continue
        if p.number in stored.employees:
            continue
        for known in stored_by_key.get(key, ()):
            problems.add(
                _(
                    "stored employee {number} ({name}) has the same 工号 but for leading zeros. "
                ).format(number=known, name=stored.employees[known]["name"])
                + _zeros_hint(),
                row=p.row,
                column=table.header("number"),
                value=p.number,
            )


def _check_mobiles(table: Table, people: list[Person], stored: _Stored, problems: Problems) -> None:
    """One mobile number, one person: it binds a chat by itself (Feishu), so two rows
    with the same number, or a row with the number of a stored employee the file leaves
    alone, are refused."""
    if not table.has("mobile"):
        return
    in_file = {p.number for p in people}
    kept = {
        rec["mobile"]: number
        for number, rec in stored.employees.items()
        if rec["mobile"] and rec["active"] and number not in in_file
    }
    first: dict[str, Person] = {}
    for p in people:
        if p.mobile is None:
            continue
        other = first.setdefault(p.mobile, p)
        reason = None
        if other is not p:
            reason = _("the same mobile number is already in row {row} ({number})").format(
                row=other.row, number=other.number
            )
        elif p.mobile in kept:
            known = kept[p.mobile]
            reason = _("stored employee {number} ({name}) already has this mobile number").format(
                number=known, name=stored.employees[known]["name"]
            )
        if reason:
            problems.add(reason, row=p.row, column=table.header("mobile"), value=p.mobile)


def _check_managers(
    table: Table,
    people: list[Person],
    numbers: set[str],
    stored: _Stored,
    deactivate_missing: bool,
    problems: Problems,
) -> None:
    if not table.has("manager_number"):
        return
    in_file = {p.number: p for p in people}
    for p in people:
        if p.manager is None or p.manager in numbers:
            continue
        known = stored.employees.get(p.manager)
        reason = None
        if known is None:
            reason = _("no employee has this 工号, in the file or already stored")
            key = _unpadded(p.manager)
            near = sorted(n for n in numbers | set(stored.employees) if key and _unpadded(n) == key)
            if near:
                reason += _(" (but {numbers} differs only in leading zeros)").format(
                    numbers=", ".join(near)
                )
        elif not known["active"]:
            reason = _("this manager is not an active employee")
        elif deactivate_missing:
            reason = _("this manager is not in the file and would be deactivated")
        if reason:
            problems.add(reason, row=p.row, column=table.header("manager_number"), value=p.manager)
    # Who manages whom after the import: the file's word, else what is stored.
    manager_of: dict[str, str | None] = {
        number: stored.number_of.get(rec["manager_id"]) if rec["manager_id"] else None
        for number, rec in stored.employees.items()
    }
    manager_of.update({p.number: p.manager for p in people})
    for cycle in _cycles(manager_of, in_file):
        chain = " → ".join([*cycle, cycle[0]])
        for number in cycle:
            member = in_file.get(number)
            if member is None:
                continue
            reason = (
                _("an employee cannot be their own manager")
                if len(cycle) == 1
                else _("managers go round in a circle: {chain}").format(chain=chain)
            )
            problems.add(
                reason,
                row=member.row,
                column=table.header("manager_number"),
                value=member.manager or "",
            )


def _cycles(manager_of: dict[str, str | None], start: Iterable[str]) -> list[list[str]]:
    """Every loop in the manager chains reachable from `start`, each listed once."""
    done: set[str] = set()
    found: list[list[str]] = []
    for origin in start:
        path: list[str] = []
        on_path: dict[str, int] = {}
        node: str | None = origin
        while node is not None and node not in done:
            if node in on_path:
                found.append(path[on_path[node] :])
                break
            on_path[node] = len(path)
            path.append(node)
            node = manager_of.get(node)
        done.update(path)
    return found


def _check_institutions(table: Table, people: list[Person], problems: Problems) -> None:
    pilot_seen: dict[str, tuple[bool, int]] = {}
    head_seen: dict[str, int] = {}
    for p in people:
        if p.pilot is not None:
            first = pilot_seen.setdefault(p.institution, (p.pilot, p.row))
            if first[0] != p.pilot:
                problems.add(
                    _("row {row} says otherwise for institution {institution}").format(
                        row=first[1], institution=p.institution
                    ),
                    row=p.row,
                    column=table.header("pilot"),
                    value=p.pilot_shown,
                )
        if (Role.HEAD, True) in p.roles:
            if p.institution in head_seen:
                problems.add(
                    _("institution {institution} already has its head in row {row}").format(
                        institution=p.institution, row=head_seen[p.institution]
                    ),
                    row=p.row,
                    column=table.header("roles"),
                )
            else:
                head_seen[p.institution] = p.row


def _write(
    session: Session,
    now: dt.datetime,
    table: Table,
    people: list[Person],
    stored: _Stored,
    deactivate_missing: bool,
    report: OrgReport,
) -> None:
    grp = stored.group
    if grp is None:
        grp = Group(name=report.group)
        session.add(grp)
        session.flush()
        report.group_created = True

    # Institutions, with the pilot flag when the file states it.
    pilot = {p.institution: bool(p.pilot) for p in people if p.pilot is not None}
    for inst_name in dict.fromkeys(p.institution for p in people):
        inst = stored.institutions.get(inst_name)
        if inst is None:
            inst = Institution(
                group_id=grp.id,
                name=inst_name,
                pilot=pilot.get(inst_name, False),
                timezone=default_tz(),  # DEFAULT_TIMEZONE: the sheet has no zone column
            )
            session.add(inst)
            stored.institutions[inst_name] = inst
            report.institutions_created += 1
        elif inst_name in pilot and inst.pilot != pilot[inst_name]:
            inst.pilot = pilot[inst_name]
    session.flush()

    # Departments: every level of every path, parents first.
    wanted: set[tuple[int, str]] = set()
    for p in people:
        if p.department:
            inst_id = stored.institutions[p.institution].id
            parts = p.department.split("/")
            wanted.update((inst_id, "/".join(parts[: i + 1])) for i in range(len(parts)))
    new_depts: dict[tuple[int, str], Department] = {}
    for inst_id, dept_path in sorted(wanted, key=lambda k: (k[1].count("/"), k)):
        if (inst_id, dept_path) in stored.departments:
            continue
        parent_path, _sep, leaf = dept_path.rpartition("/")
        dept = Department(institution_id=inst_id, name=leaf, path=dept_path)
        if parent_path:
            parent = new_depts.get((inst_id, parent_path))
            if parent is not None:
                dept.parent = parent
            else:
                dept.parent_id = stored.departments[(inst_id, parent_path)]
        session.add(dept)
        new_depts[(inst_id, dept_path)] = dept
    session.flush()
    for key, dept in new_depts.items():
        stored.departments[key] = dept.id
        stored.department_paths[dept.id] = key[1]
    report.departments_created = len(new_depts)

    # New employees first (managers may be among them), then every change by id.
    keys = ("department", "position", "email", "mobile", "language")
    has = {key: table.has(key) for key in keys}
    fresh = _managers_first([p for p in people if p.number not in stored.employees])
    id_of = {number: rec["id"] for number, rec in stored.employees.items()}
    if fresh:
        # Ids are taken before the insert so that each new row carries its manager at
        # once: a second pass updating 100,000 managers cost as much as the insert.
        id_of.update(zip((p.number for p in fresh), _new_ids(session, len(fresh)), strict=True))
        values = [
            {
                "id": id_of[p.number],
                "group_id": grp.id,
                "number": p.number,
                "name": p.name,
                "position": p.position,
                "institution_id": stored.institutions[p.institution].id,
                "department_id": _dept_id(stored, p),
                "manager_id": id_of[p.manager] if p.manager else None,
                "pay_base": p.pay_base,
                "email": p.email,
                "mobile": p.mobile,
                "language": p.language,
                "active": True,
                "on_leave": False,
            }
            for p in fresh
        ]
        # Straight through the driver (COPY on PostgreSQL): the ORM's bulk insert cost
        # several times the database's own work at 100,000 rows.
        copy_many(flushed(session), Employee, _NEW_COLUMNS, (_row(v) for v in values))
    report.created = len(fresh)
    stored.number_of.update({emp_id: number for number, emp_id in id_of.items()})

    inst_names = {inst.id: name for name, inst in stored.institutions.items()}

    def shown(key: str, value: Any) -> Any:
        """A field as the audit log shows it: names and 工号 rather than ids."""
        if value is None:
            return None
        if key == "institution_id":
            return inst_names.get(value)
        if key == "department_id":
            return stored.department_paths.get(value)
        if key == "manager_id":
            return stored.number_of.get(value, value)
        return str(value) if isinstance(value, Decimal) else value

    changes: list[dict[str, Any]] = []
    # Audit events in audit.MANY_COLUMNS order, written in one go: at 100,000 changed
    # people, one ORM object each cost more than the changes themselves.
    events: list[tuple[Any, ...]] = []
    in_file = {p.number for p in people}
    for p in people:
        rec = stored.employees.get(p.number)
        if rec is None:
            continue
        new: dict[str, Any] = {
            "name": p.name,
            "institution_id": stored.institutions[p.institution].id,
            "pay_base": p.pay_base,
            "active": True,
        }
        if has["department"]:
            new["department_id"] = _dept_id(stored, p)
        if has["position"]:
            new["position"] = p.position
        if has["email"]:
            new["email"] = p.email
        if has["mobile"]:
            new["mobile"] = p.mobile
        if has["language"]:
            new["language"] = p.language
        if table.has("manager_number"):
            new["manager_id"] = id_of[p.manager] if p.manager else None
        diff = {k: v for k, v in new.items() if not _same(rec[k], v)}
        role_diff = _role_change(table, stored, rec["id"], p, new["institution_id"])
        if not diff and role_diff is None:
            report.unchanged += 1
            continue
        report.updated += 1
        if diff:
            changes.append({"id": rec["id"], **diff})
        before = {k: shown(k, rec[k]) for k in FIELDS if k in diff}
        after = {k: shown(k, diff[k]) for k in FIELDS if k in diff}
        if role_diff is not None:
            before["roles"], after["roles"] = role_diff
        events.append(
            (
                now,
                None,
                "import",
                "employee.update",
                "employee",
                rec["id"],
                before,
                after,
                report.source,
            )
        )

    gone = [
        rec for number, rec in stored.employees.items() if number not in in_file and rec["active"]
    ]
    if deactivate_missing:
        for rec in gone:
            changes.append({"id": rec["id"], "active": False})
            events.append(
                (
                    now,
                    None,
                    "import",
                    "employee.deactivate",
                    "employee",
                    rec["id"],
                    {"active": True},
                    {"active": False},
                    report.source,
                )
            )
        report.deactivated = len(gone)
    else:
        report.missing = len(gone)
    if changes:
        update_many(flushed(session), Employee, changes)

    if table.has("roles"):
        _write_grants(session, stored, people, id_of, in_file)
    _write_heads(
        table, people, stored, id_of, {r["id"] for r in gone} if deactivate_missing else set()
    )

    audit.record_many(session, events)
    audit.record(
        session,
        now,
        "import.org",
        "group",
        grp.id,
        actor_label="import",
        after={**report.counts(), "deactivate_missing": deactivate_missing},
        note=report.source,
    )
    session.flush()
    # Bulk statements bypass the identity map: make the caller's objects reload.
    session.expire_all()


# Every column in the table's order: a raw insert applies no Python-side defaults, so a
# column added to the model and not given above fails loudly (KeyError) instead of being
# stored as NULL.
_NEW_COLUMNS = tuple(c.key for c in Employee.__table__.columns)


def _managers_first(fresh: list[Person]) -> list[Person]:
    """New people with each one's manager (if also new) before them: SQLite checks the
    manager's foreign key row by row. Cycles were refused by `_check_managers`."""
    by_number = {p.number: p for p in fresh}
    depth: dict[str, int] = {}
    for p in fresh:
        chain = []
        at: Person | None = p
        while at is not None and at.number not in depth:
            chain.append(at)
            at = by_number.get(at.manager) if at.manager else None
        below = depth[at.number] if at is not None else -1
        for q in reversed(chain):
            below += 1
            depth[q.number] = below
    return sorted(fresh, key=lambda p: depth[p.number])


def _new_ids(session: Session, count: int) -> list[int]:
    """`count` employee ids no one else can take: from the id sequence on PostgreSQL; on
    SQLite after the highest stored id, under the write lock this transaction takes
    first (so no other writer can insert in between)."""
    conn = flushed(session)
    if conn.dialect.name == "postgresql":
        rows = conn.exec_driver_sql(
            "SELECT nextval(pg_get_serial_sequence('employees', 'id')) "
            "FROM generate_series(1, %(n)s)",
            {"n": count},
        )
        return [int(r[0]) for r in rows]
    conn.exec_driver_sql("UPDATE employees SET id = id WHERE 0")  # takes the write lock
    top = conn.exec_driver_sql("SELECT coalesce(max(id), 0) FROM employees").scalar_one()
    return list(range(int(top) + 1, int(top) + 1 + count))


def _row(values: dict[str, Any]) -> tuple[Any, ...]:
    return tuple(values[c] for c in _NEW_COLUMNS)


def _dept_id(stored: _Stored, p: Person) -> int | None:
    if not p.department:
        return None
    return stored.departments[(stored.institutions[p.institution].id, p.department)]


def _same(old: Any, new: Any) -> bool:
    if isinstance(old, Decimal) or isinstance(new, Decimal):
        return old is not None and new is not None and Decimal(old) == Decimal(new)
    return bool(old == new)


def _wanted_grants(p: Person, inst_id: int) -> set[tuple[Role, int | None]]:
    return {(role, inst_id if scoped else None) for role, scoped in p.roles}


def _role_change(
    table: Table, stored: _Stored, emp_id: int, p: Person, inst_id: int
) -> tuple[list[str], list[str]] | None:
    if not table.has("roles"):
        return None
    have = set(stored.grants.get(emp_id, {}))
    want = _wanted_grants(p, inst_id)
    if have == want:
        return None
    return _role_names(have), _role_names(want)


def _role_names(grants: set[tuple[Role, int | None]]) -> list[str]:
    return sorted(f"{role.value}@{inst}" if inst else role.value for role, inst in grants)


def _write_grants(
    session: Session,
    stored: _Stored,
    people: list[Person],
    id_of: dict[str, int],
    in_file: set[str],
) -> None:
    drop: list[int] = []
    add: list[dict[str, Any]] = []
    # A head named in the file is the only one: head grants for that institution held by
    # employees outside the file go (those in the file are set below anyway).
    headed = {stored.institutions[p.institution].id for p in people if (Role.HEAD, True) in p.roles}
    for emp_id, have in stored.grants.items():
        if stored.number_of.get(emp_id) in in_file:
            continue
        drop.extend(
            grant_id
            for (role, inst), grant_id in have.items()
            if role == Role.HEAD and inst in headed
        )
    for p in people:
        emp_id = id_of[p.number]
        have = stored.grants.get(emp_id, {})
        want = _wanted_grants(p, stored.institutions[p.institution].id)
        drop.extend(grant_id for key, grant_id in have.items() if key not in want)
        add.extend(
            {"employee_id": emp_id, "role": role, "institution_id": inst}
            for role, inst in want
            if (role, inst) not in have
        )
    for i in range(0, len(drop), _CHUNK):
        session.execute(delete(RoleGrant).where(RoleGrant.id.in_(drop[i : i + _CHUNK])))
    if add:
        session.execute(insert(RoleGrant), add)


def _write_heads(
    table: Table,
    people: list[Person],
    stored: _Stored,
    id_of: dict[str, int],
    deactivated: set[int],
) -> None:
    by_id = {inst.id: inst for inst in stored.institutions.values()}
    if table.has("roles"):
        heads = {
            stored.institutions[p.institution].id: id_of[p.number]
            for p in people
            if (Role.HEAD, True) in p.roles
        }
        in_file = {id_of[p.number] for p in people}
        for inst_id, inst in by_id.items():
            if inst_id in heads:
                if inst.head_id != heads[inst_id]:
                    inst.head_id = heads[inst_id]
            elif inst.head_id in in_file:
                # The file speaks for this head and no longer names them head here.
                inst.head_id = None
    for inst in by_id.values():
        if inst.head_id in deactivated:
            inst.head_id = None
