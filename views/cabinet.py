"""The parent's cabinet pages (issue 4): log in with the applicant's IIN and a one-time
password, see the applications, keep contacts, messages and benefits current, withdraw.

One thing per page, plain forms (htmx only boosts them), every change a GraphQL mutation
run in-process. The IIN is only ever POSTed: it is in no address and not in the session,
which keeps just the login challenge's id between the two login steps."""

from __future__ import annotations

from typing import Any

from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from server.domain import phones as phone_rules
from views import graphql
from views.rendering import page
from views.security import csrf_failed, csrf_ok

LOGIN = "/cabinet/login"
LOGIN_CHALLENGE = "cabinet_ch"  # the login challenge's id, between the two login steps
LOGIN_TO = "cabinet_to"  # where its code went, masked (+7701*****00)
PHONE_CHALLENGE = "cabinet_phone"  # {rn, ch, to}: a new phone waiting for its code (masked)
ACTIVE = ("submitted", "queued", "suspended", "offered")
# Notices shown once after a change (?done=…); anything else shows nothing.
DONE = ("phone_added", "phone_removed", "email", "notifications", "claimed", "benefit_withdrawn", "withdrawn")
STATUS_CODES = {"otp.rate_limited": 429}


def redirect(url: str) -> Response:
    return RedirectResponse(url, status_code=303)


def _private(request: Request, response: Response) -> Response:
    """The cabinet shows personal data: never kept by a cache. (When the session
    changed, the session middleware says so itself.)"""
    if not _session(request).modified:
        response.headers["Cache-Control"] = "private, no-store"
    return response


def _show(request: Request, template: str, errors: list | None = None, **extra: Any) -> Response:
    status = max((STATUS_CODES.get(e.get("code", ""), 422) for e in errors), default=422) if errors else 200
    return _private(request, page(request, template, status_code=status, errors=errors or [], **extra))


def _session(request: Request) -> Any:
    return request.scope["session"]


def _logged_in(request: Request) -> bool:
    return bool(_session(request).get("cabinet"))


async def _form(request: Request) -> Any | None:
    form = await request.form()
    if not csrf_ok(request, form.get("csrf_token")):
        await form.close()
        return None
    return form


def _errors(payload: dict[str, Any]) -> list[dict[str, Any]]:
    return payload.get("errors") or []


def _dev_outbox(request: Request) -> bool:
    return bool(request.app.state.settings.dev_outbox_enabled)


def _not_found(request: Request) -> Response:
    return _private(request, page(request, "error.html", status_code=404, code="not_found"))


async def _application(request: Request, operation: str) -> tuple[dict[str, Any] | None, dict[str, Any], Response | None]:
    """The logged-in parent's application named in the address, or where to go instead."""
    if not _logged_in(request):
        return None, {}, redirect(LOGIN)
    number = request.path_params["number"]
    data = await graphql.run(request, "cabinet", operation, {"registrationNumber": number})
    application = data.get("application")
    if application is None:
        return None, data, _not_found(request)
    return application, data, None


def _home(application: dict[str, Any], done: str = "") -> str:
    url = f"/cabinet/{application['registrationNumber']}"
    return f"{url}?done={done}" if done else url


def _closed(application: dict[str, Any]) -> Response | None:
    """Changes are for applications still in the queue; a closed one shows its page."""
    if application["status"] not in ACTIVE:
        return redirect(_home(application))
    return None


# -- logging in ---------------------------------------------------------------------------


async def login(request: Request) -> Response:
    values = {"applicant_iin": "", "phone": ""}
    if request.method == "POST":
        form = await _form(request)
        if form is None:
            return csrf_failed(request)
        values = {k: str(form.get(k, "")).strip()[:32] for k in values}
        result = await graphql.run(request, "cabinet", "CabinetLogin", {"applicantIin": values["applicant_iin"], "phone": values["phone"]})
        payload = result["cabinetLogin"]
        errors = _errors(payload)
        if not errors:
            session = _session(request)
            session[LOGIN_CHALLENGE] = payload["challengeId"]
            session[LOGIN_TO] = phone_rules.mask(phone_rules.normalize_mobile(values["phone"]))
            return redirect(LOGIN + "/code")
        return _show(request, "cabinet/login.html", errors, values=values)
    if _logged_in(request):
        return redirect("/cabinet")
    return _show(request, "cabinet/login.html", values=values, signed_out=request.query_params.get("out") == "1")


async def login_code(request: Request) -> Response:
    session = _session(request)
    challenge = session.get(LOGIN_CHALLENGE)
    if not challenge:
        return redirect(LOGIN)
    errors: list = []
    if request.method == "POST":
        form = await _form(request)
        if form is None:
            return csrf_failed(request)
        result = await graphql.run(request, "cabinet", "CabinetConfirmLogin", {"challengeId": challenge, "code": str(form.get("code", ""))[:12]})
        payload = result["cabinetConfirmLogin"]
        errors = _errors(payload)
        if not errors:
            session.pop(LOGIN_CHALLENGE)
            session.pop(LOGIN_TO)
            return redirect("/cabinet")
    return _show(request, "cabinet/login_code.html", errors, to=session.get(LOGIN_TO, ""), dev_outbox=_dev_outbox(request))


async def logout(request: Request) -> Response:
    form = await _form(request)
    if form is None:
        return csrf_failed(request)
    await graphql.run(request, "cabinet", "SignOut")
    session = _session(request)
    for key in (LOGIN_CHALLENGE, LOGIN_TO, PHONE_CHALLENGE):
        session.pop(key)
    return redirect(LOGIN + "?out=1")


# -- looking ------------------------------------------------------------------------------


async def applications(request: Request) -> Response:
    if not _logged_in(request):
        return redirect(LOGIN)
    data = await graphql.run(request, "cabinet", "MyApplications")
    return _show(request, "cabinet/list.html", applications=data["myApplications"])


async def application(request: Request) -> Response:
    application, _, away = await _application(request, "CabinetApplication")
    if away:
        return away
    assert application is not None
    done = request.query_params.get("done", "")
    return _show(
        request, "cabinet/application.html", app=application, active=application["status"] in ACTIVE,
        done=done if done in DONE else "",
    )


# -- phones -------------------------------------------------------------------------------


async def phones(request: Request) -> Response:
    """The confirmed phones with a button to remove each, and a form to add one."""
    application, _, away = await _application(request, "CabinetContacts")
    if away:
        return away
    assert application is not None
    if closed := _closed(application):
        return closed
    number = application["registrationNumber"]
    errors: list = []
    value = ""
    if request.method == "POST":
        form = await _form(request)
        if form is None:
            return csrf_failed(request)
        if form.get("action") == "remove":
            result = await graphql.run(request, "cabinet", "CabinetRemovePhone", {"registrationNumber": number, "phone": str(form.get("phone", ""))[:32]})
            errors = [{**e, "field": "phones"} for e in _errors(result["cabinetRemovePhone"])]
            if not errors:
                return redirect(_home(application, "phone_removed"))
        else:
            value = str(form.get("phone", "")).strip()[:32]
            result = await graphql.run(request, "cabinet", "CabinetAddPhone", {"registrationNumber": number, "phone": value})
            payload = result["cabinetAddPhone"]
            errors = _errors(payload)
            if not errors:
                _session(request)[PHONE_CHALLENGE] = {
                    "rn": number, "ch": payload["challengeId"], "to": phone_rules.mask(phone_rules.normalize_mobile(value)),
                }
                return redirect(f"/cabinet/{number}/phones/code")
    listed = [c for c in application["contacts"] if c["kind"] == "phone" and c["confirmed"]]
    return _show(request, "cabinet/phones.html", errors, app=application, phones=listed, value=value)


async def phone_code(request: Request) -> Response:
    application, _, away = await _application(request, "CabinetContacts")
    if away:
        return away
    assert application is not None
    if closed := _closed(application):
        return closed
    number = application["registrationNumber"]
    pending = _session(request).get(PHONE_CHALLENGE)
    if not isinstance(pending, dict) or pending.get("rn") != number:
        return redirect(f"/cabinet/{number}/phones")
    errors: list = []
    if request.method == "POST":
        form = await _form(request)
        if form is None:
            return csrf_failed(request)
        result = await graphql.run(request, "cabinet", "CabinetConfirmPhone", {
            "registrationNumber": number, "challengeId": str(pending.get("ch", "")), "code": str(form.get("code", ""))[:12],
        })
        errors = _errors(result["cabinetConfirmPhone"])
        if not errors:
            _session(request).pop(PHONE_CHALLENGE)
            return redirect(_home(application, "phone_added"))
    return _show(request, "cabinet/phone_code.html", errors, app=application, to=pending.get("to", ""), dev_outbox=_dev_outbox(request))


# -- email and messages -------------------------------------------------------------------


async def email(request: Request) -> Response:
    application, _, away = await _application(request, "CabinetContacts")
    if away:
        return away
    assert application is not None
    if closed := _closed(application):
        return closed
    current = next((c["value"] for c in application["contacts"] if c["kind"] == "email"), "")
    value, errors = current, []
    if request.method == "POST":
        form = await _form(request)
        if form is None:
            return csrf_failed(request)
        value = str(form.get("email", "")).strip()[:254]
        result = await graphql.run(request, "cabinet", "CabinetSetEmail", {"registrationNumber": application["registrationNumber"], "email": value})
        errors = _errors(result["cabinetSetEmail"])
        if not errors:
            return redirect(_home(application, "email"))
    return _show(request, "cabinet/email.html", errors, app=application, value=value, current=current)


async def notifications(request: Request) -> Response:
    application, _, away = await _application(request, "CabinetContacts")
    if away:
        return away
    assert application is not None
    if closed := _closed(application):
        return closed
    values = {"channel": application["notifyChannel"], "language": application["notifyLanguage"]}
    errors: list = []
    if request.method == "POST":
        form = await _form(request)
        if form is None:
            return csrf_failed(request)
        values = {k: str(form.get(k, ""))[:8] for k in values}
        result = await graphql.run(request, "cabinet", "CabinetSetNotifications", {"registrationNumber": application["registrationNumber"], **values})
        errors = _errors(result["cabinetSetNotifications"])
        if not errors:
            return redirect(_home(application, "notifications"))
    has_email = any(c["kind"] == "email" for c in application["contacts"])
    return _show(request, "cabinet/notifications.html", errors, app=application, values=values, has_email=has_email)


# -- benefits -----------------------------------------------------------------------------


def _benefit_page(request: Request, data: dict[str, Any], errors: list | None = None, chosen: str = "") -> Response:
    application = data["application"]
    held = {b["category"]["code"] for b in application["benefits"] if b["status"] in ("pending", "confirmed")}
    claimable = [c for c in data["benefitCategories"] if c["evidence"] == "document" and c["code"] not in held]
    return _show(
        request, "cabinet/benefits.html", errors, app=application, benefits=application["benefits"],
        categories=claimable, chosen=chosen,
    )


async def benefits(request: Request) -> Response:
    """The benefits with their status and reason; a claim with a document (R14, R15)."""
    application, data, away = await _application(request, "CabinetBenefits")
    if away:
        return away
    assert application is not None
    if closed := _closed(application):
        return closed
    if request.method == "GET":
        return _benefit_page(request, data)
    form = await _form(request)
    if form is None:
        return csrf_failed(request)
    chosen = str(form.get("category", ""))[:32]
    upload = form.get("document")
    document = upload if isinstance(upload, UploadFile) and upload.filename else None
    try:
        result = await graphql.run(request, "cabinet", "CabinetClaimBenefit", {
            "registrationNumber": application["registrationNumber"], "categoryCode": chosen, "document": document,
        })
    finally:
        await form.close()
    errors = _errors(result["cabinetClaimBenefit"])
    if not errors:
        return redirect(_home(application, "claimed"))
    return _benefit_page(request, data, errors, chosen)


async def withdraw_benefit(request: Request) -> Response:
    """Asks first (a confirmed benefit moves the child back in the queue, R16), then does it."""
    application, _, away = await _application(request, "CabinetBenefits")
    if away:
        return away
    assert application is not None
    if closed := _closed(application):
        return closed
    claim_id = request.path_params["claim"]
    claim = next((b for b in application["benefits"] if b["id"] == str(claim_id) and b["status"] in ("pending", "confirmed")), None)
    if claim is None:
        return _not_found(request)
    errors: list = []
    if request.method == "POST":
        form = await _form(request)
        if form is None:
            return csrf_failed(request)
        result = await graphql.run(request, "cabinet", "CabinetWithdrawBenefit", {"registrationNumber": application["registrationNumber"], "claimId": str(claim_id)})
        errors = _errors(result["cabinetWithdrawBenefit"])
        if not errors:
            return redirect(_home(application, "benefit_withdrawn"))
    return _show(request, "cabinet/withdraw_benefit.html", errors, app=application, claim=claim)


# -- withdrawing the application ----------------------------------------------------------


async def withdraw(request: Request) -> Response:
    """GET says what withdrawing means and asks to confirm; POST withdraws (R31)."""
    application, _, away = await _application(request, "CabinetContacts")
    if away:
        return away
    assert application is not None
    if closed := _closed(application):
        return closed
    errors: list = []
    reason = ""
    if request.method == "POST":
        form = await _form(request)
        if form is None:
            return csrf_failed(request)
        reason = str(form.get("reason", "")).strip()[:500]
        result = await graphql.run(request, "cabinet", "CabinetWithdrawApplication", {"registrationNumber": application["registrationNumber"], "reason": reason})
        errors = _errors(result["cabinetWithdrawApplication"])
        if not errors:
            return redirect(_home(application, "withdrawn"))
    return _show(request, "cabinet/withdraw.html", errors, app=application, reason=reason)


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
]
