"""Templates: Jinja2 with gettext, rendered whole or one block for htmx partials."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote
from zoneinfo import ZoneInfo

from babel.dates import format_datetime
from jinja2 import Environment, FileSystemLoader, select_autoescape
from jinja2_fragments import render_block
from starlette.requests import Request
from starlette.responses import HTMLResponse

from server.auth.sessions import session_of
from server.domain import phones, roles
from server.domain.benefits import STANDING, ClaimStatus, Evidence
from server.domain.languages import GroupLanguage, Language
from server.domain.messages import Channel
from server.domain.ordering import BenefitClass
from server.domain.roles import Role
from server.domain.states import State, Transition
from server.i18n import LANGUAGE_NAMES, LANGUAGES, get_language, translations

TEMPLATES = Path(__file__).parent / "templates"

env = Environment(
    loader=FileSystemLoader(str(TEMPLATES)),
    autoescape=select_autoescape(["html"]),
    extensions=["jinja2.ext.i18n"],
    trim_blocks=True,
    lstrip_blocks=True,
)
# Jinja's new-style gettext formats the translated text itself (with `num` for counts).
# The i18n extension adds the method to the environment at run time: it has no stub.
env.install_gettext_callables(  # type: ignore[attr-defined]
    lambda message: translations(get_language()).gettext(message),
    lambda singular, plural, n: translations(get_language()).ngettext(singular, plural, n),
    newstyle=True,
)
env.globals["phone_display"] = phones.display
# The value sets of server/domain, for templates to name what they compare and label.
env.globals.update(
    BenefitClass=BenefitClass,
    Channel=Channel,
    ClaimStatus=ClaimStatus,
    Evidence=Evidence,
    GroupLanguage=GroupLanguage,
    LANGUAGE_NAMES=LANGUAGE_NAMES,
    Language=Language,
    Role=Role,
    STANDING=STANDING,
    State=State,
    Transition=Transition,
    role_allows=roles.allowed,
)


def local_datetime(value: str | datetime | None, tz: str = "Asia/Almaty") -> str:
    """A stored UTC time as the reader reads it: the department's zone, their language."""
    if not value:
        return ""
    moment = value if isinstance(value, datetime) else datetime.fromisoformat(value)
    return format_datetime(moment, "d MMMM y, HH:mm", tzinfo=ZoneInfo(tz), locale=get_language())


env.filters["local_datetime"] = local_datetime
STATIC_VERSION = "2"  # bump when static/ changes: the files are cached as immutable


def _context(request: Request, extra: dict[str, Any]) -> dict[str, Any]:
    session = session_of(request.scope)
    here = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return {
        "request": request,
        "lang": get_language(),
        "languages": [(code, LANGUAGE_NAMES[code]) for code in LANGUAGES],
        "here": quote(here, safe=""),
        "csrf_token": session.csrf_token if session is not None else "",
        "static_version": STATIC_VERSION,
        "errors": [],
        **extra,
    }


def page(request: Request, template: str, status_code: int = 200, **extra: Any) -> HTMLResponse:
    html = env.get_template(template).render(_context(request, extra))
    return HTMLResponse(html, status_code=status_code)


def block(request: Request, template: str, name: str, **extra: Any) -> HTMLResponse:
    html = render_block(env, template, name, _context(request, extra))
    return HTMLResponse(html, headers={"Vary": "HX-Request"})
