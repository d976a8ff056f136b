"""The application journey as pages: one thing per page, plain forms that htmx boosts."""

from __future__ import annotations

import asyncio
import secrets
import time
from typing import Any

from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from server.domain.journey import next_step, step_index
from views import graphql
from views.rendering import block, page
from views.security import csrf_failed, csrf_ok

URLS = {
    "start": "/apply/start",
    "phone1": "/apply/phone/1",
    "contacts": "/apply/contacts",
    "phone2": "/apply/phone/2",
    "child": "/apply/child",
    "preferences": "/apply/preferences",
    "benefits": "/apply/benefits",
    "notifications": "/apply/notifications",
    "summary": "/apply/summary",
}
# The step a page needs completed before it can be shown.
NEEDS = {
    "start": None,
    "phone1": "start",
    "contacts": "phone1",
    "phone2": "contacts",
    "child": "phone2",
    "preferences": "child",
    "benefits": "preferences",
    "notifications": "benefits",
    "summary": "notifications",
}
PROGRESS = ["start", "phone1", "contacts", "phone2", "child", "preferences", "benefits", "notifications", "summary"]


def redirect(url: str) -> Response:
    return RedirectResponse(url, status_code=303)


def _reachable(draft: dict[str, Any] | None, page_step: str) -> bool:
    needed = NEEDS[page_step]
    if needed is None:
        return True
    return draft is not None and draft["status"] == "draft" and step_index(draft["step"]) >= step_index(needed)


def resume_url(draft: dict[str, Any] | None) -> str:
    if draft is None:
        return URLS["start"]
    if draft["status"] != "draft":
        return "/apply/status"
    return URLS[next_step(draft["step"])]


async def resume(request: Request) -> Response:
    """Coming back after a dropped connection: the step after the last completed one."""
    data = await graphql.run(request, "apply", "Draft")
    return redirect(resume_url(data["myDraft"]))


def _step_page(request: Request, step: str, template: str, status_code: int = 200, **extra: Any) -> Response:
    return page(
        request,
        template,
        status_code=status_code,
        step=step,
        step_number=PROGRESS.index(step) + 1,
        step_count=len(PROGRESS),
        **extra,
    )


async def _form(request: Request) -> dict[str, Any] | None:
    form = await request.form()
    if not csrf_ok(request, form.get("csrf_token")):
        return None
    return dict(form.multi_items()) | {"_multi": form}


def _errors(payload: dict[str, Any]) -> list[dict[str, Any]]:
    return payload.get("errors") or []


async def _guard(
    request: Request, step: str, operation: str = "Draft", variables: dict | None = None
) -> tuple[dict | None, Response | None]:
    data = await graphql.run(request, "apply", operation, variables)
    draft = data.get("myDraft")
    if not _reachable(draft, step):
        return data, redirect(resume_url(draft))
    return data, None


async def start(request: Request) -> Response:
    data = await graphql.run(request, "apply", "StartPage")
    draft = data["myDraft"]
    if draft is not None and draft["status"] != "draft":
        draft = None  # a submitted application: this starts a new one
    values = {
        "department": draft["department"]["code"] if draft else "",
        "applicant_iin": "",
        "phone": "",
    }
    if request.method == "POST":
        form = await _form(request)
        if form is None:
            return csrf_failed(request)
        values = {k: str(form.get(k, "")) for k in ("department", "applicant_iin", "phone")}
        result = await graphql.run(
            request,
            "apply",
            "StartApplication",
            {
                "input": {
                    "departmentCode": values["department"],
                    "applicantIin": values["applicant_iin"],
                    "phone": values["phone"],
                }
            },
        )
        payload = result["startApplication"]
        if not _errors(payload):
            request.scope["session"]["ch1"] = payload["challengeId"]
            return redirect(URLS["phone1"])
        return _step_page(
            request,
            "start",
            "apply/start.html",
            422,
            departments=data["departments"],
            values=values,
            errors=_errors(payload),
        )
    return _step_page(request, "start", "apply/start.html", departments=data["departments"], values=values)


async def phone(request: Request) -> Response:
    rank = int(request.path_params["rank"])
    step = "phone1" if rank == 1 else "phone2"
    data, away = await _guard(request, step)
    if away:
        return away
    draft = data["myDraft"]
    session = request.scope["session"]
    phones = [c for c in draft["contacts"] if c["kind"] == "phone"]
    number = phones[rank - 1]["value"] if len(phones) >= rank else ""
    errors: list = []
    notice = ""
    if request.method == "POST":
        form = await _form(request)
        if form is None:
            return csrf_failed(request)
        if form.get("action") == "resend":
            result = await graphql.run(request, "apply", "ResendCode", {"rank": rank})
            payload = result["resendCode"]
            errors = _errors(payload)
            if not errors:
                session[f"ch{rank}"] = payload["challengeId"]
                notice = "resent"
        else:
            result = await graphql.run(
                request,
                "apply",
                "ConfirmPhone",
                {
                    "rank": rank,
                    "challengeId": session.get(f"ch{rank}") or "",
                    "code": str(form.get("code", "")),
                },
            )
            payload = result["confirmPhone"]
            errors = _errors(payload)
            if not errors:
                session.pop(f"ch{rank}")
                return redirect(URLS[next_step(payload["application"]["step"])])
    return _step_page(
        request,
        step,
        "apply/phone.html",
        422 if errors else 200,
        rank=rank,
        number=number,
        errors=errors,
        notice=notice,
        dev_outbox=request.app.state.settings.dev_outbox_enabled,
    )


async def contacts(request: Request) -> Response:
    data, away = await _guard(request, "contacts")
    if away:
        return away
    draft = data["myDraft"]
    phones = [c for c in draft["contacts"] if c["kind"] == "phone"]
    emails = [c["value"] for c in draft["contacts"] if c["kind"] == "email"]
    values = {"phone2": phones[1]["value"] if len(phones) > 1 else "", "email": emails[0] if emails else ""}
    if request.method == "POST":
        form = await _form(request)
        if form is None:
            return csrf_failed(request)
        values = {k: str(form.get(k, "")) for k in ("phone2", "email")}
        result = await graphql.run(
            request, "apply", "SetContacts", {"phone2": values["phone2"], "email": values["email"] or None}
        )
        payload = result["setContacts"]
        if not _errors(payload):
            if payload["challengeId"]:
                request.scope["session"]["ch2"] = payload["challengeId"]
                return redirect(URLS["phone2"])
            return redirect(URLS[next_step(payload["application"]["step"])])
        return _step_page(
            request,
            "contacts",
            "apply/contacts.html",
            422,
            draft=draft,
            first_phone=phones[0]["value"],
            values=values,
            errors=_errors(payload),
        )
    return _step_page(
        request, "contacts", "apply/contacts.html", draft=draft, first_phone=phones[0]["value"], values=values
    )


async def child(request: Request) -> Response:
    data, away = await _guard(request, "child")
    if away:
        return away
    draft = data["myDraft"]
    if request.method == "POST":
        form = await _form(request)
        if form is None:
            return csrf_failed(request)
        if form.get("action") == "continue" and draft["child"]:
            return redirect(URLS["preferences"])
        value = str(form.get("child_iin", ""))
        result = await graphql.run(request, "apply", "SetChild", {"childIin": value})
        payload = result["setChild"]
        if not _errors(payload):
            # Show the registry's data for the parent to check before going on.
            return redirect(URLS["child"] + "?found=1")
        return _step_page(request, "child", "apply/child.html", 422, draft=draft, value=value, errors=_errors(payload))
    return _step_page(
        request, "child", "apply/child.html", draft=draft, value="", found=request.query_params.get("found") == "1"
    )


async def preferences(request: Request) -> Response:
    draft_data, away = await _guard(request, "preferences")
    if away:
        return away
    code = draft_data["myDraft"]["department"]["code"]
    data = await graphql.run(request, "apply", "PreferencesPage", {"departmentCode": code})
    draft = data["myDraft"]
    chosen = [k["code"] for k in draft["preferences"]]
    values = {
        "choices": chosen + [""] * (draft["department"]["maxPreferences"] - len(chosen)),
        "any": draft["anyKindergarten"] and not chosen,
        "group_language": draft["groupLanguage"] or "",
        "desired_start": draft["desiredStart"] or "",
    }
    if request.method == "POST":
        form = await _form(request)
        if form is None:
            return csrf_failed(request)
        multi = form["_multi"]
        choices = [str(form.get(f"choice{i}", "")) for i in range(1, draft["department"]["maxPreferences"] + 1)]
        values = {
            "choices": choices,
            "any": multi.get("any") == "1",
            "group_language": str(form.get("group_language", "")),
            "desired_start": str(form.get("desired_start", "")),
        }
        result = await graphql.run(
            request,
            "apply",
            "SetPreferences",
            {
                "input": {
                    "kindergartenCodes": [c for c in choices if c],
                    "anyKindergarten": values["any"],
                    "groupLanguage": values["group_language"],
                    "desiredStart": values["desired_start"],
                }
            },
        )
        payload = result["setPreferences"]
        if not _errors(payload):
            return redirect(URLS["benefits"])
        return _step_page(
            request,
            "preferences",
            "apply/preferences.html",
            422,
            draft=draft,
            kindergartens=data["kindergartens"],
            values=values,
            errors=_errors(payload),
        )
    return _step_page(
        request,
        "preferences",
        "apply/preferences.html",
        draft=draft,
        kindergartens=data["kindergartens"],
        values=values,
    )


async def benefits(request: Request) -> Response:
    _base, away = await _guard(request, "benefits")
    if away:
        return away
    data = await graphql.run(request, "apply", "BenefitsPage")
    draft = data["myDraft"]
    errors: list = []
    if request.method == "POST":
        form = await _form(request)
        if form is None:
            return csrf_failed(request)
        action = form.get("action")
        if action == "continue":
            result = await graphql.run(request, "apply", "FinishBenefits")
            payload = result["finishBenefits"]
            if not _errors(payload):
                return redirect(URLS["notifications"])
            errors = _errors(payload)
        elif action == "withdraw":
            result = await graphql.run(
                request, "apply", "WithdrawBenefitClaim", {"claimId": str(form.get("claim", ""))}
            )
            errors = _errors(result["withdrawBenefitClaim"])
            if not errors:
                return redirect(URLS["benefits"])
        else:
            upload = form.get("document")
            document = upload if isinstance(upload, UploadFile) and upload.filename else None
            try:
                result = await graphql.run(
                    request,
                    "apply",
                    "ClaimBenefit",
                    {"categoryCode": str(form.get("category", "")), "document": document},
                )
            finally:
                await form["_multi"].close()
            errors = _errors(result["claimBenefit"])
            if not errors:
                return redirect(URLS["benefits"] + "?claimed=1")
    categories = data["benefitCategories"]
    return _step_page(
        request,
        "benefits",
        "apply/benefits.html",
        422 if errors else 200,
        draft=draft,
        registry_benefits=[b for b in draft["benefits"] if b["source"] == "registry"],
        claims=[b for b in draft["benefits"] if b["source"] == "document"],
        document_categories=[c for c in categories if c["evidence"] == "document"],
        claimed=request.query_params.get("claimed") == "1",
        errors=errors,
    )


async def notifications(request: Request) -> Response:
    data, away = await _guard(request, "notifications")
    if away:
        return away
    draft = data["myDraft"]
    has_email = any(c["kind"] == "email" for c in draft["contacts"])
    values = {"channel": draft["notifyChannel"], "language": draft["notifyLanguage"]}
    if request.method == "POST":
        form = await _form(request)
        if form is None:
            return csrf_failed(request)
        values = {k: str(form.get(k, "")) for k in ("channel", "language")}
        result = await graphql.run(request, "apply", "SetNotifications", values)
        payload = result["setNotifications"]
        if not _errors(payload):
            return redirect(URLS["summary"])
        return _step_page(
            request,
            "notifications",
            "apply/notifications.html",
            422,
            draft=draft,
            has_email=has_email,
            values=values,
            errors=_errors(payload),
        )
    return _step_page(
        request, "notifications", "apply/notifications.html", draft=draft, has_email=has_email, values=values
    )


async def summary(request: Request) -> Response:
    data = await graphql.run(request, "apply", "Draft")
    draft = data["myDraft"]
    if draft is not None and draft["status"] != "draft":
        return redirect("/apply/status")
    if not _reachable(draft, "summary"):
        return redirect(resume_url(draft))
    session = request.scope["session"]
    errors: list = []
    if request.method == "POST":
        form = await _form(request)
        if form is None:
            return csrf_failed(request)
        result = await graphql.run(
            request, "apply", "ConfirmApplication", {"idempotencyKey": str(form.get("idempotency_key", "")) or None}
        )
        payload = result["confirmApplication"]
        errors = _errors(payload)
        if not errors:
            return redirect("/apply/status")
    if not session.get("idem"):
        session["idem"] = secrets.token_urlsafe(16)
    return _step_page(
        request,
        "summary",
        "apply/summary.html",
        422 if errors else 200,
        draft=draft,
        idempotency_key=session["idem"],
        errors=errors,
    )


async def status(request: Request) -> Response:
    """After confirming: shows the registration and queue numbers as soon as the job has
    assigned them. With htmx the page polls a block of itself (answered with 286 once
    done, which stops the polling). Without JavaScript the server holds the request up
    to KEZEK_STATUS_WAIT_SECONDS for the registration, and if it is still not there the
    page reloads at once (a delayed meta refresh would fail WCAG 2.2.1)."""
    partial = bool(request.headers.get("HX-Request")) and not request.headers.get("HX-Boosted")
    wait = 0.0 if request.headers.get("HX-Request") else request.app.state.settings.status_wait_seconds
    deadline = time.monotonic() + wait
    while True:
        draft = (await graphql.run(request, "apply", "Draft"))["myDraft"]
        if draft is None:
            return redirect(URLS["start"])
        if draft["status"] == "draft":
            return redirect(resume_url(draft))
        # Done when the queue engine has numbered it (or it left the queue meanwhile).
        done = draft["registrationNumber"] is not None and (
            draft["queueNumber"] is not None or draft["status"] != "queued"
        )
        if done or time.monotonic() >= deadline or await request.is_disconnected():
            break
        await asyncio.sleep(0.25)
    if partial:
        response = block(request, "apply/status.html", "status", draft=draft, done=done)
        if done:
            response.status_code = 286  # htmx: stop polling
        return response
    response = page(request, "apply/status.html", draft=draft, done=done)
    response.headers["Vary"] = "HX-Request"
    return response


async def new_application(request: Request) -> Response:
    """Leaves a submitted application behind to start another (e.g. for a twin)."""
    form = await request.form()
    if not csrf_ok(request, form.get("csrf_token")):
        return csrf_failed(request)
    session = request.scope["session"]
    for key in ("draft", "ch1", "ch2", "idem"):
        session.pop(key)
    return redirect(URLS["start"])
