"""The application journey as pages: one thing per page, plain forms that htmx boosts."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from server.auth.sessions import phone_code
from server.domain.benefits import Evidence
from server.domain.journey import PAGES, needs, next_step, step_index
from server.domain.states import State
from views import graphql
from views.common import errors_of, mutate, read_form, redirect, session, upload
from views.rendering import block, page


def _url(step: str) -> str:
    """The address of a step's page: /apply/phone/1 for "phone1", /apply/child for "child"."""
    return f"/apply/phone/{step.removeprefix('phone')}" if step.startswith("phone") else f"/apply/{step}"


URLS = {step: _url(step) for step in PAGES}


def _reachable(draft: dict[str, Any] | None, page_step: str) -> bool:
    needed = needs(page_step)
    if needed is None:
        return True
    return draft is not None and draft["status"] == State.DRAFT and step_index(draft["step"]) >= step_index(needed)


def resume_url(draft: dict[str, Any] | None) -> str:
    if draft is None:
        return URLS["start"]
    if draft["status"] != State.DRAFT:
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
        step_number=PAGES.index(step) + 1,
        step_count=len(PAGES),
        **extra,
    )


async def _guard(request: Request, step: str, operation: str = "Draft") -> tuple[dict[str, Any], Response | None]:
    """What the page's query (`operation`, with the draft) answered, or the way to the
    page the draft is at when this one is not reachable yet (or any more)."""
    data = await graphql.run(request, "apply", operation)
    draft = data.get("myDraft")
    if not _reachable(draft, step):
        return data, redirect(resume_url(draft))
    return data, None


async def start(request: Request) -> Response:
    data = await graphql.run(request, "apply", "StartPage")
    draft = data["myDraft"]
    if draft is not None and draft["status"] != State.DRAFT:
        draft = None  # a submitted application: this starts a new one
    values = {
        "department": draft["department"]["code"] if draft else "",
        "applicant_iin": "",
        "phone": "",
    }
    if request.method == "POST":
        form = await read_form(request)
        values = {k: str(form.get(k, "")) for k in ("department", "applicant_iin", "phone")}
        payload = await mutate(
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
        if not errors_of(payload):
            session(request).await_code(phone_code(1), payload["challengeId"])
            return redirect(URLS["phone1"])
        return _step_page(
            request,
            "start",
            "apply/start.html",
            422,
            departments=data["departments"],
            values=values,
            errors=errors_of(payload),
        )
    return _step_page(request, "start", "apply/start.html", departments=data["departments"], values=values)


async def phone(request: Request) -> Response:
    rank = int(request.path_params["rank"])
    step = "phone1" if rank == 1 else "phone2"
    data, away = await _guard(request, step)
    if away:
        return away
    draft = data["myDraft"]
    codes = session(request)
    phones = [c for c in draft["contacts"] if c["kind"] == "phone"]
    number = phones[rank - 1]["value"] if len(phones) >= rank else ""
    errors: list[dict[str, Any]] = []
    notice = ""
    if request.method == "POST":
        form = await read_form(request)
        if form.get("action") == "resend":
            payload = await mutate(request, "apply", "ResendCode", {"rank": rank})
            errors = errors_of(payload)
            if not errors:
                codes.await_code(phone_code(rank), payload["challengeId"])
                notice = "resent"
        else:
            pending = codes.pending_code(phone_code(rank))
            payload = await mutate(
                request,
                "apply",
                "ConfirmPhone",
                {
                    "rank": rank,
                    "challengeId": pending.id if pending else "",
                    "code": str(form.get("code", "")),
                },
            )
            errors = errors_of(payload)
            if not errors:
                codes.code_used(phone_code(rank))
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
        form = await read_form(request)
        values = {k: str(form.get(k, "")) for k in ("phone2", "email")}
        payload = await mutate(
            request, "apply", "SetContacts", {"phone2": values["phone2"], "email": values["email"] or None}
        )
        if not errors_of(payload):
            if payload["challengeId"]:
                session(request).await_code(phone_code(2), payload["challengeId"])
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
            errors=errors_of(payload),
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
        form = await read_form(request)
        if form.get("action") == "continue" and draft["child"]:
            return redirect(URLS["preferences"])
        value = str(form.get("child_iin", ""))
        payload = await mutate(request, "apply", "SetChild", {"childIin": value})
        if not errors_of(payload):
            # Show the registry's data for the parent to check before going on.
            return redirect(URLS["child"] + "?found=1")
        return _step_page(
            request, "child", "apply/child.html", 422, draft=draft, value=value, errors=errors_of(payload)
        )
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
        form = await read_form(request)
        choices = [str(form.get(f"choice{i}", "")) for i in range(1, draft["department"]["maxPreferences"] + 1)]
        values = {
            "choices": choices,
            "any": form.get("any") == "1",
            "group_language": str(form.get("group_language", "")),
            "desired_start": str(form.get("desired_start", "")),
        }
        payload = await mutate(
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
        if not errors_of(payload):
            return redirect(URLS["benefits"])
        return _step_page(
            request,
            "preferences",
            "apply/preferences.html",
            422,
            draft=draft,
            kindergartens=data["kindergartens"],
            values=values,
            errors=errors_of(payload),
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
    data, away = await _guard(request, "benefits", "BenefitsPage")
    if away:
        return away
    draft = data["myDraft"]
    errors: list[dict[str, Any]] = []
    if request.method == "POST":
        form = await read_form(request)
        action = form.get("action")
        if action == "continue":
            payload = await mutate(request, "apply", "FinishBenefits")
            if not errors_of(payload):
                return redirect(URLS["notifications"])
            errors = errors_of(payload)
        elif action == "withdraw":
            errors = errors_of(
                await mutate(request, "apply", "WithdrawBenefitClaim", {"claimId": str(form.get("claim", ""))})
            )
            if not errors:
                return redirect(URLS["benefits"])
        else:
            try:
                errors = errors_of(
                    await mutate(
                        request,
                        "apply",
                        "ClaimBenefit",
                        {"categoryCode": str(form.get("category", "")), "document": upload(form, "document")},
                    )
                )
            finally:
                await form.close()
            if not errors:
                return redirect(URLS["benefits"] + "?claimed=1")
    categories = data["benefitCategories"]
    return _step_page(
        request,
        "benefits",
        "apply/benefits.html",
        422 if errors else 200,
        draft=draft,
        registry_benefits=[b for b in draft["benefits"] if b["source"] == Evidence.REGISTRY],
        claims=[b for b in draft["benefits"] if b["source"] == Evidence.DOCUMENT],
        document_categories=[c for c in categories if c["evidence"] == Evidence.DOCUMENT],
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
        form = await read_form(request)
        values = {k: str(form.get(k, "")) for k in ("channel", "language")}
        payload = await mutate(request, "apply", "SetNotifications", values)
        if not errors_of(payload):
            return redirect(URLS["summary"])
        return _step_page(
            request,
            "notifications",
            "apply/notifications.html",
            422,
            draft=draft,
            has_email=has_email,
            values=values,
            errors=errors_of(payload),
        )
    return _step_page(
        request, "notifications", "apply/notifications.html", draft=draft, has_email=has_email, values=values
    )


async def summary(request: Request) -> Response:
    data, away = await _guard(request, "summary")
    if away:
        return away
    draft = data["myDraft"]
    errors: list[dict[str, Any]] = []
    if request.method == "POST":
        form = await read_form(request)
        payload = await mutate(
            request, "apply", "ConfirmApplication", {"idempotencyKey": str(form.get("idempotency_key", "")) or None}
        )
        errors = errors_of(payload)
        if not errors:
            return redirect("/apply/status")
    idempotency_key = session(request).idempotency_key()
    return _step_page(
        request,
        "summary",
        "apply/summary.html",
        422 if errors else 200,
        draft=draft,
        idempotency_key=idempotency_key,
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
        if draft["status"] == State.DRAFT:
            return redirect(resume_url(draft))
        # Done when the queue engine has numbered it (or it left the queue meanwhile).
        done = draft["registrationNumber"] is not None and (
            draft["queueNumber"] is not None or draft["status"] != State.QUEUED
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
    await read_form(request)  # nothing in it but the CSRF token
    session(request).leave_draft()
    return redirect(URLS["start"])


ROUTES: list[BaseRoute] = [
    Route("/apply", resume),
    Route(URLS["start"], start, methods=["GET", "POST"]),
    Route("/apply/phone/{rank:int}", phone, methods=["GET", "POST"]),
    Route(URLS["contacts"], contacts, methods=["GET", "POST"]),
    Route(URLS["child"], child, methods=["GET", "POST"]),
    Route(URLS["preferences"], preferences, methods=["GET", "POST"]),
    Route(URLS["benefits"], benefits, methods=["GET", "POST"]),
    Route(URLS["notifications"], notifications, methods=["GET", "POST"]),
    Route(URLS["summary"], summary, methods=["GET", "POST"]),
    Route("/apply/status", status),
    Route("/apply/new", new_application, methods=["POST"]),
]
