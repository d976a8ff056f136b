"""Registration numbers (R11): `AST-2026-000123`, gap-free per department and year."""

from __future__ import annotations


def registration_number(department_code: str, year: int, sequence: int) -> str:
    return f"{department_code}-{year}-{sequence:06d}"
