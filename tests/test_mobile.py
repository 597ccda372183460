"""Mobile numbers: imported with the org file (手机, optional), one per person, and used
to bind a Feishu user by the mobile on their profile when HR turns that on."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from bot.chat import binding
from bot.infra.mobile import normalise
from models import ChatIdentity, Employee
from tests.chat_helpers import NOW, build_world
from tests.feishu_helpers import FeishuUser
from tests.test_import_org import HEADERS, STAFF, _english, imported, refused, xlsx

__all__ = ["_english"]  # the English reports of test_import_org, as an autouse fixture

MOBILE_HEADERS = [*HEADERS, "手机"]


@pytest.mark.parametrize(
    ("written", "stored"),
    [
        ("13812345678", "13812345678"),
        ("138 1234 5678", "13812345678"),
        ("+86 138-1234-5678", "13812345678"),
        ("+8613812345678", "13812345678"),
        ("8613812345678", "13812345678"),
        ("0086 13812345678", "13812345678"),
        ("１３８１２３４５６７８", "13812345678"),  # full-width, as some IMEs type it
        ("1381234567", None),  # ten digits
        ("23812345678", None),  # not a mobile's leading 1
        ("+1 13812345678", None),
        ("138-1234-567x", None),
        ("", None),
    ],
)
def test_a_mobile_is_kept_as_its_eleven_digits(written, stored):
    assert normalise(written) == stored


def _mobiles(session) -> dict[str, str | None]:
    return dict(session.execute(select(Employee.number, Employee.mobile)).tuples().all())


def test_the_org_import_reads_mobiles_in_any_spelling(session, tmp_path):
    rows = [
        [*STAFF[0], "+86 139-0000-0001"],
        [*STAFF[1], 13900000002],  # a number cell, as Excel stores a typed one
        [*STAFF[2], ""],
        [*STAFF[3], "8613900000004"],
    ]
    imported(session, xlsx(tmp_path, rows, MOBILE_HEADERS))
    assert _mobiles(session) == {
        "1001": "13900000001",
        "1002": "13900000002",
        "1003": None,
        "2001": "13900000004",
    }
    # A file without the column leaves the stored numbers alone.
    imported(session, xlsx(tmp_path, STAFF, name="again.xlsx"))
    assert _mobiles(session)["1001"] == "13900000001"


def test_a_malformed_mobile_is_refused_naming_its_row(session, tmp_path):
    rows = [[*STAFF[0], "139-0000-001"], [*STAFF[1], "13900000002"]]
    lines = refused(session, xlsx(tmp_path, rows, MOBILE_HEADERS))
    assert lines == [
        "Row 2, column 手机, value “139-0000-001”: is not a mobile number: 11 digits "
        "starting with 1, +86 allowed",
        "Nothing was imported: 1 problem found.",
    ]


def test_one_mobile_number_belongs_to_one_person(session, tmp_path):
    rows = [[*STAFF[0], "13900000001"], [*STAFF[1], "+86 139 0000 0001"]]
    assert refused(session, xlsx(tmp_path, rows, MOBILE_HEADERS)) == [
        "Row 3, column 手机, value “13900000001”: the same mobile number is already in "
        "row 2 (1001)",
        "Nothing was imported: 1 problem found.",
    ]
    # A stored employee the file leaves alone keeps theirs: a newcomer cannot take it.
    imported(session, xlsx(tmp_path, [[*STAFF[0], "13900000001"]], MOBILE_HEADERS))
    newcomer = [["1009", "新人", "一分公司", "", "柜员", "1001", 3000, "13900000001"]]
    assert refused(session, xlsx(tmp_path, newcomer, MOBILE_HEADERS, name="n.xlsx")) == [
        "Row 2, column 手机, value “13900000001”: stored employee 1001 (张伟) already has "
        "this mobile number",
        "Nothing was imported: 1 problem found.",
    ]
    # Moving a number from one person to another in one file is fine.
    moved = [[*STAFF[0], ""], [*STAFF[1], "13900000001"]]
    imported(session, xlsx(tmp_path, moved, MOBILE_HEADERS, name="m.xlsx"))
    assert _mobiles(session)["1002"] == "13900000001"


def test_binding_by_mobile_needs_exactly_one_active_match(session):
    w = build_world(session)
    w.zhang.mobile = "13900000001"
    w.staff[1].mobile = "13900000002"
    w.staff[2].mobile = "13900000002"  # only possible by hand: never bound by it
    session.flush()
    assert binding.bind_by_mobile(session, NOW, "feishu", "u1", "+86 13900000002") is None
    assert binding.bind_by_mobile(session, NOW, "feishu", "u1", "not a number") is None
    assert binding.bind_by_mobile(session, NOW, "feishu", "u1", "") is None
    found = binding.bind_by_mobile(session, NOW, "feishu", "u1", "+8613900000001")
    assert found is not None
    assert found.id == w.zhang.id
    # Bound once: a second call for the same user changes nothing.
    assert binding.bind_by_mobile(session, NOW, "feishu", "u1", "+8613900000002") is None
    w.zhang.active = False
    session.flush()
    assert binding.bind_by_mobile(session, NOW, "feishu", "u2", "13900000001") is None


@pytest.fixture
def api():
    from tests.fakes.feishu import FakeFeishuAPI

    fake = FakeFeishuAPI().start()
    yield fake
    fake.stop()


@pytest.fixture
def zhang(Session):
    with Session() as s, s.begin():
        w = build_world(s)
        w.zhang.mobile = "13900000001"
        return w.zhang.id


def _feishu(Session, api, monkeypatch, **env: str) -> list:
    u = FeishuUser(Session, api, monkeypatch, user="ou_z", **env)
    try:
        return u.say("/menu")
    finally:
        u.close()


def _bound(Session) -> list[int]:
    with Session() as s:
        return list(s.scalars(select(ChatIdentity.employee_id)))


def test_a_feishu_user_binds_by_the_mobile_on_their_profile(Session, api, zhang, monkeypatch):
    api.mobiles["ou_z"] = "+8613900000001"
    seen = _feishu(Session, api, monkeypatch, FEISHU_BIND_BY_MOBILE="true")
    assert "张三" in seen[0][0]
    assert _bound(Session) == [zhang]


def test_without_the_setting_the_mobile_is_not_used(Session, api, zhang, monkeypatch):
    api.mobiles["ou_z"] = "+8613900000001"
    seen = _feishu(Session, api, monkeypatch, FEISHU_BIND_BY_EMAIL="true")
    assert "张三" not in seen[0][0]
    assert _bound(Session) == []


def test_a_profile_mobile_nobody_has_binds_nobody(Session, api, zhang, monkeypatch):
    api.mobiles["ou_z"] = "+8613900000009"
    seen = _feishu(Session, api, monkeypatch, FEISHU_BIND_BY_MOBILE="true")
    assert "张三" not in seen[0][0]
    assert _bound(Session) == []


def test_a_profile_without_its_mobile_binds_nobody(Session, api, zhang, monkeypatch):
    # An app without the phone scope gets the user's profile with no mobile at all
    # (reported publicly: Feishu returns an empty phone rather than an error).
    seen = _feishu(Session, api, monkeypatch, FEISHU_BIND_BY_MOBILE="true")
    assert "张三" not in seen[0][0]
    assert seen[0][0]  # answered all the same: the bind-code prompt
    assert _bound(Session) == []


@pytest.mark.parametrize("code", [99991672, 41050])
def test_a_refused_profile_read_binds_nobody_and_still_answers(
    Session, api, zhang, monkeypatch, code
):
    api.mobiles["ou_z"] = "+8613900000001"
    api.profile_errors["ou_z"] = code
    seen = _feishu(Session, api, monkeypatch, FEISHU_BIND_BY_MOBILE="true")
    assert "张三" not in seen[0][0]
    assert seen[0][0]
    assert _bound(Session) == []
