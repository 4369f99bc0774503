"""Rows that fit the warehouse: the column widths of ``schemas.models`` are the one definition of how
long a value may be, read here by the loaders and by config validation alike.

A value the database cannot take would fail its statement, and with it the transaction of every other
row (PostgreSQL refuses text longer than its column, NUL, and lone surrogates). Rows are made to fit
where they are built: unstorable characters are stripped (``schemas.records.storable``), and a value
longer than its column is cut or refused, whichever keeps the row truthful.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from functools import cache
from typing import Any

from schemas.models import Base
from schemas.records import storable


@cache
def column_lengths(model: type[Base]) -> dict[str, int]:
    """Column name -> the most characters it holds, for the columns that have a limit."""
    return {
        column.name: column.type.length
        for column in model.__table__.columns
        if getattr(column.type, "length", None)
    }


def too_long(model: type[Base], row: Mapping[str, Any]) -> list[str]:
    """``"column: N characters, at most M"`` for every text value longer than its column."""
    limits = column_lengths(model)
    return [
        f"{name}: {len(value)} characters, at most {limits[name]}"
        for name, value in row.items()
        if name in limits and isinstance(value, str) and len(value) > limits[name]
    ]


def fitted(model: type[Base], row: Mapping[str, Any], refuse: Collection[str] = ()) -> dict[str, Any]:
    """``row`` made storable: text cleaned, a value longer than its column cut to fit, or set to None
    for the ``refuse`` columns (a value that means nothing cut short: an ETag, a language code)."""
    limits = column_lengths(model)
    fitted_row = {name: storable(value) for name, value in row.items()}
    for name, value in fitted_row.items():
        if name in limits and isinstance(value, str) and len(value) > limits[name]:
            fitted_row[name] = None if name in refuse else value[: limits[name]]
    return fitted_row
