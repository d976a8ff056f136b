"""Mutations: one module each."""

import strawberry

from schema.mutations.claim_benefit import claim_benefit
from schema.mutations.confirm_application import confirm_application
from schema.mutations.confirm_phone import confirm_phone
from schema.mutations.finish_benefits import finish_benefits
from schema.mutations.resend_code import resend_code
from schema.mutations.set_child import set_child
from schema.mutations.set_contacts import set_contacts
from schema.mutations.set_notifications import set_notifications
from schema.mutations.set_preferences import set_preferences
from schema.mutations.start_application import start_application
from schema.mutations.submit_application import submit_application
from schema.mutations.withdraw_benefit_claim import withdraw_benefit_claim


@strawberry.type
class Mutation:
    start_application = strawberry.mutation(resolver=start_application)
    confirm_phone = strawberry.mutation(resolver=confirm_phone)
    resend_code = strawberry.mutation(resolver=resend_code)
    set_contacts = strawberry.mutation(resolver=set_contacts)
    set_child = strawberry.mutation(resolver=set_child)
    set_preferences = strawberry.mutation(resolver=set_preferences)
    claim_benefit = strawberry.mutation(resolver=claim_benefit)
    withdraw_benefit_claim = strawberry.mutation(resolver=withdraw_benefit_claim)
    finish_benefits = strawberry.mutation(resolver=finish_benefits)
    set_notifications = strawberry.mutation(resolver=set_notifications)
    confirm_application = strawberry.mutation(resolver=confirm_application)
    submit_application = strawberry.mutation(resolver=submit_application)
