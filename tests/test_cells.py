"""Reading spreadsheet cells: what Excel and HR put there becomes exact values."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.importing import cells
from bot.importing.cells import BadCell
from bot.importing.table import canonical

FULL_WIDTH = str.maketrans("0123456789,.", "０１２３４５６７８９，．")


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("4000", "4000"),
        ("  4000 ", "4000"),
        ("\u30004000\u3000", "4000"),
        ("4,000.00", "4000.00"),
        ("¥4000", "4000"),
        ("￥4,000", "4000"),
        ("¥ 4,000.50", "4000.50"),
        ("4000元", "4000"),
        ("４０００", "4000"),
        ("４，０００．５０", "4000.50"),
        (4000, "4000"),
        (4000.0, "4000.0"),
        (4000.1, "4000.1"),
        (0.1, "0.1"),
        (Decimal("12.30"), "12.30"),
    ],
)
def test_money_cells_read_exactly(raw, expected):
    assert cells.decimal(raw, money=True) == Decimal(expected)
    assert str(cells.decimal(raw, money=True)) == expected


@pytest.mark.parametrize("raw", ["abc", "4,00", "4.000,00", "1e5", "NaN", "--4", "¥", True])
def test_it_refuses_what_is_not_a_number(raw):
    with pytest.raises(BadCell):
        cells.decimal(raw, money=True)


def test_a_currency_mark_is_not_a_number_outside_money():
    with pytest.raises(BadCell):
        cells.decimal("¥4000")


def test_a_percent_sign_is_read_only_for_weights():
    assert cells.decimal("70%", percent=True) == Decimal(70)
    with pytest.raises(BadCell):
        cells.decimal("70%")


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (10023, "10023"),
        (10023.0, "10023"),
        ("10023.0", "10023"),
        (" 10023 ", "10023"),
        ("１００２３", "10023"),
        ("007", "007"),
        ("A-01", "A-01"),
    ],
)
def test_numbers_read_as_text_codes(raw, expected):
    assert cells.code(raw) == expected


def test_a_code_with_a_fraction_is_refused():
    with pytest.raises(BadCell):
        cells.code(10023.5)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("是", True), ("否", False), ("Y", True), ("no", False), (True, True), (1, True), ("", None)],
)
def test_flags_read_yes_and_no(raw, expected):
    assert cells.flag(raw) is expected


def test_a_flag_that_is_neither_is_refused():
    with pytest.raises(BadCell):
        cells.flag("maybe")


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("工号*", "工号"),
        ("绩效工资基数（元）", "绩效工资基数"),
        ("Manager Number", "manager_number"),
        (" 直接上级工号 ", "直接上级工号"),
    ],
)
def test_headers_match_despite_marks_notes_and_case(a, b):
    assert canonical(a) == canonical(b)


@given(st.decimals(min_value=0, max_value=10**9, places=2, allow_nan=False))
def test_any_amount_written_as_excel_shows_it_reads_back_exactly(amount):
    grouped = f"{amount:,.2f}"
    for written in (grouped, f"¥{grouped}", f"￥{grouped}", grouped.translate(FULL_WIDTH)):
        assert cells.decimal(written, money=True) == amount


@given(st.decimals(min_value=0, max_value=10**7, places=2, allow_nan=False))
def test_an_amount_stored_as_a_float_cell_reads_back_exactly(amount):
    # Excel keeps 4000.1 as the nearest double; reading it must not give 4000.0999…
    assert cells.decimal(float(amount), money=True) == amount
