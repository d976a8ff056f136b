"""The staff back-office pages (issue 4): log in, find an application, correct it inline,
decide benefit documents, read the history.

Every page runs the named operations of `views/operations/staff.graphql` in-process, so
a member of staff can do nothing here that a staff-scoped integrator token could not do
over the API, with the same checks (role, department, the version an edit was made on).
Only the document download bypasses GraphQL.

Everything is a plain link or form (JavaScript off works); htmx turns the "Change" links
into in-place edits: `GET …/edit/{group}` answers the group's form alone to an htmx
request (the whole edit page otherwise), and a save answers the re-rendered application
(htmx) or a 303 back to it (plain form). An edit made on an old version is refused with
409 and the form shows the current value. IINs never travel in an address: the search
form is POSTed and its results rendered directly.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from schema.context import session_principal
from server import runtime
from server.domain import roles
from server.domain.benefits import Evidence
from server.domain.ordering import BenefitClass
from server.i18n import gettext as _
from server.services import backoffice
from views import graphql, staff_places
from views.common import (
    NO_STORE,
    errors_for_inputs,
    form_int,
    htmx_partial,
    is_staff,
    mutate,
    no_store,
    not_found,
    read_form,
    redirect,
    session,
    staff_login_redirect,
    status_for,
    text,
    upload,
)
from views.rendering import block, page

OPS = "staff"
PAGE_SIZE = 25
STATUSES = backoffice.STATUSES
BENEFIT_CLASSES = tuple(BenefitClass)
DONE = {"transition", "decided", "withdrawn", "added"}
NEXT = re.compile(r"^/staff(/[A-Za-z0-9._~/-]*)?$")
# An edit made on an old version; a change the role does not allow.
STATUS_CODES = {"edit.stale": 409, "auth.required": 403}


# --- small helpers -------------------------------------------------------------------


def _safe_next(value: str) -> str:
    return value if NEXT.match(value or "") and "//" not in value else ""


def _home(viewer: dict[str, Any] | None) -> str:
    """Where a member of staff starts: a kindergarten's staff at their kindergarten."""
    return "/staff/places" if viewer and viewer["role"] in roles.KINDERGARTEN_ROLES else "/staff"


async def _viewer(request: Request) -> dict[str, Any] | None:
    viewer: dict[str, Any] | None = (await graphql.run(request, OPS, "Viewer"))["viewer"]
    return viewer if is_staff(viewer) else None


async def _signed_in_form(request: Request) -> FormData | None:
    """A signed-in member of staff's form (CSRF checked); None when nobody is signed in."""
    if await _viewer(request) is None:
        return None
    return await read_form(request)


def _forbidden(request: Request, viewer: dict[str, Any] | None) -> Response:
    return no_store(page(request, "staff/message.html", status_code=403, viewer=viewer, code="forbidden"))


def _not_found(request: Request, viewer: dict[str, Any] | None) -> Response:
    return no_store(not_found(request, "staff/message.html", viewer=viewer))


def _base(number: str) -> str:
    return f"/staff/applications/{quote(number, safe='')}"


# --- log in and out ------------------------------------------------------------------


async def login(request: Request) -> Response:
    next_url = _safe_next(request.query_params.get("next", ""))
    if request.method == "GET":
        if viewer := await _viewer(request):
            return redirect(next_url or _home(viewer))
        return no_store(page(request, "staff/login.html", username="", next=next_url))
    form = await read_form(request)
    username = text(form, "username", 64)
    password = form.get("password", "")
    password = password[:1024] if isinstance(password, str) else ""
    next_url = _safe_next(text(form, "next", 300))
    errors: list[dict[str, Any]] = []
    if not username:
        errors.append({"field": "username", "code": "username.required", "message": _("Enter your username.")})
    if not password:
        errors.append({"field": "password", "code": "password.required", "message": _("Enter your password.")})
    if not errors:
        payload = await mutate(request, OPS, "StaffLogin", {"username": username, "password": password})
        errors = payload["errors"]
        if not errors:
            return redirect(next_url or _home(payload["viewer"]))
    status = status_for(errors, {"staff.throttled": 429})
    return no_store(
        page(request, "staff/login.html", status_code=status, username=username, next=next_url, errors=errors)
    )


async def logout(request: Request) -> Response:
    await read_form(request)  # nothing in it but the CSRF token
    await graphql.run(request, OPS, "SignOut")
    return redirect("/staff/login")


# --- finding applications ------------------------------------------------------------


async def search(request: Request) -> Response:
    """The department's applications, newest first. The search and the filters are
    POSTed (a query may be an IIN); "next page" is a form carrying them and the cursor."""
    filters = {"query": "", "status": "", "cohort": "", "benefit_class": "", "pending": False}
    after = ""
    errors: list[dict[str, Any]] = []
    if request.method == "POST":
        form = await _signed_in_form(request)
        if form is None:
            return staff_login_redirect(request)
        filters = {
            "query": text(form, "query", 100),
            "status": text(form, "status", 20),
            "cohort": text(form, "cohort", 10),
            "benefit_class": text(form, "benefit_class", 20),
            "pending": form.get("pending") == "1",
        }
        after = text(form, "after", 20)
    cohort = None
    if filters["cohort"]:
        if re.fullmatch(r"(19|20)\d\d", str(filters["cohort"])):
            cohort = int(str(filters["cohort"]))
        else:
            errors.append(
                {"field": "cohort", "code": "cohort.invalid", "message": _("Enter a year of birth, like 2022.")}
            )
    if filters["status"] and filters["status"] not in STATUSES:
        errors.append({"field": "status", "code": "filter.status", "message": _("Choose a status from the list.")})
    if filters["benefit_class"] and filters["benefit_class"] not in BENEFIT_CLASSES:
        errors.append({"field": "benefit_class", "code": "filter.class", "message": _("Choose a class from the list.")})
    variables = {
        "query": filters["query"],
        "status": "" if errors else filters["status"],
        "cohort": None if errors else cohort,
        "benefitClass": "" if errors else filters["benefit_class"],
        "pendingVerification": bool(filters["pending"]),
        "first": PAGE_SIZE,
        "after": after or None,
    }
    data, failed = await graphql.run_checked(request, OPS, "Search", variables)
    viewer = (data or {}).get("viewer")
    if not is_staff(viewer):
        if viewer is None:
            viewer = await _viewer(request)
        if not is_staff(viewer):
            return staff_login_redirect(request)
    if _home(viewer) != "/staff":  # a kindergarten's staff find no applications
        return redirect(_home(viewer))
    errors += errors_for_inputs(failed, {"status": "status", "after": None})
    found = data.get("staffApplications") if data and not errors else None
    return no_store(
        page(
            request,
            "staff/search.html",
            status_code=422 if errors else 200,
            viewer=viewer,
            filters=filters,
            statuses=STATUSES,
            classes=BENEFIT_CLASSES,
            errors=errors,
            rows=[edge["node"] for edge in found["edges"]] if found else [],
            next_cursor=found["pageInfo"]["endCursor"] if found and found["pageInfo"]["hasNextPage"] else None,
            searched=request.method == "POST",
            paged=bool(after),
        )
    )


# --- one application -------------------------------------------------------------------


@dataclass(frozen=True)
class EditGroup:
    """One group of an application's fields that staff correct together, in one form
    saved by one mutation (besides the version and the reason, which every group has)."""

    name: str
    operation: str  # the mutation that saves it
    ids: Mapping[str, str]  # the services' field names → the form's inputs, for errors
    current: Callable[[dict[str, Any]], dict[str, Any]]  # the stored values, from the application
    posted: Callable[[FormData, int], dict[str, Any]]  # what was typed (the department's number of choices)
    variables: Callable[[dict[str, Any]], dict[str, Any]]  # the mutation's own variables, from the values
    kindergartens: bool = False  # the form chooses among the department's kindergartens

    def error_ids(self) -> dict[str, str | None]:
        return {**self.ids, "reason": f"{self.name}-reason"}


def _phone_group(rank: int) -> EditGroup:
    name = f"phone{rank}"

    def current(application: dict[str, Any]) -> dict[str, Any]:
        phones = [c["value"] for c in application["contacts"] if c["kind"] == "phone"]
        return {"phone": phones[rank - 1] if len(phones) >= rank else ""}

    return EditGroup(
        name,
        "StaffSetPhone",
        {name: name, "phone": name},
        current=current,
        posted=lambda form, _size: {"phone": text(form, "phone", 40)},
        variables=lambda values: {"rank": rank, "phone": values["phone"]},
    )


def _current_preferences(application: dict[str, Any]) -> dict[str, Any]:
    chosen = [k["code"] for k in application["preferences"]]
    size = max(application["department"]["maxPreferences"], len(chosen))
    return {
        "choices": chosen + [""] * (size - len(chosen)),
        "any": application["anyKindergarten"] and not chosen,
        "group_language": application["groupLanguage"] or "",
        "desired_start": application["desiredStart"] or "",
    }


def _posted_preferences(form: FormData, size: int) -> dict[str, Any]:
    count = max(size, sum(1 for key in form if re.fullmatch(r"choice\d", key)))
    return {
        "choices": [text(form, f"choice{i}", 40) for i in range(1, min(count, 9) + 1)],
        "any": form.get("any") == "1",
        "group_language": text(form, "group_language", 10),
        "desired_start": text(form, "desired_start", 20),
    }


# The groups after the phones: the email, the preferences, the messages.
_OTHER_GROUPS = (
    EditGroup(
        "email",
        "StaffSetEmail",
        {"email": "email"},
        current=lambda a: {"email": next((c["value"] for c in a["contacts"] if c["kind"] == "email"), "")},
        posted=lambda form, _size: {"email": text(form, "email", 254)},
        variables=lambda values: {"email": values["email"]},
    ),
    EditGroup(
        "preferences",
        "StaffSetPreferences",
        {name: name for name in ("kindergartens", "group_language", "desired_start")},
        current=_current_preferences,
        posted=_posted_preferences,
        variables=lambda values: {
            "kindergartenCodes": [c for c in values["choices"] if c],
            "anyKindergarten": values["any"],
            "groupLanguage": values["group_language"],
            "desiredStart": values["desired_start"],
        },
        kindergartens=True,
    ),
    EditGroup(
        "notifications",
        "StaffSetNotifications",
        {name: name for name in ("channel", "notify_language")},
        current=lambda a: {"channel": a["notifyChannel"], "language": a["notifyLanguage"]},
        posted=lambda form, _size: {"channel": text(form, "channel", 10), "language": text(form, "language", 10)},
        variables=lambda values: {"channel": values["channel"], "language": values["language"]},
    ),
)
# The editable groups by name: phone1…phone9, then the others.
GROUPS: dict[str, EditGroup] = {
    group.name: group for group in (*(_phone_group(rank) for rank in range(1, 10)), *_OTHER_GROUPS)
}


def _groups(staff_application: dict[str, Any]) -> list[str]:
    """The names of an application's groups, in the order of its page: a group per phone
    (even past the ninth, shown but not editable here), then the others."""
    phones = [c for c in staff_application["application"]["contacts"] if c["kind"] == "phone"]
    return [f"phone{n}" for n in range(1, len(phones) + 1)] + [group.name for group in _OTHER_GROUPS]


def _current(group: EditGroup, staff_application: dict[str, Any]) -> dict[str, Any]:
    """What a group's form shows before any change: the stored values."""
    return {**group.current(staff_application["application"]), "reason": ""}


def _posted(group: EditGroup, form: FormData, size: int) -> dict[str, Any]:
    """What the member of staff typed into a group's form."""
    return {**group.posted(form, size), "reason": text(form, "reason", 500)}


async def _save(
    request: Request, group: EditGroup, number: str, version: int, values: dict[str, Any]
) -> dict[str, Any]:
    variables = {"registrationNumber": number, "version": version, "reason": values["reason"]}
    return await mutate(request, OPS, group.operation, {**variables, **group.variables(values)})


async def _kindergartens(request: Request, group: EditGroup, staff_application: dict[str, Any]) -> list[dict[str, Any]]:
    if not group.kindergartens:
        return []
    code = staff_application["application"]["department"]["code"]
    return list((await graphql.run(request, OPS, "Kindergartens", {"departmentCode": code}))["kindergartens"])


async def _application_data(request: Request, number: str) -> dict[str, Any]:
    return await graphql.run(request, OPS, "ApplicationPage", {"registrationNumber": number})


def _application_page(
    request: Request, data: dict[str, Any], staff_application: dict[str, Any], *, status_code: int = 200, **shown: Any
) -> Response:
    """The application's page; `shown` as `_application_context` takes it."""
    context = _application_context(data, staff_application, **shown)
    return no_store(page(request, "staff/application.html", status_code=status_code, **context), varies=True)


def _application_context(
    data: dict[str, Any],
    staff_application: dict[str, Any],
    *,
    errors: list[dict[str, Any]] | None = None,
    refill: dict[str, str] | None = None,
    done: str = "",
    changed: str = "",
) -> dict[str, Any]:
    application = staff_application["application"]
    return {
        "viewer": data["viewer"],
        "s": staff_application,
        "a": application,
        "base": _base(application["registrationNumber"] or ""),
        "groups": _groups(staff_application),
        "document_categories": [c for c in data["benefitCategories"] if c["evidence"] == Evidence.DOCUMENT],
        "errors": errors or [],
        "refill": refill or {},
        "done": done,
        "changed": changed,
    }


async def application(request: Request) -> Response:
    number = request.path_params["number"]
    data = await _application_data(request, number)
    if not is_staff(data["viewer"]):
        return staff_login_redirect(request)
    found = data["staffApplication"]
    if found is None:
        return _not_found(request, data["viewer"])
    done = request.query_params.get("done", "")
    changed = request.query_params.get("changed", "")
    return _application_page(
        request,
        data,
        found,
        done=done if done in DONE else "",
        changed=changed if changed in _groups(found) else "",
    )


def _group_fragment(request: Request, name: str, status_code: int = 200, **context: Any) -> Response:
    response = block(request, "staff/group.html", name, **context)
    response.status_code = status_code
    return no_store(response, varies=True)


async def _group_of(
    request: Request, number: str, group: str
) -> tuple[dict[str, Any], dict[str, Any], Response | None]:
    """The application and one of its editable groups, or the response that refuses it."""
    data = await _application_data(request, number)
    if not is_staff(data["viewer"]):
        return data, {}, staff_login_redirect(request)
    found = data["staffApplication"]
    if found is None or group not in _groups(found):
        return data, {}, _not_found(request, data["viewer"])
    return data, found, None


async def edit(request: Request) -> Response:
    """One group's form: in place with htmx, a page of its own without JavaScript."""
    number, name = request.path_params["number"], request.path_params["group"]
    group = GROUPS.get(name)
    if request.method == "GET":
        data, found, refused = await _group_of(request, number, name)
        if refused:
            return refused
        if group is None:  # an application's tenth phone or later: not editable here
            return _not_found(request, data["viewer"])
        if not found["canEdit"]:
            return _forbidden(request, data["viewer"])
        return await _edit_form(request, data, found, group, _current(group, found), [], found["version"])

    viewer = await _viewer(request)
    if viewer is None:
        return staff_login_redirect(request)
    if group is None:
        return _not_found(request, viewer)
    form = await read_form(request)
    version = form_int(text(form, "version", 12))
    values = _posted(group, form, 0)
    payload = await _save(request, group, number, version, values)
    errors = payload["errors"]
    if not errors:
        if htmx_partial(request):
            # The whole application again: the new value, the new version for every
            # other form of the page, and the audit row in the history.
            data = await _application_data(request, number)
            response = block(
                request,
                "staff/application.html",
                "content",
                **_application_context(data, data["staffApplication"], changed=name),
            )
            response.headers["HX-Retarget"] = "#staff-content"
            response.headers["HX-Reswap"] = "innerHTML"
            return no_store(response, varies=True)
        return redirect(f"{_base(number)}?changed={name}#group-{name}")
    found = payload["application"]
    if found is None:
        return _not_found(request, viewer)
    status = status_for(errors, STATUS_CODES)
    if status == 409:
        # Someone else changed the application: show what it holds now, on the version
        # it has now; the member of staff checks it and saves again if still needed.
        values, version = _current(group, found), found["version"]
    else:
        # Keep the version the form was made on: a save after fixing the mistake must
        # still notice a change made meanwhile. The form again, with as many choices as
        # the department allows.
        values = _posted(group, form, found["application"]["department"]["maxPreferences"])
    data = {"viewer": viewer}
    return await _edit_form(
        request, data, found, group, values, errors_for_inputs(errors, group.error_ids()), version, status
    )


async def _edit_form(
    request: Request,
    data: dict[str, Any],
    found: dict[str, Any],
    group: EditGroup,
    values: dict[str, Any],
    errors: list[dict[str, Any]],
    version: int,
    status_code: int = 200,
) -> Response:
    context = {
        "viewer": data["viewer"],
        "s": found,
        "a": found["application"],
        "group": group.name,
        "values": values,
        "errors": errors,
        "version": version,
        "kindergartens": await _kindergartens(request, group, found),
        "base": _base(found["application"]["registrationNumber"] or ""),
    }
    if htmx_partial(request):
        return _group_fragment(request, "form", status_code, **context)
    return no_store(page(request, "staff/edit.html", status_code=status_code, **context), varies=True)


async def view_group(request: Request) -> Response:
    """A group as shown on the application page (htmx's Cancel); a plain request goes to
    the page itself."""
    number, group = request.path_params["number"], request.path_params["group"]
    if not htmx_partial(request):
        return no_store(redirect(f"{_base(number)}#group-{group}"), varies=True)
    data, found, refused = await _group_of(request, number, group)
    if refused:
        return refused
    return _group_fragment(
        request,
        "display",
        viewer=data["viewer"],
        s=found,
        a=found["application"],
        group=group,
        base=_base(number),
        focus=True,
    )


# --- status changes and benefits (plain forms) ----------------------------------------


async def _act(
    request: Request,
    operation: str,
    variables: dict[str, Any],
    done: str,
    ids: Mapping[str, str | None],
    refill: dict[str, str],
    *,
    back: str = "application",
    form: FormData | None = None,
) -> Response:
    number = request.path_params["number"]
    try:
        payload = await mutate(request, OPS, operation, variables)
    finally:
        if form is not None:
            await form.close()
    errors = payload["errors"]
    if not errors:
        if back == "verification":
            return redirect("/staff/verification?done=1")
        return redirect(f"{_base(number)}?done={done}")
    status = status_for(errors, STATUS_CODES)
    if back == "verification":
        return await verification(request, errors=errors_for_inputs(errors, ids), status_code=status, refill=refill)
    page_data = await _application_data(request, number)
    if not is_staff(page_data["viewer"]):
        return staff_login_redirect(request)
    found = payload["application"] or page_data["staffApplication"]
    if found is None:
        return _not_found(request, page_data["viewer"])
    return _application_page(
        request, page_data, found, status_code=status, errors=errors_for_inputs(errors, ids), refill=refill
    )


_Action = Callable[[Request, FormData, dict[str, Any]], Awaitable[Response]]


def _action(handler: _Action) -> Callable[[Request], Awaitable[Response]]:
    """A status change or benefit form: for a signed-in member of staff, the form (CSRF
    checked) and what every such form sends: the application, the version it was made
    on and the reason."""

    @functools.wraps(handler)
    async def endpoint(request: Request) -> Response:
        form = await _signed_in_form(request)
        if form is None:
            return staff_login_redirect(request)
        common = {
            "registrationNumber": request.path_params["number"],
            "version": form_int(text(form, "version", 12)),
            "reason": text(form, "reason", 500),
        }
        return await handler(request, form, common)

    return endpoint


def _claim(request: Request) -> int:
    return min(request.path_params["claim"], 2**31 - 1)  # no claim has a larger id


@_action
async def transition(request: Request, form: FormData, common: dict[str, Any]) -> Response:
    move = text(form, "transition", 20)
    field = f"transition-{move}-reason"
    variables = {**common, "transition": move}
    return await _act(request, "StaffTransition", variables, "transition", {"reason": field}, {field: common["reason"]})


@_action
async def decide(request: Request, form: FormData, common: dict[str, Any]) -> Response:
    claim = _claim(request)
    field = f"claim-{claim}-reason"
    variables = {**common, "claimId": str(claim), "confirm": form.get("decision") == "confirm"}
    back = "verification" if form.get("back") == "verification" else "application"
    return await _act(
        request, "StaffDecideBenefit", variables, "decided", {"reason": field}, {field: common["reason"]}, back=back
    )


@_action
async def withdraw(request: Request, form: FormData, common: dict[str, Any]) -> Response:
    claim = _claim(request)
    field = f"claim-{claim}-withdraw-reason"
    variables = {**common, "claimId": str(claim)}
    return await _act(
        request, "StaffWithdrawBenefit", variables, "withdrawn", {"reason": field}, {field: common["reason"]}
    )


@_action
async def add_benefit(request: Request, form: FormData, common: dict[str, Any]) -> Response:
    category = text(form, "category", 40)
    variables = {**common, "categoryCode": category, "document": upload(form, "document")}
    ids = {"reason": "add-reason", "category": "add-category", "document": "add-document"}
    return await _act(
        request,
        "StaffAddBenefit",
        variables,
        "added",
        ids,
        {"add-reason": common["reason"], "add-category": category},
        form=form,
    )


# --- the verification queue and documents ----------------------------------------------


async def verification(
    request: Request,
    *,
    errors: list[dict[str, Any]] | None = None,
    status_code: int = 200,
    refill: dict[str, str] | None = None,
) -> Response:
    viewer = await _viewer(request)
    if viewer is None:
        return staff_login_redirect(request)
    if not roles.allowed(viewer["role"], "benefit.decide"):
        return _forbidden(request, viewer)
    data = await graphql.run(request, OPS, "VerificationQueue")
    return no_store(
        page(
            request,
            "staff/verification.html",
            status_code=status_code,
            viewer=viewer,
            items=data["verificationQueue"],
            errors=errors or [],
            refill=refill or {},
            done=request.query_params.get("done") == "1" and not errors,
        )
    )


async def document(request: Request) -> Response:
    """A benefit document, to staff of its department only (404 to anyone else)."""
    principal = await session_principal(session(request))
    if principal.kind != "staff":
        return staff_login_redirect(request)
    found = await backoffice.document_for(principal, str(request.path_params["document_id"]))
    try:
        data = await runtime.get().gateways.storage.load(found.storage_key) if found else None
    except (OSError, ValueError):
        data = None
    if found is None or data is None:
        return _not_found(request, await _viewer(request))
    extension = found.storage_key.rsplit(".", 1)[-1] if "." in found.storage_key else "bin"
    return Response(
        data,
        media_type=found.content_type,
        headers={
            "Content-Disposition": f'inline; filename="document.{extension}"',
            "Cache-Control": NO_STORE,
            "X-Content-Type-Options": "nosniff",
            "Content-Security-Policy": DOCUMENT_CSP,
        },
    )


# Scans are shown by the browser itself: no scripts, no requests, no forms, no frames.
DOCUMENT_CSP = "sandbox; default-src 'none'; img-src 'self'; style-src 'unsafe-inline'"


ROUTES: list[BaseRoute] = [
    Route("/staff", search, methods=["GET", "POST"]),
    Route("/staff/login", login, methods=["GET", "POST"]),
    Route("/staff/logout", logout, methods=["POST"]),
    Route("/staff/verification", verification),
    Route("/staff/documents/{document_id:uuid}", document),
    Route("/staff/applications/{number}", application),
    Route("/staff/applications/{number}/edit/{group}", edit, methods=["GET", "POST"]),
    Route("/staff/applications/{number}/view/{group}", view_group),
    Route("/staff/applications/{number}/transition", transition, methods=["POST"]),
    Route("/staff/applications/{number}/benefits/add", add_benefit, methods=["POST"]),
    Route("/staff/applications/{number}/benefits/{claim:int}/decide", decide, methods=["POST"]),
    Route("/staff/applications/{number}/benefits/{claim:int}/withdraw", withdraw, methods=["POST"]),
    *staff_places.ROUTES,  # kindergartens, groups, seats, referrals (issue 9)
]
