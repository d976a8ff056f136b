"""The back-office pages of kindergartens, groups, seats and referrals (issue 9).

A department admin manages the department's kindergartens and their groups, inline as
the rest of the back-office: a "Change" link that htmx turns into the form in place
(`GET …/edit` answers the form alone to htmx, the edit page otherwise; a save answers the
record again or a 303 back), a version on every form (an edit on an old one is refused
with 409 and the form shows the current values), CSRF on every form, POST/redirect/GET.

A kindergarten's staff land on their kindergarten's page: its groups with their seats,
a form to publish vacant seats and one to withdraw open ones, and the open referrals
with Enrol and No-show. The referrals of the department (Cancel, and Confirm benefit
for R29) and the allocation's dry run have pages of their own.

Every page runs the named operations of `views/operations/staff_places.graphql`
in-process: nothing here that a staff-scoped integrator could not do over the API.
Names and registration numbers are shown to staff but never put in an address: a
referral is named by its public id.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import parse_qsl, quote, urlencode

from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from server.domain import roles
from server.domain.languages import GroupLanguage
from server.domain.referrals import ReferralState
from server.errors import DomainError
from server.services.places import KINDERGARTEN_CODE
from views import graphql
from views.common import (
    errors_for_inputs,
    form_int,
    htmx_partial,
    is_staff,
    mutate,
    no_store,
    read_form,
    redirect,
    staff_login_redirect,
    status_for,
    text,
)
from views.rendering import block, page

OPS = "staff_places"
BASE = "/staff/places"
REFERRALS_PAGE = 50
KINDERGARTEN_REFERRALS = 100
GROUP_LANGUAGES = tuple(GroupLanguage)
STATES = ("open", *(s.value for s in ReferralState), "all")  # the page's filter; "all" is no filter
DONE = {"created", "group-created", "published", "withdrawn", "enrolled", "no-show", "cancelled", "confirmed"}
# Where a referral's form sends the member of staff back: one of these pages.
BACK = re.compile(r"^/staff/places(/kindergartens/[A-Z0-9-]{1,40}|/referrals)?(\?[A-Za-z0-9._~=&%-]{0,200})?$")
# A referral's moves: the path's last part → (mutation, the `done` note, needs a reason).
MOVES = {
    "enrol": ("StaffEnrol", "enrolled", False),
    "no-show": ("StaffNoShow", "no-show", True),
    "cancel": ("StaffCancelReferral", "cancelled", True),
    "confirm-benefit": ("StaffConfirmReferralBenefit", "confirmed", False),
}
# A refused change's status: an edit on an old version, a role that may not, a record
# that is not the caller's.
STATUS_CODES = {
    "edit.stale": 409,
    "auth.required": 403,
    "kindergarten.unknown": 404,
    "group.unknown": 404,
    "referral.unknown": 404,
}


# --- small helpers (as views/staff.py's, which registers these routes) ----------------


async def _viewer(request: Request) -> dict[str, Any] | None:
    viewer: dict[str, Any] | None = (await graphql.run(request, OPS, "PlacesViewer"))["viewer"]
    return viewer if is_staff(viewer) else None


async def _signed_in_form(request: Request) -> tuple[dict[str, Any] | None, FormData | None]:
    """The signed-in member of staff and their form (CSRF checked), or (None, None)."""
    viewer = await _viewer(request)
    if viewer is None:
        return None, None
    return viewer, await read_form(request)


def _code(value: str) -> str:
    """A kindergarten code from an address; "" when no kindergarten can have it."""
    code = value.strip().upper()
    return code if KINDERGARTEN_CODE.match(code) else ""


def _kindergarten_url(code: str) -> str:
    return f"{BASE}/kindergartens/{quote(code, safe='')}"


def _message(request: Request, viewer: dict[str, Any] | None, code: str) -> Response:
    status = {"forbidden": 403, "not_found": 404}[code]
    return no_store(page(request, "staff/places/message.html", status_code=status, viewer=viewer, code=code))


def _status(errors: list[dict[str, Any]]) -> int:
    return status_for(errors, STATUS_CODES)


def _count(raw: str) -> int:
    """A number of seats from a form: 0 (refused by the API) when it is no whole number."""
    return form_int(raw.strip(), 0) if raw.strip() else 0


def _done(request: Request) -> dict[str, Any]:
    done = request.query_params.get("done", "")
    return {
        "done": done if done in DONE else "",
        "n": max(0, min(form_int(request.query_params.get("n", "0"), 0), 999)),
    }


def _languages(form: FormData) -> list[str]:
    return [v.strip()[:16] for v in form.getlist("languages") if isinstance(v, str) and v.strip()][:5]


def _fragment(request: Request, template: str, name: str, status_code: int = 200, **context: Any) -> Response:
    response = block(request, template, name, **context)
    response.status_code = status_code
    return no_store(response, varies=True)


# --- the kindergartens (the department admin) -----------------------------------------

KINDERGARTEN_FIELDS = ("code", "name_kk", "name_ru", "name_en", "address", "languages", "reason")


def _kindergarten_ids(prefix: str) -> dict[str, str | None]:
    ids: dict[str, str | None] = {field: f"{prefix}-{field}" for field in (*KINDERGARTEN_FIELDS, "active")}
    return ids


def _kindergarten_values(kindergarten: dict[str, Any]) -> dict[str, Any]:
    return {
        "code": kindergarten["code"],
        "name_kk": kindergarten["nameKk"],
        "name_ru": kindergarten["nameRu"],
        "name_en": kindergarten["nameEn"],
        "address": kindergarten["address"],
        "languages": list(kindergarten["languages"]),
        "active": kindergarten["active"],
        "reason": "",
    }


def _posted_kindergarten(form: FormData) -> dict[str, Any]:
    return {
        "code": text(form, "code", 64),
        "name_kk": text(form, "name_kk", 1000),
        "name_ru": text(form, "name_ru", 1000),
        "name_en": text(form, "name_en", 1000),
        "address": text(form, "address", 1000),
        "languages": _languages(form),
        "active": form.get("active") == "1",
        "reason": text(form, "reason", 1000),
    }


def _kindergarten_variables(values: dict[str, Any]) -> dict[str, Any]:
    return {
        "nameKk": values["name_kk"],
        "nameRu": values["name_ru"],
        "nameEn": values["name_en"],
        "address": values["address"],
        "languages": values["languages"],
        "reason": values["reason"],
    }


def _index_page(
    request: Request,
    data: dict[str, Any],
    *,
    errors: list[dict[str, Any]] | None = None,
    new: dict[str, Any] | None = None,
    status_code: int = 200,
) -> Response:
    context = {
        "viewer": data["viewer"],
        "kindergartens": data["staffKindergartens"],
        "errors": errors or [],
        "new": new or {"languages": ["kk", "ru"]},
        "changed": request.query_params.get("changed", ""),
        "languages_all": GROUP_LANGUAGES,
        **_done(request),
    }
    return no_store(page(request, "staff/places/index.html", status_code=status_code, **context), varies=True)


async def index(request: Request) -> Response:
    """The department's kindergartens (to an admin: to create and change); a
    kindergarten's staff go on to their own kindergarten."""
    data, _failed = await graphql.run_checked(request, OPS, "PlacesIndex")
    viewer = (data or {}).get("viewer")
    if not is_staff(viewer):
        return staff_login_redirect(request)
    kindergartens = data.get("staffKindergartens") or []
    if viewer and viewer["role"] in roles.KINDERGARTEN_ROLES and kindergartens:
        return redirect(_kindergarten_url(kindergartens[0]["code"]))
    return _index_page(request, data)


async def create_kindergarten(request: Request) -> Response:
    viewer, form = await _signed_in_form(request)
    if viewer is None or form is None:
        return staff_login_redirect(request)
    values = _posted_kindergarten(form)
    variables = {**_kindergarten_variables(values), "code": values["code"]}
    payload = await mutate(request, OPS, "StaffCreateKindergarten", variables)
    errors = payload["errors"]
    if not errors:
        code = payload["kindergarten"]["code"]
        return redirect(f"{BASE}?done=created&changed={quote(code)}#kg-{code}")
    data = await graphql.run(request, OPS, "PlacesIndex")
    return _index_page(
        request,
        data,
        errors=errors_for_inputs(errors, _kindergarten_ids("new")),
        new=values,
        status_code=_status(errors),
    )


async def _found_kindergarten(request: Request) -> tuple[dict[str, Any] | None, dict[str, Any] | None, Response | None]:
    """The viewer and the kindergarten of the address, or the response that refuses it."""
    code = _code(request.path_params["code"])
    data, _failed = await graphql.run_checked(request, OPS, "PlacesIndex")
    viewer = (data or {}).get("viewer")
    if not is_staff(viewer):
        return None, None, staff_login_redirect(request)
    found = next((k for k in data.get("staffKindergartens") or [] if k["code"] == code), None)
    if found is None:
        return viewer, None, _message(request, viewer, "not_found")
    return viewer, found, None


def _kindergarten_form(
    request: Request,
    viewer: dict[str, Any],
    kindergarten: dict[str, Any],
    values: dict[str, Any],
    errors: list[dict[str, Any]],
    version: int,
    status_code: int = 200,
) -> Response:
    context = {
        "viewer": viewer,
        "k": kindergarten,
        "values": values,
        "errors": errors,
        "version": version,
        "languages_all": GROUP_LANGUAGES,
    }
    if htmx_partial(request):
        return _fragment(request, "staff/places/fragments.html", "kindergarten_form", status_code, **context)
    return no_store(
        page(request, "staff/places/edit.html", status_code=status_code, what="kindergarten", **context), varies=True
    )


async def edit_kindergarten(request: Request) -> Response:
    if request.method == "GET":
        viewer, found, refused = await _found_kindergarten(request)
        if refused or viewer is None or found is None:
            return refused or staff_login_redirect(request)
        if not roles.allowed(viewer["role"], "kindergarten.manage"):
            return _message(request, viewer, "forbidden")
        return _kindergarten_form(request, viewer, found, _kindergarten_values(found), [], found["version"])

    viewer, form = await _signed_in_form(request)
    if viewer is None or form is None:
        return staff_login_redirect(request)
    code = _code(request.path_params["code"])
    values = _posted_kindergarten(form)
    version = form_int(text(form, "version", 12))
    variables = {**_kindergarten_variables(values), "code": code, "version": version, "active": values["active"]}
    payload = await mutate(request, OPS, "StaffUpdateKindergarten", variables)
    errors, current = payload["errors"], payload["kindergarten"]
    if not errors:
        if htmx_partial(request):
            return _fragment(
                request, "staff/places/fragments.html", "kindergarten_display", viewer=viewer, k=current, changed=True
            )
        return redirect(f"{BASE}?changed={quote(current['code'])}#kg-{current['code']}")
    status = _status(errors)
    if current is None:
        return _message(request, viewer, "forbidden" if status == 403 else "not_found")
    if status == 409:
        values, version = _kindergarten_values(current), current["version"]
    values["code"] = current["code"]
    ids = _kindergarten_ids(f"kg-{current['code']}")
    return _kindergarten_form(request, viewer, current, values, errors_for_inputs(errors, ids), version, status)


async def view_kindergarten(request: Request) -> Response:
    """A kindergarten as shown in the list (htmx's Cancel); a plain request goes there."""
    code = _code(request.path_params["code"])
    if not htmx_partial(request):
        return no_store(redirect(f"{BASE}#kg-{code}"), varies=True)
    viewer, found, refused = await _found_kindergarten(request)
    if refused or viewer is None or found is None:
        return refused or staff_login_redirect(request)
    return _fragment(request, "staff/places/fragments.html", "kindergarten_display", viewer=viewer, k=found, focus=True)


# --- one kindergarten: its groups, seats and open referrals ------------------------------

GROUP_FIELDS = ("name", "cohort", "language", "capacity", "enrolled", "reason")


def _group_ids(prefix: str) -> dict[str, str | None]:
    ids: dict[str, str | None] = {field: f"{prefix}-{field}" for field in (*GROUP_FIELDS, "active")}
    return ids | {"group": None}


def _group_values(group: dict[str, Any]) -> dict[str, Any]:
    return {
        "name": group["name"],
        "cohort": str(group["cohort"]),
        "language": group["language"],
        "capacity": str(group["capacity"]),
        "enrolled": str(group["enrolled"]),
        "active": group["active"],
        "reason": "",
    }


def _posted_group(form: FormData, *, active_default: bool = False) -> dict[str, Any]:
    return {
        "name": text(form, "name", 500),
        "cohort": text(form, "cohort", 12),
        "language": text(form, "language", 16),
        "capacity": text(form, "capacity", 12),
        "enrolled": text(form, "enrolled", 12),
        "active": form.get("active") == "1" or (active_default and "active" not in form),
        "reason": text(form, "reason", 1000),
    }


def _group_variables(values: dict[str, Any]) -> dict[str, Any]:
    return {
        "name": values["name"],
        "cohort": form_int(values["cohort"]),
        "language": values["language"],
        "capacity": form_int(values["capacity"]),
        "enrolled": form_int(values["enrolled"]) if values["enrolled"] else 0,
        "active": values["active"],
        "reason": values["reason"],
    }


async def _kindergarten_data(request: Request, code: str) -> tuple[dict[str, Any] | None, Response | None]:
    """The kindergarten page's data, or the response that refuses it."""
    data: dict[str, Any] | None = None
    if code:
        data, _failed = await graphql.run_checked(
            request, OPS, "KindergartenPage", {"code": code, "first": KINDERGARTEN_REFERRALS}
        )
    viewer = (data or {}).get("viewer") if data else await _viewer(request)
    if not is_staff(viewer):
        return None, staff_login_redirect(request)
    found = next((k for k in (data or {}).get("staffKindergartens") or [] if k["code"] == code), None)
    if data is None or found is None or data.get("staffGroups") is None:
        return None, _message(request, viewer, "not_found")
    return {**data, "kindergarten": found}, None


def _kindergarten_page(
    request: Request,
    data: dict[str, Any],
    *,
    errors: list[dict[str, Any]] | None = None,
    refill: Mapping[str, Any] | None = None,
    new_group: dict[str, Any] | None = None,
    status_code: int = 200,
) -> Response:
    kindergarten = data["kindergarten"]
    referrals = data.get("staffReferrals") or {"edges": [], "pageInfo": {"hasNextPage": False}}
    context = {
        "viewer": data["viewer"],
        "k": kindergarten,
        "groups": data["staffGroups"],
        "referrals": [e["node"] for e in referrals["edges"]],
        "more_referrals": referrals["pageInfo"]["hasNextPage"],
        "errors": errors or [],
        "refill": refill or {},
        "new_group": new_group or {"language": kindergarten["languages"][0] if kindergarten["languages"] else ""},
        "changed": request.query_params.get("changed", ""),
        "back": _kindergarten_url(kindergarten["code"]),
        "languages_all": GROUP_LANGUAGES,
        **_done(request),
    }
    return no_store(page(request, "staff/places/kindergarten.html", status_code=status_code, **context), varies=True)


async def kindergarten(request: Request) -> Response:
    data, refused = await _kindergarten_data(request, _code(request.path_params["code"]))
    if refused or data is None:
        return refused or staff_login_redirect(request)
    return _kindergarten_page(request, data)


async def create_group(request: Request) -> Response:
    viewer, form = await _signed_in_form(request)
    if viewer is None or form is None:
        return staff_login_redirect(request)
    code = _code(request.path_params["code"])
    values = _posted_group(form, active_default=True)
    payload = await mutate(request, OPS, "StaffCreateGroup", {**_group_variables(values), "kindergartenCode": code})
    errors = payload["errors"]
    if not errors:
        group = payload["group"]
        return redirect(f"{_kindergarten_url(code)}?done=group-created&changed=group-{group['id']}#group-{group['id']}")
    data, refused = await _kindergarten_data(request, code)
    if refused or data is None:
        return refused or staff_login_redirect(request)
    ids = _group_ids("new-group") | {"kindergarten": None}
    return _kindergarten_page(
        request, data, errors=errors_for_inputs(errors, ids), new_group=values, status_code=_status(errors)
    )


async def _found_group(request: Request) -> tuple[dict[str, Any] | None, dict[str, Any] | None, Response | None]:
    number = request.path_params["group"]
    data = await graphql.run(request, OPS, "PlacesViewer")
    viewer = data["viewer"]
    if not is_staff(viewer):
        return None, None, staff_login_redirect(request)
    groups = (await graphql.run(request, OPS, "GroupsPage"))["staffGroups"]
    found = next((g for g in groups if g["id"] == str(number)), None)
    if found is None:
        return viewer, None, _message(request, viewer, "not_found")
    return viewer, found, None


def _group_context(viewer: dict[str, Any], group: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {
        "viewer": viewer,
        "g": group,
        "back": _kindergarten_url(group["kindergartenCode"]),
        "languages_all": GROUP_LANGUAGES,
        "errors": [],
        "refill": {},
        **extra,
    }


def _group_form(
    request: Request,
    viewer: dict[str, Any],
    group: dict[str, Any],
    values: dict[str, Any],
    errors: list[dict[str, Any]],
    version: int,
    status_code: int = 200,
) -> Response:
    context = _group_context(viewer, group, values=values, errors=errors, version=version)
    if htmx_partial(request):
        return _fragment(request, "staff/places/fragments.html", "group_form", status_code, **context)
    return no_store(
        page(request, "staff/places/edit.html", status_code=status_code, what="group", **context), varies=True
    )


async def edit_group(request: Request) -> Response:
    if request.method == "GET":
        viewer, found, refused = await _found_group(request)
        if refused or viewer is None or found is None:
            return refused or staff_login_redirect(request)
        if not roles.allowed(viewer["role"], "kindergarten.manage"):
            return _message(request, viewer, "forbidden")
        return _group_form(request, viewer, found, _group_values(found), [], found["version"])

    viewer, form = await _signed_in_form(request)
    if viewer is None or form is None:
        return staff_login_redirect(request)
    number = request.path_params["group"]
    values = _posted_group(form)
    version = form_int(text(form, "version", 12))
    variables = {**_group_variables(values), "groupId": str(number), "version": version}
    payload = await mutate(request, OPS, "StaffUpdateGroup", variables)
    errors, current = payload["errors"], payload["group"]
    if not errors:
        if htmx_partial(request):
            context = _group_context(viewer, current, changed=True)
            return _fragment(request, "staff/places/fragments.html", "group_display", **context)
        url = _kindergarten_url(current["kindergartenCode"])
        return redirect(f"{url}?changed=group-{current['id']}#group-{current['id']}")
    status = _status(errors)
    if current is None:
        return _message(request, viewer, "forbidden" if status == 403 else "not_found")
    if status == 409:
        values, version = _group_values(current), current["version"]
    return _group_form(
        request, viewer, current, values, errors_for_inputs(errors, _group_ids(f"group-{number}")), version, status
    )


async def view_group(request: Request) -> Response:
    """A group as shown on its kindergarten's page (htmx's Cancel)."""
    viewer, found, refused = await _found_group(request)
    if refused or viewer is None or found is None:
        return refused or staff_login_redirect(request)
    if not htmx_partial(request):
        return no_store(redirect(f"{_kindergarten_url(found['kindergartenCode'])}#group-{found['id']}"), varies=True)
    return _fragment(
        request, "staff/places/fragments.html", "group_display", **_group_context(viewer, found, focus=True)
    )


async def _seats(request: Request, operation: str, done: str, field: str) -> Response:
    """Publishing or withdrawing seats: back to the kindergarten's page, which shows
    the new counts (or the form again with the mistake)."""
    viewer, form = await _signed_in_form(request)
    if viewer is None or form is None:
        return staff_login_redirect(request)
    number = request.path_params["group"]
    raw = text(form, "count", 20)
    payload = await mutate(request, OPS, operation, {"groupId": str(number), "count": _count(raw)})
    errors, group = payload["errors"], payload["group"]
    if group is None:
        return _message(request, viewer, "forbidden" if _status(errors) == 403 else "not_found")
    url = _kindergarten_url(group["kindergartenCode"])
    if not errors:
        return redirect(f"{url}?done={done}&n={payload['seats']}&changed=group-{number}#group-{number}")
    data, refused = await _kindergarten_data(request, group["kindergartenCode"])
    if refused or data is None:
        return refused or staff_login_redirect(request)
    input_id = f"group-{number}-{field}-count"
    return _kindergarten_page(
        request,
        data,
        errors=errors_for_inputs(errors, {"count": input_id, "group": None, "reason": None}),
        refill={input_id: raw},
        status_code=_status(errors),
    )


async def publish(request: Request) -> Response:
    return await _seats(request, "StaffPublishSeats", "published", "publish")


async def withdraw(request: Request) -> Response:
    return await _seats(request, "StaffWithdrawSeats", "withdrawn", "withdraw")


# --- referrals -------------------------------------------------------------------------------


def _referral_filters(params: Mapping[str, str]) -> tuple[dict[str, str], list[dict[str, Any]]]:
    """The referrals page's filters (from its address), and what is wrong with them."""
    filters = {
        "state": (params.get("state") or "open").strip().lower()[:20],
        "kindergarten": (params.get("kindergarten") or "").strip().upper()[:40],
        "after": (params.get("after") or "").strip()[:20],
    }
    errors: list[dict[str, Any]] = []
    if filters["state"] not in STATES:
        errors.append({"field": "state", "code": "filter.state", "message": DomainError("filter.state").message()})
    if filters["kindergarten"] and not _code(filters["kindergarten"]):
        error = DomainError("kindergarten.unknown")
        errors.append({"field": "kindergarten", "code": error.code, "message": error.message()})
    if filters["after"] and not (filters["after"].isdigit() and len(filters["after"]) < 10):
        errors.append({"field": None, "code": "cursor.invalid", "message": DomainError("cursor.invalid").message()})
    return filters, errors


async def _referrals_page(
    request: Request,
    params: Mapping[str, str],
    *,
    errors: list[dict[str, Any]] | None = None,
    refill: Mapping[str, Any] | None = None,
    status_code: int = 200,
) -> Response:
    filters, wrong = _referral_filters(params)
    variables = {
        "state": "" if wrong or filters["state"] == "all" else filters["state"],
        "kindergartenCode": "" if wrong else filters["kindergarten"],
        "first": REFERRALS_PAGE,
        "after": None if wrong else filters["after"] or None,
    }
    data, failed = await graphql.run_checked(request, OPS, "ReferralsPage", variables)
    viewer = (data or {}).get("viewer") if data else await _viewer(request)
    if not is_staff(viewer):
        return staff_login_redirect(request)
    if failed and not data:
        return _message(request, viewer, "forbidden")
    found: dict[str, Any] = data["staffReferrals"] if not wrong else {"edges": [], "pageInfo": {"hasNextPage": False}}
    query = {k: v for k, v in filters.items() if v and k != "after"}
    context = {
        "viewer": viewer,
        "filters": filters,
        "states": STATES,
        "kindergartens": data["staffKindergartens"],
        "referrals": [e["node"] for e in found["edges"]],
        "next_cursor": found["pageInfo"]["endCursor"] if found["pageInfo"]["hasNextPage"] else None,
        "query": urlencode(query),
        "errors": [*wrong, *(errors or [])],
        "refill": refill or {},
        "back": f"{BASE}/referrals?"
        + urlencode({**query, **({"after": filters["after"]} if filters["after"] else {})}),
        **_done(request),
    }
    status = status_code if not wrong else 422
    return no_store(page(request, "staff/places/referrals.html", status_code=status, **context), varies=True)


async def referrals(request: Request) -> Response:
    return await _referrals_page(request, request.query_params)


async def move_referral(request: Request) -> Response:
    """Enrol, no-show, cancel or confirm a referral's benefit (plain forms): back to the
    page the form was on, with a note, or that page again with the mistake."""
    move = request.path_params["move"]
    viewer, form = await _signed_in_form(request)
    if viewer is None or form is None:
        return staff_login_redirect(request)
    if move not in MOVES:
        return _message(request, viewer, "not_found")
    operation, done, needs_reason = MOVES[move]
    public_id = str(request.path_params["referral"])
    back = text(form, "back", 300)
    back = back if BACK.match(back) else f"{BASE}/referrals"
    variables: dict[str, Any] = {"referralId": public_id}
    reason_id = f"ref-{public_id}-{move}-reason"
    reason = text(form, "reason", 1000)
    if needs_reason:
        variables["reason"] = reason
    payload = await mutate(request, OPS, operation, variables)
    errors = payload["errors"]
    if not errors:
        return redirect(f"{back}{'&' if '?' in back else '?'}done={done}")
    mapped = errors_for_inputs(errors, {"reason": reason_id, "referral": None})
    refill = {reason_id: reason}
    status = _status(errors)
    path, _, query = back.partition("?")
    if path.startswith(f"{BASE}/kindergartens/"):
        data, refused = await _kindergarten_data(request, _code(path.rsplit("/", 1)[1]))
        if refused or data is None:
            return refused or staff_login_redirect(request)
        return _kindergarten_page(request, data, errors=mapped, refill=refill, status_code=status)
    return await _referrals_page(request, dict(parse_qsl(query)), errors=mapped, refill=refill, status_code=status)


# --- the dry run ---------------------------------------------------------------------------


def _cohorts(groups: list[dict[str, Any]]) -> list[int]:
    return sorted({g["cohort"] for g in groups if g["active"]})


async def dry_run(request: Request) -> Response:
    """GET: choose a cohort, then the seats per group; POST: who would get them now.
    Nothing is written, so the answer is rendered directly (as a search is)."""
    form: FormData | None = None
    if request.method == "POST":
        viewer, form = await _signed_in_form(request)
        if viewer is None or form is None:
            return staff_login_redirect(request)
    data, _failed = await graphql.run_checked(request, OPS, "GroupsPage")
    viewer = (data or {}).get("viewer") if data else await _viewer(request)
    if not is_staff(viewer):
        return staff_login_redirect(request)
    if not data or data.get("staffGroups") is None:
        return _message(request, viewer, "forbidden")
    groups = [g for g in data["staffGroups"] if g["active"]]
    raw_cohort = (form.get("cohort") if form is not None else request.query_params.get("cohort")) or ""
    raw_cohort = raw_cohort.strip()[:8] if isinstance(raw_cohort, str) else ""
    cohort = form_int(raw_cohort, 0) if raw_cohort else 0
    errors: list[dict[str, Any]] = []
    if raw_cohort and cohort not in _cohorts(groups):
        error = DomainError("dry_run.cohort_list")
        errors.append({"field": "cohort", "code": error.code, "message": error.message()})
    shown = [g for g in groups if g["cohort"] == cohort]
    counts: dict[str, str] = {}
    result = None
    if form is not None and not errors:
        seats = []
        for group in shown:
            raw = text(form, f"seats-{group['id']}", 20)
            counts[group["id"]] = raw
            if not raw or raw == "0":
                continue
            number = form_int(raw, -1) if re.fullmatch(r"-?\d{1,10}", raw) else None
            if number is None:
                error = DomainError("seats.number")
                errors.append({"field": f"seats-{group['id']}", "code": error.code, "message": error.message()})
                continue
            seats.append({"groupId": group["id"], "count": number})
        if not errors:
            answer = (await graphql.run(request, OPS, "DryRun", {"cohort": cohort, "seats": seats}))["allocationDryRun"]
            ids = {f"seats.{i}": f"seats-{s['groupId']}" for i, s in enumerate(seats)} | {
                "cohort": "cohort",
                "seats": None,
            }
            errors = errors_for_inputs(answer["errors"], ids)
            result = answer["rows"] if not errors else None
    context = {
        "viewer": viewer,
        "cohorts": _cohorts(groups),
        "cohort": cohort if not (raw_cohort and errors and errors[0]["field"] == "cohort") else 0,
        "raw_cohort": raw_cohort,
        "groups": shown,
        "counts": counts,
        "errors": errors,
        "rows": result,
        "asked": form is not None,
    }
    return no_store(
        page(request, "staff/places/dry_run.html", status_code=422 if errors else 200, **context), varies=True
    )


ROUTES: list[BaseRoute] = [
    Route(BASE, index),
    Route(f"{BASE}/kindergartens", create_kindergarten, methods=["POST"]),
    Route(f"{BASE}/kindergartens/{{code}}", kindergarten),
    Route(f"{BASE}/kindergartens/{{code}}/edit", edit_kindergarten, methods=["GET", "POST"]),
    Route(f"{BASE}/kindergartens/{{code}}/view", view_kindergarten),
    Route(f"{BASE}/kindergartens/{{code}}/groups", create_group, methods=["POST"]),
    Route(f"{BASE}/groups/{{group:int}}/edit", edit_group, methods=["GET", "POST"]),
    Route(f"{BASE}/groups/{{group:int}}/view", view_group),
    Route(f"{BASE}/groups/{{group:int}}/publish", publish, methods=["POST"]),
    Route(f"{BASE}/groups/{{group:int}}/withdraw", withdraw, methods=["POST"]),
    Route(f"{BASE}/referrals", referrals),
    Route(f"{BASE}/referrals/{{referral:uuid}}/{{move}}", move_referral, methods=["POST"]),
    Route(f"{BASE}/dry-run", dry_run, methods=["GET", "POST"]),
]
