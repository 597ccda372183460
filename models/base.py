"""Declarative base and the column types every model shares."""

from __future__ import annotations

import datetime as dt
import enum
import json
from decimal import Decimal
from typing import Annotated, Any

from sqlalchemy import JSON, DateTime, Dialect, Enum, MetaData, Numeric, String, TypeDecorator
from sqlalchemy.orm import DeclarativeBase, mapped_column


class EncodedJSON(str):
    """JSON text already encoded (a result's trace is assembled from cached pieces):
    stored as it is in a JSON column instead of being encoded a second time."""


def encode_json(value: Any) -> str:
    """How JSON columns are written (the engines' serializer): compact, Chinese kept as
    UTF-8 (a third of the size of \\u escapes), `EncodedJSON` as it is."""
    if isinstance(value, EncodedJSON):
        return str(value)
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


class ExactDecimal(TypeDecorator[Decimal]):
    """A Decimal that round-trips exactly on every backend.

    PostgreSQL's NUMERIC is exact. SQLite has no decimal type and SQLAlchemy's Numeric
    would store a binary float there, so on SQLite the value is kept as its text form.
    """

    impl = Numeric
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> Any:
        if dialect.name == "sqlite":
            return dialect.type_descriptor(String(40))
        # Unconstrained NUMERIC keeps the scale it was given: 91.50 comes back as 91.50.
        return dialect.type_descriptor(Numeric())

    def process_bind_param(self, value: Decimal | None, dialect: Dialect) -> Any:
        if value is None:
            return None
        if not isinstance(value, Decimal):
            raise TypeError(f"ExactDecimal takes Decimal, got {type(value).__name__}")
        if dialect.name == "sqlite":
            return str(value)
        return value

    def process_result_value(self, value: Any, dialect: Dialect) -> Decimal | None:
        if value is None:
            return None
        return value if isinstance(value, Decimal) else Decimal(str(value))


class AwareDateTime(TypeDecorator[dt.datetime]):
    """A timezone-aware datetime, stored in UTC; SQLite drops the offset, so restore it."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Dialect) -> Any:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime refused: pass an aware one")
        return value.astimezone(dt.UTC)

    def process_result_value(self, value: Any, dialect: Dialect) -> dt.datetime | None:
        if value is None:
            return None
        assert isinstance(value, dt.datetime)
        return value if value.tzinfo else value.replace(tzinfo=dt.UTC)


def str_enum(cls: type[enum.StrEnum]) -> Enum:
    """Store an enum as its value ("scoring"), readable in SQL and stable across renames
    of the Python member."""
    return Enum(cls, native_enum=False, length=16, values_callable=lambda e: [m.value for m in e])


intpk = Annotated[int, mapped_column(primary_key=True)]
Dec = Annotated[Decimal, mapped_column(ExactDecimal())]
When = Annotated[dt.datetime, mapped_column(AwareDateTime())]
Name = Annotated[str, mapped_column(String(200))]
Code = Annotated[str, mapped_column(String(64))]

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map = {  # noqa: RUF012 - SQLAlchemy reads it as a plain dict
        dict[str, Any]: JSON,
        list[Any]: JSON,
        dt.datetime: AwareDateTime(),
        Decimal: ExactDecimal(),
    }

    def __repr__(self) -> str:
        fields = ("id", "number", "code", "label", "name", "state")
        shown = [f"{f}={getattr(self, f)!r}" for f in fields if f in self.__dict__]
        return f"<{type(self).__name__} {' '.join(shown)}>"
