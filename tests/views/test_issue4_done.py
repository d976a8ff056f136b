"""Issue 4's "done when", end to end through the pages (plain forms): a member of staff
created on the command line logs in, finds a demo application, corrects a phone
number, confirms the benefit document the parent sent from the cabinet, and sees both
in the history; the parent then sees the benefit and the new queue number in the
cabinet and has the message at /dev/outbox."""

from __future__ import annotations

import io

from server import runtime
from server.models import Application, BenefitClaim, Notification, QueueEntry
from tests.helpers import PDF, cli_env, csrf_from, drain_jobs, iin, post, run_cli
from tests.helpers.cabinet import ASEL_PHONES
from tests.helpers.cabinet import log_in as parent_log_in
from tests.helpers.staff import PASSWORD, version_in
from tests.helpers.staff import log_in as staff_log_in


def staff_from_the_command_line(settings) -> None:
    """`kezek staff create` against the very database the app under test uses."""
    env = cli_env(
        KEZEK_VAR_DIR=str(settings.var_dir), KEZEK_SECRET_KEY=settings.secret_key, DATABASE_URL=settings.database_url
    )
    done = run_cli(
        env,
        "staff",
        "create",
        "dana.admin",
        "--role",
        "admin",
        "--department",
        "AST",
        "--name",
        "Дана Ахметова",
        "--password-stdin",
        stdin=PASSWORD + "\n",
    )
    assert done.returncode == 0, done.stderr


async def test_staff_correct_a_phone_and_confirm_a_benefit_the_parent_sees_it(client, settings):
    await client.get("/lang/en")
    application = await Application.get(child_iin=iin("adil"))
    number = application.registration_number
    before = (await QueueEntry.get(application_id=application.id)).number
    assert before > 1

    # The parent claims TEACHER_PARENT with a scan, from the cabinet.
    await parent_log_in(client)
    url = f"/cabinet/{number}/benefits"
    page = await client.get(url)
    r = await client.post(
        url,
        data={"csrf_token": csrf_from(page.text), "category": "TEACHER_PARENT"},
        files={"document": ("certificate.pdf", io.BytesIO(PDF), "application/pdf")},
    )
    assert r.status_code == 303
    await post(client, "/cabinet/logout", {}, form_url="/cabinet")

    # A member of staff made on the command line logs in and finds the application.
    staff_from_the_command_line(settings)
    assert (await staff_log_in(client, "dana.admin")).status_code == 303
    search = await client.get("/staff")
    found = await client.post("/staff", data={"csrf_token": csrf_from(search.text), "query": "Исаев"})
    assert found.status_code == 200 and number in found.text

    # Corrects phone 2.
    edit = await client.get(f"/staff/applications/{number}/edit/phone2")
    r = await client.post(
        f"/staff/applications/{number}/edit/phone2",
        data={
            "csrf_token": csrf_from(edit.text),
            "version": str(version_in(edit.text)),
            "phone": "+7 707 123 4567",
            "reason": "The mother called: a new SIM card",
        },
    )
    assert r.status_code == 303

    # Confirms the scan from the verification queue.
    claim = await BenefitClaim.get(application=application, category__code="TEACHER_PARENT")
    queue = await client.get("/staff/verification")
    assert f"/staff/documents/{claim.document_id}" in queue.text
    document = await client.get(f"/staff/documents/{claim.document_id}")
    assert document.status_code == 200 and document.content == PDF
    await application.refresh_from_db()
    r = await client.post(
        f"/staff/applications/{number}/benefits/{claim.id}/decide",
        data={
            "csrf_token": csrf_from(queue.text),
            "version": str(application.version),
            "decision": "confirm",
            "reason": "Certificate of school No. 12, dated this month",
            "back": "verification",
        },
    )
    assert r.status_code == 303

    # Both are in the history of the application page.
    shown = await client.get(f"/staff/applications/{number}")
    assert "The mother called: a new SIM card" in shown.text
    assert "Certificate of school No. 12, dated this month" in shown.text
    assert "+77071234567" in shown.text or "+7 707 123 4567" in shown.text
    await post(client, "/staff/logout", {}, form_url="/staff")

    # The queue engine runs (the worker), the parent looks again.
    await drain_jobs(runtime.get().redis)
    after = (await QueueEntry.get(application_id=application.id)).number
    assert after == 1  # a priority turn comes first in the block
    await parent_log_in(client, "asel", ASEL_PHONES[0])
    mine = await client.get(f"/cabinet/{number}")
    assert mine.status_code == 200
    assert "Child whose legal representative is a teacher" in mine.text
    assert f">{after}<" in mine.text
    told = await Notification.get(kind="benefit_confirmed", application=application)
    outbox = await client.get("/dev/outbox")
    assert number in told.body and told.body in outbox.text
