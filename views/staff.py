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
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import quote

from starlette.datastructures import FormData, UploadFile
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from server import runtime
from server.i18n import gettext as _
from server.services import backoffice
from views import graphql
from views.rendering import block, page
from views.security import csrf_failed, csrf_ok

OPS = "staff"
PAGE_SIZE = 25
STATUSES = backoffice.STATUSES
BENEFIT_CLASSES = ("extraordinary", "priority", "general")
PHONE_GROUP = re.compile(r"^phone([1-9])$")
# Fields of each group's form, as the services name them: their errors show at the field.
GROUP_FIELDS = {
    "email": {"email"},
    "preferences": {"kindergartens", "group_language", "desired_start"},
    "notifications": {"channel", "notify_language"},
}
DONE = {"transition", "decided", "withdrawn", "added"}
NEXT = re.compile(r"^/staff(/[A-Za-z0-9._~/-]*)?$")


# --- small helpers -------------------------------------------------------------------


def _redirect(url: str) -> Response:
    return RedirectResponse(url, status_code=303)


def _private(response: Response, *, varies: bool = False) -> Response:
    """Staff pages hold personal data: never stored by a cache or the browser."""
    response.headers["Cache-Control"] = "private, no-store"
    if varies:
        response.headers["Vary"] = "HX-Request"
    return response


def _partial(request: Request) -> bool:
    """An htmx request for a piece of a page (not a boosted link, not a history restore)."""
    headers = request.headers
    return (
        bool(headers.get("HX-Request"))
        and not headers.get("HX-Boosted")
        and not headers.get("HX-History-Restore-Request")
    )


def _safe_next(value: str) -> str:
    return value if NEXT.match(value or "") and "//" not in value else ""


def _login_redirect(request: Request) -> Response:
    target = request.url.path if request.method == "GET" else ""
    url = "/staff/login" + (f"?next={quote(target, safe='/')}" if target and target != "/staff" else "")
    if request.headers.get("HX-Request"):
        return _private(Response(status_code=200, headers={"HX-Redirect": url}), varies=True)
    return _redirect(url)


def _is_staff(viewer: dict[str, Any] | None) -> bool:
    return bool(viewer) and viewer["kind"] == "staff"  # type: ignore[index]


async def _viewer(request: Request) -> dict[str, Any] | None:
    viewer = (await graphql.run(request, OPS, "Viewer"))["viewer"]
    return viewer if _is_staff(viewer) else None


async def _form(request: Request) -> FormData | None:
    form = await request.form()
    if not csrf_ok(request, form.get("csrf_token")):
        await form.close()
        return None
    return form


async def _signed_in_form(request: Request) -> tuple[FormData | None, Response | None]:
    """A signed-in member of staff's form (CSRF checked), or the response refusing it."""
    if await _viewer(request) is None:
        return None, _login_redirect(request)
    form = await _form(request)
    if form is None:
        return None, csrf_failed(request)
    return form, None


def _text(form: FormData, name: str, limit: int = 500) -> str:
    value = form.get(name, "")
    return value.strip()[:limit] if isinstance(value, str) else ""


def _int(value: str, default: int = -1) -> int:
    """A number from a form, within GraphQL's Int (a version out of range is just stale)."""
    try:
        number = int(value)
    except ValueError:
        return default
    return number if -(2**31) <= number < 2**31 else default


def _status_for(errors: list[dict[str, Any]]) -> int:
    codes = {e["code"] for e in errors}
    if "edit.stale" in codes:
        return 409
    if "auth.required" in codes:
        return 403
    return 422


def _mapped(errors: list[dict[str, Any]], ids: dict[str, str | None]) -> list[dict[str, Any]]:
    """The services' field names → the ids of this page's inputs (several forms share a
    page, so each has its own ids); unknown fields are shown in the summary only."""
    return [{**e, "field": ids.get(e.get("field") or "")} for e in errors]


def _forbidden(request: Request, viewer: dict[str, Any] | None) -> Response:
    return _private(page(request, "staff/message.html", status_code=403, viewer=viewer, code="forbidden"))


def _not_found(request: Request, viewer: dict[str, Any] | None) -> Response:
    return _private(page(request, "staff/message.html", status_code=404, viewer=viewer, code="not_found"))


def _base(number: str) -> str:
    return f"/staff/applications/{quote(number, safe='')}"


# --- log in and out ------------------------------------------------------------------


async def login(request: Request) -> Response:
    next_url = _safe_next(request.query_params.get("next", ""))
    if request.method == "GET":
        if await _viewer(request):
            return _redirect(next_url or "/staff")
        return _private(page(request, "staff/login.html", username="", next=next_url))
    form = await _form(request)
    if form is None:
        return csrf_failed(request)
    username = _text(form, "username", 64)
    password = form.get("password", "")
    password = password[:1024] if isinstance(password, str) else ""
    next_url = _safe_next(_text(form, "next", 300))
    errors: list[dict[str, Any]] = []
    if not username:
        errors.append({"field": "username", "code": "username.required", "message": _("Enter your username.")})
    if not password:
        errors.append({"field": "password", "code": "password.required", "message": _("Enter your password.")})
    if not errors:
        payload = (await graphql.run(request, OPS, "StaffLogin", {"username": username, "password": password}))[
            "staffLogin"
        ]
        errors = payload["errors"]
        if not errors:
            return _redirect(next_url or "/staff")
    status = 429 if any(e["code"] == "staff.throttled" for e in errors) else 422
    return _private(
        page(request, "staff/login.html", status_code=status, username=username, next=next_url, errors=errors)
    )


async def logout(request: Request) -> Response:
    form = await _form(request)
    if form is None:
        return csrf_failed(request)
    await graphql.run(request, OPS, "SignOut")
    return _redirect("/staff/login")


# --- finding applications ------------------------------------------------------------


async def search(request: Request) -> Response:
    """The department's applications, newest first. The search and the filters are
    POSTed (a query may be an IIN); "next page" is a form carrying them and the cursor."""
    filters = {"query": "", "status": "", "cohort": "", "benefit_class": "", "pending": False}
    after = ""
    errors: list[dict[str, Any]] = []
    if request.method == "POST":
        form, refused = await _signed_in_form(request)
        if refused:
            return refused
        assert form is not None
        filters = {
            "query": _text(form, "query", 100),
            "status": _text(form, "status", 20),
            "cohort": _text(form, "cohort", 10),
            "benefit_class": _text(form, "benefit_class", 20),
            "pending": form.get("pending") == "1",
        }
        after = _text(form, "after", 20)
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
    if not _is_staff(viewer):
        if viewer is None:
            viewer = await _viewer(request)
        if not _is_staff(viewer):
            return _login_redirect(request)
    errors += _mapped(failed, {"status": "status", "after": None})
    found = data.get("staffApplications") if data and not errors else None
    return _private(
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


def _groups(staff_application: dict[str, Any]) -> list[str]:
    phones = [c for c in staff_application["application"]["contacts"] if c["kind"] == "phone"]
    return [f"phone{n}" for n in range(1, len(phones) + 1)] + ["email", "preferences", "notifications"]


def _current(group: str, staff_application: dict[str, Any]) -> dict[str, Any]:
    """What a group's form shows before any change: the stored values."""
    application = staff_application["application"]
    contacts = application["contacts"]
    phone = PHONE_GROUP.match(group)
    if phone:
        phones = [c["value"] for c in contacts if c["kind"] == "phone"]
        rank = int(phone.group(1))
        return {"phone": phones[rank - 1] if len(phones) >= rank else "", "reason": ""}
    if group == "email":
        return {"email": next((c["value"] for c in contacts if c["kind"] == "email"), ""), "reason": ""}
    if group == "preferences":
        chosen = [k["code"] for k in application["preferences"]]
        size = max(application["department"]["maxPreferences"], len(chosen))
        return {
            "choices": chosen + [""] * (size - len(chosen)),
            "any": application["anyKindergarten"] and not chosen,
            "group_language": application["groupLanguage"] or "",
            "desired_start": application["desiredStart"] or "",
            "reason": "",
        }
    return {"channel": application["notifyChannel"], "language": application["notifyLanguage"], "reason": ""}


def _posted(group: str, form: FormData, size: int) -> dict[str, Any]:
    """What the member of staff typed into a group's form."""
    reason = _text(form, "reason", 500)
    if PHONE_GROUP.match(group):
        return {"phone": _text(form, "phone", 40), "reason": reason}
    if group == "email":
        return {"email": _text(form, "email", 254), "reason": reason}
    if group == "preferences":
        count = max(size, sum(1 for key in form if re.fullmatch(r"choice\d", key)))
        return {
            "choices": [_text(form, f"choice{i}", 40) for i in range(1, min(count, 9) + 1)],
            "any": form.get("any") == "1",
            "group_language": _text(form, "group_language", 10),
            "desired_start": _text(form, "desired_start", 20),
            "reason": reason,
        }
    return {"channel": _text(form, "channel", 10), "language": _text(form, "language", 10), "reason": reason}


async def _save(request: Request, group: str, number: str, version: int, values: dict[str, Any]) -> dict[str, Any]:
    common = {"registrationNumber": number, "version": version, "reason": values["reason"]}
    phone = PHONE_GROUP.match(group)
    if phone:
        name, variables = "StaffSetPhone", {**common, "rank": int(phone.group(1)), "phone": values["phone"]}
    elif group == "email":
        name, variables = "StaffSetEmail", {**common, "email": values["email"]}
    elif group == "preferences":
        name, variables = (
            "StaffSetPreferences",
            {
                **common,
                "kindergartenCodes": [c for c in values["choices"] if c],
                "anyKindergarten": values["any"],
                "groupLanguage": values["group_language"],
                "desiredStart": values["desired_start"],
            },
        )
    else:
        name, variables = (
            "StaffSetNotifications",
            {**common, "channel": values["channel"], "language": values["language"]},
        )
    data = await graphql.run(request, OPS, name, variables)
    return data[name[0].lower() + name[1:]]


def _group_ids(group: str) -> dict[str, str | None]:
    if PHONE_GROUP.match(group):
        ids: dict[str, str | None] = {group: group, "phone": group}
    else:
        ids = {name: name for name in GROUP_FIELDS[group]}
    ids["reason"] = f"{group}-reason"
    return ids


async def _kindergartens(request: Request, group: str, staff_application: dict[str, Any]) -> list[dict[str, Any]]:
    if group != "preferences":
        return []
    code = staff_application["application"]["department"]["code"]
    return (await graphql.run(request, OPS, "Kindergartens", {"departmentCode": code}))["kindergartens"]


async def _application_data(request: Request, number: str) -> dict[str, Any]:
    return await graphql.run(request, OPS, "ApplicationPage", {"registrationNumber": number})


def _application_page(
    request: Request,
    data: dict[str, Any],
    staff_application: dict[str, Any],
    *,
    status_code: int = 200,
    errors: list | None = None,
    refill: dict[str, str] | None = None,
    done: str = "",
    changed: str = "",
) -> Response:
    return _private(
        page(
            request,
            "staff/application.html",
            status_code=status_code,
            **_application_context(
                data,
                staff_application,
                errors=errors,
                refill=refill,
                done=done,
                changed=changed,
            ),
        ),
        varies=True,
    )


def _application_context(
    data: dict[str, Any],
    staff_application: dict[str, Any],
    *,
    errors: list | None = None,
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
        "document_categories": [c for c in data["benefitCategories"] if c["evidence"] == "document"],
        "errors": errors or [],
        "refill": refill or {},
        "done": done,
        "changed": changed,
    }


async def application(request: Request) -> Response:
    number = request.path_params["number"]
    data = await _application_data(request, number)
    if not _is_staff(data["viewer"]):
        return _login_redirect(request)
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
    return _private(response, varies=True)


async def _group_of(request: Request, number: str, group: str) -> tuple[dict, dict, Response | None]:
    """The application and one of its editable groups, or the response that refuses it."""
    data = await _application_data(request, number)
    if not _is_staff(data["viewer"]):
        return data, {}, _login_redirect(request)
    found = data["staffApplication"]
    if found is None or group not in _groups(found):
        return data, {}, _not_found(request, data["viewer"])
    return data, found, None


async def edit(request: Request) -> Response:
    """One group's form: in place with htmx, a page of its own without JavaScript."""
    number, group = request.path_params["number"], request.path_params["group"]
    if request.method == "GET":
        data, found, refused = await _group_of(request, number, group)
        if refused:
            return refused
        if not found["canEdit"]:
            return _forbidden(request, data["viewer"])
        return await _edit_form(request, data, found, group, _current(group, found), [], found["version"])

    viewer = await _viewer(request)
    if viewer is None:
        return _login_redirect(request)
    if not (PHONE_GROUP.match(group) or group in GROUP_FIELDS):
        return _not_found(request, viewer)
    form = await _form(request)
    if form is None:
        return csrf_failed(request)
    version = _int(_text(form, "version", 12))
    values = _posted(group, form, 0)
    payload = await _save(request, group, number, version, values)
    errors = payload["errors"]
    if not errors:
        if _partial(request):
            # The whole application again: the new value, the new version for every
            # other form of the page, and the audit row in the history.
            data = await _application_data(request, number)
            response = block(
                request,
                "staff/application.html",
                "content",
                **_application_context(data, data["staffApplication"], changed=group),
            )
            response.headers["HX-Retarget"] = "#staff-content"
            response.headers["HX-Reswap"] = "innerHTML"
            return _private(response, varies=True)
        return _redirect(f"{_base(number)}?changed={group}#group-{group}")
    found = payload["application"]
    if found is None:
        return _not_found(request, viewer)
    status = _status_for(errors)
    if status == 409:
        # Someone else changed the application: show what it holds now, on the version
        # it has now; the member of staff checks it and saves again if still needed.
        values, version = _current(group, found), found["version"]
    else:
        # Keep the version the form was made on: a save after fixing the mistake must
        # still notice a change made meanwhile.
        size = found["application"]["department"]["maxPreferences"]
        values = _posted(group, form, size) if group == "preferences" else values
    data = {"viewer": viewer}
    return await _edit_form(request, data, found, group, values, _mapped(errors, _group_ids(group)), version, status)


async def _edit_form(
    request: Request,
    data: dict[str, Any],
    found: dict[str, Any],
    group: str,
    values: dict[str, Any],
    errors: list,
    version: int,
    status_code: int = 200,
) -> Response:
    context = {
        "viewer": data["viewer"],
        "s": found,
        "a": found["application"],
        "group": group,
        "values": values,
        "errors": errors,
        "version": version,
        "kindergartens": await _kindergartens(request, group, found),
        "base": _base(found["application"]["registrationNumber"] or ""),
    }
    if _partial(request):
        return _group_fragment(request, "form", status_code, **context)
    return _private(page(request, "staff/edit.html", status_code=status_code, **context), varies=True)


async def view_group(request: Request) -> Response:
    """A group as shown on the application page (htmx's Cancel); a plain request goes to
    the page itself."""
    number, group = request.path_params["number"], request.path_params["group"]
    if not _partial(request):
        return _private(_redirect(f"{_base(number)}#group-{group}"), varies=True)
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
    ids: dict[str, str | None],
    refill: dict[str, str],
    *,
    back: str = "application",
    form: FormData | None = None,
) -> Response:
    number = request.path_params["number"]
    try:
        data = await graphql.run(request, OPS, operation, variables)
    finally:
        if form is not None:
            await form.close()
    payload = data[operation[0].lower() + operation[1:]]
    errors = payload["errors"]
    if not errors:
        if back == "verification":
            return _redirect("/staff/verification?done=1")
        return _redirect(f"{_base(number)}?done={done}")
    status = _status_for(errors)
    if back == "verification":
        return await verification(request, errors=_mapped(errors, ids), status_code=status, refill=refill)
    page_data = await _application_data(request, number)
    if not _is_staff(page_data["viewer"]):
        return _login_redirect(request)
    found = payload["application"] or page_data["staffApplication"]
    if found is None:
        return _not_found(request, page_data["viewer"])
    return _application_page(request, page_data, found, status_code=status, errors=_mapped(errors, ids), refill=refill)


_Action = Callable[[Request, FormData, dict[str, Any]], Awaitable[Response]]


def _action(handler: _Action) -> Callable[[Request], Awaitable[Response]]:
    """A status change or benefit form: for a signed-in member of staff, the form (CSRF
    checked) and what every such form sends: the application, the version it was made
    on and the reason."""

    @functools.wraps(handler)
    async def endpoint(request: Request) -> Response:
        form, refused = await _signed_in_form(request)
        if refused:
            return refused
        assert form is not None
        common = {
            "registrationNumber": request.path_params["number"],
            "version": _int(_text(form, "version", 12)),
            "reason": _text(form, "reason", 500),
        }
        return await handler(request, form, common)

    return endpoint


def _claim(request: Request) -> int:
    return min(request.path_params["claim"], 2**31 - 1)  # no claim has a larger id


@_action
async def transition(request: Request, form: FormData, common: dict[str, Any]) -> Response:
    move = _text(form, "transition", 20)
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
    upload = form.get("document")
    document = upload if isinstance(upload, UploadFile) and upload.filename else None
    category = _text(form, "category", 40)
    variables = {**common, "categoryCode": category, "document": document}
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
    errors: list | None = None,
    status_code: int = 200,
    refill: dict[str, str] | None = None,
) -> Response:
    viewer = await _viewer(request)
    if viewer is None:
        return _login_redirect(request)
    if viewer["role"] not in ("verifier", "admin"):
        return _forbidden(request, viewer)
    data = await graphql.run(request, OPS, "VerificationQueue")
    return _private(
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
    principal = await graphql.session_principal(request.scope.get("session"))
    if principal.kind != "staff":
        return _login_redirect(request)
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
            "Cache-Control": "private, no-store",
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
]
