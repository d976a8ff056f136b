"""Calling the services directly, as an integrator: who it is and what it submits."""

from __future__ import annotations

from datetime import date, timedelta

from server.auth.principal import Principal
from server.services import submission
from tests.helpers import iin

INTEGRATOR = Principal(kind="integrator", name="portal", scopes=frozenset({"applications:submit", "applications:read"}))


def submit_input(parent: str, child: str, **overrides) -> submission.SubmitInput:
    values = {
        "department_code": "AST",
        "applicant_iin": iin(parent),
        "child_iin": iin(child),
        "phones": ["+77012223344", "+77075556677"],
        "email": None,
        "kindergarten_codes": ["AST-KG01"],
        "any_kindergarten": False,
        "group_language": "kk",
        "desired_start": (date.today() + timedelta(days=30)).isoformat(),
        "notify_channel": "sms",
        "notify_language": "ru",
    }
    values.update(overrides)
    return submission.SubmitInput(**values)
