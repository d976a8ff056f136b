"""The parent's cabinet pages (issue 4): log in with the applicant's IIN and a one-time
password, see the applications, keep contacts, messages and benefits current, withdraw.

One thing per page, plain forms (htmx only boosts them), every change a GraphQL mutation
run in-process. The IIN is only ever POSTed: it is in no address and not in the session,
which keeps just the login challenge's id between the two login steps.

Issue 9: an offered place shows on the application's page as a card (kindergarten, group,
language, the deadline in days and as a date, why this child), accepted with one button,
declined after a page that says whether declining costs the stop-list (R27, R30); an
accepted referral shows when to present it, what to bring and its one extension (R28).
Closed referrals are in the history; while the child waits, the seats offered recently in
its cohort are listed with why they went to someone else."""

from __future__ import annotations

import functools
import re
from collections.abc import Awaitable, Callable
from datetime import date
from typing import Any

from babel.dates import format_date
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from server.auth.sessions import LOGIN_CODE, NEW_PHONE_CODE
from server.domain import phones as phone_rules
from server.domain.allocation import Window
from server.domain.benefits import STANDING, Evidence
from server.domain.referrals import OPEN, PRESENTABLE, ReferralState
from server.domain.states import ACTIVE, State
from server.i18n import get_language
from views import graphql
from views.common import (
    errors_of,
    mutate,
    no_store,
    not_found,
    read_form,
    redirect,
    session,
    status_for,
    text,
    upload,
)
from views.rendering import page

LOGIN = "/cabinet/login"
# Notices shown once after a change (?done=…); anything else shows nothing.
DONE = (
    "phone_added",
    "phone_removed",
    "email",
    "notifications",
    "claimed",
    "benefit_withdrawn",
    "withdrawn",
    "accepted",
    "declined",
    "declined_stoplist",
    "extended",
)
STATUS_CODES = {"otp.rate_limited": 429}


def _private(request: Request, response: Response) -> Response:
    """The cabinet shows personal data: never kept by a cache. (When the session
    changed, the session middleware says so itself.)"""
    return response if session(request).modified else no_store(response)


def _show(request: Request, template: str, errors: list[dict[str, Any]] | None = None, **extra: Any) -> Response:
    status = status_for(errors, STATUS_CODES) if errors else 200
    return _private(request, page(request, template, status_code=status, errors=errors or [], **extra))


def _logged_in(request: Request) -> bool:
    return session(request).parent_signed_in


def _dev_outbox(request: Request) -> bool:
    return bool(request.app.state.settings.dev_outbox_enabled)


def _not_found(request: Request) -> Response:
    return _private(request, not_found(request))


def _masked(phone: str) -> str:
    """Where a code went, as the page says it: +7701*****00."""
    return phone_rules.mask(phone_rules.normalize_mobile(phone))


def _home(application: dict[str, Any], done: str = "") -> str:
    url = f"/cabinet/{application['registrationNumber']}"
    return f"{url}?done={done}" if done else url


def _closed(application: dict[str, Any]) -> Response | None:
    """Changes are for applications still in the queue; a closed one shows its page."""
    if application["status"] not in ACTIVE:
        return redirect(_home(application))
    return None


_Handler = Callable[[Request, dict[str, Any], dict[str, Any]], Awaitable[Response]]


def _for_application(
    operation: str, *, open_only: bool = True
) -> Callable[[_Handler], Callable[[Request], Awaitable[Response]]]:
    """A page of the logged-in parent's application named in the address: the handler gets
    it and all that `operation` answered. Anyone else is sent to log in, an unknown number
    is a 404, and a page that changes the application (`open_only`) sends a closed one to
    its own page."""

    def wrap(handler: _Handler) -> Callable[[Request], Awaitable[Response]]:
        @functools.wraps(handler)
        async def endpoint(request: Request) -> Response:
            if not _logged_in(request):
                return redirect(LOGIN)
            data = await graphql.run(
                request, "cabinet", operation, {"registrationNumber": request.path_params["number"]}
            )
            application = data.get("application")
            if application is None:
                return _not_found(request)
            if open_only and (closed := _closed(application)):
                return closed
            return await handler(request, application, data)

        return endpoint

    return wrap


async def _change(
    request: Request,
    application: dict[str, Any],
    operation: str,
    variables: dict[str, Any],
    done: str,
) -> tuple[list[dict[str, Any]], Response | None]:
    """Changes the application: its errors, or none and the way back to its page with the
    notice `done`."""
    errors = errors_of(
        await mutate(
            request, "cabinet", operation, {"registrationNumber": application["registrationNumber"], **variables}
        )
    )
    return errors, None if errors else redirect(_home(application, done))


# -- logging in ---------------------------------------------------------------------------


async def login(request: Request) -> Response:
    values = {"applicant_iin": "", "phone": ""}
    if request.method == "POST":
        form = await read_form(request)
        values = {k: str(form.get(k, "")).strip()[:32] for k in values}
        payload = await mutate(
            request, "cabinet", "CabinetLogin", {"applicantIin": values["applicant_iin"], "phone": values["phone"]}
        )
        errors = errors_of(payload)
        if not errors:
            session(request).await_code(LOGIN_CODE, payload["challengeId"], to=_masked(values["phone"]))
            return redirect(LOGIN + "/code")
        return _show(request, "cabinet/login.html", errors, values=values)
    if _logged_in(request):
        return redirect("/cabinet")
    return _show(request, "cabinet/login.html", values=values, signed_out=request.query_params.get("out") == "1")


async def login_code(request: Request) -> Response:
    codes = session(request)
    pending = codes.pending_code(LOGIN_CODE)
    if pending is None:
        return redirect(LOGIN)
    errors: list[dict[str, Any]] = []
    if request.method == "POST":
        form = await read_form(request)
        errors = errors_of(
            await mutate(
                request,
                "cabinet",
                "CabinetConfirmLogin",
                {"challengeId": pending.id, "code": str(form.get("code", ""))[:12]},
            )
        )
        if not errors:
            codes.code_used(LOGIN_CODE)
            return redirect("/cabinet")
    return _show(request, "cabinet/login_code.html", errors, to=pending.to, dev_outbox=_dev_outbox(request))


async def logout(request: Request) -> Response:
    await read_form(request)  # nothing in it but the CSRF token
    await graphql.run(request, "cabinet", "SignOut")  # no log-in code is left waiting either
    return redirect(LOGIN + "?out=1")


# -- looking ------------------------------------------------------------------------------


async def applications(request: Request) -> Response:
    if not _logged_in(request):
        return redirect(LOGIN)
    data = await graphql.run(request, "cabinet", "MyApplications")
    return _show(request, "cabinet/list.html", applications=data["myApplications"])


async def _application_page(
    request: Request, application: dict[str, Any], errors: list[dict[str, Any]] | None = None, done: str = ""
) -> Response:
    """The application's page (the answer of `CabinetApplication`), with an offer's card."""
    offers = await _offers(request, application)
    terms = await _terms(application) if offers["offer"] else None
    return _show(
        request,
        "cabinet/application.html",
        errors,
        app=application,
        active=application["status"] in ACTIVE,
        done=done if done in DONE else "",
        terms=terms,
        **offers,
    )


@_for_application("CabinetApplication", open_only=False)
async def application(request: Request, application: dict[str, Any], _data: dict[str, Any]) -> Response:
    return await _application_page(request, application, done=request.query_params.get("done", ""))


# -- phones -------------------------------------------------------------------------------


@_for_application("CabinetContacts")
async def phones(request: Request, application: dict[str, Any], _data: dict[str, Any]) -> Response:
    """The confirmed phones with a button to remove each, and a form to add one."""
    number = application["registrationNumber"]
    errors: list[dict[str, Any]] = []
    value = ""
    if request.method == "POST":
        form = await read_form(request)
        if form.get("action") == "remove":
            errors, done = await _change(
                request, application, "CabinetRemovePhone", {"phone": str(form.get("phone", ""))[:32]}, "phone_removed"
            )
            if done:
                return done
            errors = [{**e, "field": "phones"} for e in errors]
        else:
            value = str(form.get("phone", "")).strip()[:32]
            payload = await mutate(
                request, "cabinet", "CabinetAddPhone", {"registrationNumber": number, "phone": value}
            )
            errors = errors_of(payload)
            if not errors:
                session(request).await_code(NEW_PHONE_CODE, payload["challengeId"], to=_masked(value), subject=number)
                return redirect(f"/cabinet/{number}/phones/code")
    listed = [c for c in application["contacts"] if c["kind"] == "phone" and c["confirmed"]]
    return _show(request, "cabinet/phones.html", errors, app=application, phones=listed, value=value)


@_for_application("CabinetContacts")
async def phone_code(request: Request, application: dict[str, Any], _data: dict[str, Any]) -> Response:
    number = application["registrationNumber"]
    pending = session(request).pending_code(NEW_PHONE_CODE, number)
    if pending is None:
        return redirect(f"/cabinet/{number}/phones")
    errors: list[dict[str, Any]] = []
    if request.method == "POST":
        form = await read_form(request)
        errors, done = await _change(
            request,
            application,
            "CabinetConfirmPhone",
            {
                "challengeId": pending.id,
                "code": str(form.get("code", ""))[:12],
            },
            "phone_added",
        )
        if done:
            session(request).code_used(NEW_PHONE_CODE)
            return done
    return _show(
        request,
        "cabinet/phone_code.html",
        errors,
        app=application,
        to=pending.to,
        dev_outbox=_dev_outbox(request),
    )


# -- email and messages -------------------------------------------------------------------


@_for_application("CabinetContacts")
async def email(request: Request, application: dict[str, Any], _data: dict[str, Any]) -> Response:
    current = next((c["value"] for c in application["contacts"] if c["kind"] == "email"), "")
    value = current
    errors: list[dict[str, Any]] = []
    if request.method == "POST":
        form = await read_form(request)
        value = str(form.get("email", "")).strip()[:254]
        errors, done = await _change(request, application, "CabinetSetEmail", {"email": value}, "email")
        if done:
            return done
    return _show(request, "cabinet/email.html", errors, app=application, value=value, current=current)


@_for_application("CabinetContacts")
async def notifications(request: Request, application: dict[str, Any], _data: dict[str, Any]) -> Response:
    values = {"channel": application["notifyChannel"], "language": application["notifyLanguage"]}
    errors: list[dict[str, Any]] = []
    if request.method == "POST":
        form = await read_form(request)
        values = {k: str(form.get(k, ""))[:8] for k in values}
        errors, done = await _change(request, application, "CabinetSetNotifications", values, "notifications")
        if done:
            return done
    has_email = any(c["kind"] == "email" for c in application["contacts"])
    return _show(request, "cabinet/notifications.html", errors, app=application, values=values, has_email=has_email)


# -- benefits -----------------------------------------------------------------------------


def _benefit_page(
    request: Request, data: dict[str, Any], errors: list[dict[str, Any]] | None = None, chosen: str = ""
) -> Response:
    application = data["application"]
    held = {b["category"]["code"] for b in application["benefits"] if b["status"] in STANDING}
    claimable = [c for c in data["benefitCategories"] if c["evidence"] == Evidence.DOCUMENT and c["code"] not in held]
    return _show(
        request,
        "cabinet/benefits.html",
        errors,
        app=application,
        benefits=application["benefits"],
        categories=claimable,
        chosen=chosen,
    )


@_for_application("CabinetBenefits")
async def benefits(request: Request, application: dict[str, Any], data: dict[str, Any]) -> Response:
    """The benefits with their status and reason; a claim with a document (R14, R15)."""
    if request.method == "GET":
        return _benefit_page(request, data)
    form = await read_form(request)
    chosen = str(form.get("category", ""))[:32]
    document = upload(form, "document")
    try:
        errors, done = await _change(
            request, application, "CabinetClaimBenefit", {"categoryCode": chosen, "document": document}, "claimed"
        )
    finally:
        await form.close()
    return done or _benefit_page(request, data, errors, chosen)


@_for_application("CabinetBenefits")
async def withdraw_benefit(request: Request, application: dict[str, Any], _data: dict[str, Any]) -> Response:
    """Asks first (a confirmed benefit moves the child back in the queue, R16), then does it."""
    claim_id = request.path_params["claim"]
    claim = next(
        (b for b in application["benefits"] if b["id"] == str(claim_id) and b["status"] in STANDING),
        None,
    )
    if claim is None:
        return _not_found(request)
    errors: list[dict[str, Any]] = []
    if request.method == "POST":
        await read_form(request)  # nothing in it but the CSRF token
        errors, done = await _change(
            request, application, "CabinetWithdrawBenefit", {"claimId": str(claim_id)}, "benefit_withdrawn"
        )
        if done:
            return done
    return _show(request, "cabinet/withdraw_benefit.html", errors, app=application, claim=claim)


# -- withdrawing the application ----------------------------------------------------------


@_for_application("CabinetContacts")
async def withdraw(request: Request, application: dict[str, Any], _data: dict[str, Any]) -> Response:
    """GET says what withdrawing means and asks to confirm; POST withdraws (R31)."""
    errors: list[dict[str, Any]] = []
    reason = ""
    if request.method == "POST":
        form = await read_form(request)
        reason = str(form.get("reason", "")).strip()[:500]
        errors, done = await _change(
            request, application, "CabinetWithdrawApplication", {"reason": reason}, "withdrawn"
        )
        if done:
            return done
    return _show(request, "cabinet/withdraw.html", errors, app=application, reason=reason)


# -- an offered place and its referral (issue 9) -------------------------------------------


def _long_date(value: str | None) -> str:
    """A deadline as the parent reads it: "Thursday, 5 March 2026", in the page's language."""
    if not value:
        return ""
    return format_date(date.fromisoformat(value), "EEEE, d MMMM y", locale=get_language())


def _chosen(referral: dict[str, Any]) -> bool:
    """R27: the parent chose this kindergarten (listed it, or took any in the priority
    window); only then does declining cost the stop-list (R30)."""
    return referral["window"] == Window.CHOSEN or referral["rank"] is not None


async def _offers(request: Request, application: dict[str, Any]) -> dict[str, Any]:
    """The application's referrals as the pages show them: the open one (`offer`, if any)
    and the closed ones (`past`), each with its kindergarten and its dates in words."""
    referrals = application.get("referrals") or []
    if not referrals:
        return {"offer": None, "past": []}
    found = await graphql.run(
        request, "cabinet", "CabinetKindergartens", {"departmentCode": application["department"]["code"]}
    )
    places = {k["code"]: k for k in found["kindergartens"]}
    # GraphQL names the enums' members (OFFERED, CHOSEN): the pages compare the domain's values.
    referrals = [
        {**r, "state": ReferralState[r["state"]].value, "window": Window[r["window"]].value} for r in referrals
    ]
    shown = [
        {
            **r,
            "kindergarten": places.get(
                r["kindergartenCode"], {"code": r["kindergartenCode"], "name": "", "address": ""}
            ),
            "chosen": _chosen(r),
            "open": r["state"] in OPEN,
            "acceptByText": _long_date(r["acceptBy"]),
            "presentByText": _long_date(r["presentBy"]),
            "confirmByText": _long_date(r["confirmBy"]),
        }
        for r in referrals
    ]
    offer = next((r for r in shown if r["open"]), None)
    return {"offer": offer, "past": [r for r in shown if not r["open"]]}


async def _terms(application: dict[str, Any]) -> dict[str, int]:
    """The department's terms the offer pages state (R28, R30)."""
    department = application["department"]
    return {"extension_days": department["extensionDays"], "stoplist_days": department["stoplistDays"]}


_ReferralHandler = Callable[[Request, dict[str, Any], dict[str, Any]], Awaitable[Response]]


def _for_referral(handler: _ReferralHandler) -> Callable[[Request], Awaitable[Response]]:
    """A page of one referral of the logged-in parent's application named in the address:
    the handler gets the application and the referral (with the department's terms); a
    referral of another application is a 404 like an unknown one."""

    @_for_application("CabinetReferrals")
    @functools.wraps(handler)
    async def endpoint(request: Request, application: dict[str, Any], _data: dict[str, Any]) -> Response:
        offers = await _offers(request, application)
        wanted = request.path_params["referral"]
        referral = next((r for r in [offers["offer"], *offers["past"]] if r and r["id"] == wanted), None)
        if referral is None:
            return _not_found(request)
        referral["terms"] = await _terms(application)
        return await handler(request, application, referral)

    return endpoint


def _days(value: str) -> int:
    """The number of days the parent typed; 0 (refused by the service with the allowed
    range) when it is not a whole number, so that nothing else can reach the API."""
    return int(value) if re.fullmatch(r"[0-9]{1,6}", value) else 0


@_for_referral
async def accept_offer(request: Request, application: dict[str, Any], referral: dict[str, Any]) -> Response:
    """POST only: the card's Accept button (R27). A refusal shows on the application's page."""
    await read_form(request)  # nothing in it but the CSRF token
    payload = await mutate(request, "cabinet", "CabinetAcceptOffer", {"referralId": referral["id"]})
    errors = errors_of(payload)
    if not errors:
        return redirect(_home(application, "accepted"))
    current = await graphql.run(
        request, "cabinet", "CabinetApplication", {"registrationNumber": application["registrationNumber"]}
    )
    if current.get("application") is None:
        return _not_found(request)
    return await _application_page(request, current["application"], errors)


@_for_referral
async def decline_offer(request: Request, application: dict[str, Any], referral: dict[str, Any]) -> Response:
    """GET says what declining costs (the stop-list, or nothing: R27, R30) and asks to
    confirm; POST declines."""
    if referral["state"] != ReferralState.OFFERED:
        return redirect(_home(application))
    errors: list[dict[str, Any]] = []
    if request.method == "POST":
        await read_form(request)  # nothing in it but the CSRF token
        payload = await mutate(request, "cabinet", "CabinetDeclineOffer", {"referralId": referral["id"]})
        errors = errors_of(payload)
        if not errors:
            stopped = (payload.get("application") or {}).get("status") == State.SUSPENDED
            return redirect(_home(application, "declined_stoplist" if stopped else "declined"))
    return _show(request, "cabinet/decline.html", errors, app=application, referral=referral)


@_for_referral
async def extend_referral(request: Request, application: dict[str, Any], referral: dict[str, Any]) -> Response:
    """The one extension of an accepted referral (R28): a number of calendar days."""
    if referral["state"] not in PRESENTABLE:
        return redirect(_home(application))
    errors: list[dict[str, Any]] = []
    value = ""
    if request.method == "POST":
        form = await read_form(request)
        value = text(form, "days", 12)
        payload = await mutate(
            request, "cabinet", "CabinetExtendReferral", {"referralId": referral["id"], "days": _days(value)}
        )
        errors = errors_of(payload)
        if not errors:
            return redirect(_home(application, "extended"))
        # The errors point at the field while there is one to correct; once the referral
        # cannot be extended, the page has no form and the message stands alone.
        field = "days" if referral["canExtend"] else None
        errors = [{**e, "field": field} for e in errors]
    return _show(request, "cabinet/extend.html", errors, app=application, referral=referral, value=value)


ROUTES: list[BaseRoute] = [
    Route("/cabinet", applications),
    Route("/cabinet/login", login, methods=["GET", "POST"]),
    Route("/cabinet/login/code", login_code, methods=["GET", "POST"]),
    Route("/cabinet/logout", logout, methods=["POST"]),
    Route("/cabinet/{number}", application),
    Route("/cabinet/{number}/phones", phones, methods=["GET", "POST"]),
    Route("/cabinet/{number}/phones/code", phone_code, methods=["GET", "POST"]),
    Route("/cabinet/{number}/email", email, methods=["GET", "POST"]),
    Route("/cabinet/{number}/notifications", notifications, methods=["GET", "POST"]),
    Route("/cabinet/{number}/benefits", benefits, methods=["GET", "POST"]),
    Route("/cabinet/{number}/benefits/{claim:int}/withdraw", withdraw_benefit, methods=["GET", "POST"]),
    Route("/cabinet/{number}/withdraw", withdraw, methods=["GET", "POST"]),
    Route("/cabinet/{number}/referrals/{referral}/accept", accept_offer, methods=["POST"]),
    Route("/cabinet/{number}/referrals/{referral}/decline", decline_offer, methods=["GET", "POST"]),
    Route("/cabinet/{number}/referrals/{referral}/extend", extend_referral, methods=["GET", "POST"]),
]
