"""Mutations: one module each."""

import strawberry

from schema.mutations.cabinet_accept_offer import cabinet_accept_offer
from schema.mutations.cabinet_add_phone import cabinet_add_phone
from schema.mutations.cabinet_claim_benefit import cabinet_claim_benefit
from schema.mutations.cabinet_confirm_login import cabinet_confirm_login
from schema.mutations.cabinet_confirm_phone import cabinet_confirm_phone
from schema.mutations.cabinet_decline_offer import cabinet_decline_offer
from schema.mutations.cabinet_extend_referral import cabinet_extend_referral
from schema.mutations.cabinet_login import cabinet_login
from schema.mutations.cabinet_remove_phone import cabinet_remove_phone
from schema.mutations.cabinet_set_email import cabinet_set_email
from schema.mutations.cabinet_set_notifications import cabinet_set_notifications
from schema.mutations.cabinet_withdraw_application import cabinet_withdraw_application
from schema.mutations.cabinet_withdraw_benefit import cabinet_withdraw_benefit
from schema.mutations.claim_benefit import claim_benefit
from schema.mutations.confirm_application import confirm_application
from schema.mutations.confirm_phone import confirm_phone
from schema.mutations.finish_benefits import finish_benefits
from schema.mutations.resend_code import resend_code
from schema.mutations.set_child import set_child
from schema.mutations.set_contacts import set_contacts
from schema.mutations.set_notifications import set_notifications
from schema.mutations.set_preferences import set_preferences
from schema.mutations.sign_out import sign_out
from schema.mutations.staff_add_benefit import staff_add_benefit
from schema.mutations.staff_cancel_referral import staff_cancel_referral
from schema.mutations.staff_confirm_referral_benefit import staff_confirm_referral_benefit
from schema.mutations.staff_create_group import staff_create_group
from schema.mutations.staff_create_kindergarten import staff_create_kindergarten
from schema.mutations.staff_decide_benefit import staff_decide_benefit
from schema.mutations.staff_enrol import staff_enrol
from schema.mutations.staff_login import staff_login
from schema.mutations.staff_no_show import staff_no_show
from schema.mutations.staff_publish_seats import staff_publish_seats
from schema.mutations.staff_set_email import staff_set_email
from schema.mutations.staff_set_notifications import staff_set_notifications
from schema.mutations.staff_set_phone import staff_set_phone
from schema.mutations.staff_set_preferences import staff_set_preferences
from schema.mutations.staff_transition import staff_transition
from schema.mutations.staff_update_group import staff_update_group
from schema.mutations.staff_update_kindergarten import staff_update_kindergarten
from schema.mutations.staff_withdraw_benefit import staff_withdraw_benefit
from schema.mutations.staff_withdraw_seats import staff_withdraw_seats
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
    cabinet_add_phone = strawberry.mutation(resolver=cabinet_add_phone)
    cabinet_claim_benefit = strawberry.mutation(resolver=cabinet_claim_benefit)
    cabinet_confirm_login = strawberry.mutation(resolver=cabinet_confirm_login)
    cabinet_confirm_phone = strawberry.mutation(resolver=cabinet_confirm_phone)
    cabinet_login = strawberry.mutation(resolver=cabinet_login)
    cabinet_remove_phone = strawberry.mutation(resolver=cabinet_remove_phone)
    cabinet_set_email = strawberry.mutation(resolver=cabinet_set_email)
    cabinet_set_notifications = strawberry.mutation(resolver=cabinet_set_notifications)
    cabinet_withdraw_application = strawberry.mutation(resolver=cabinet_withdraw_application)
    cabinet_withdraw_benefit = strawberry.mutation(resolver=cabinet_withdraw_benefit)
    cabinet_accept_offer = strawberry.mutation(resolver=cabinet_accept_offer)
    cabinet_decline_offer = strawberry.mutation(resolver=cabinet_decline_offer)
    cabinet_extend_referral = strawberry.mutation(resolver=cabinet_extend_referral)
    sign_out = strawberry.mutation(resolver=sign_out)
    staff_add_benefit = strawberry.mutation(resolver=staff_add_benefit)
    staff_decide_benefit = strawberry.mutation(resolver=staff_decide_benefit)
    staff_login = strawberry.mutation(resolver=staff_login)
    staff_set_email = strawberry.mutation(resolver=staff_set_email)
    staff_set_notifications = strawberry.mutation(resolver=staff_set_notifications)
    staff_set_phone = strawberry.mutation(resolver=staff_set_phone)
    staff_set_preferences = strawberry.mutation(resolver=staff_set_preferences)
    staff_transition = strawberry.mutation(resolver=staff_transition)
    staff_withdraw_benefit = strawberry.mutation(resolver=staff_withdraw_benefit)
    staff_cancel_referral = strawberry.mutation(resolver=staff_cancel_referral)
    staff_confirm_referral_benefit = strawberry.mutation(resolver=staff_confirm_referral_benefit)
    staff_create_group = strawberry.mutation(resolver=staff_create_group)
    staff_create_kindergarten = strawberry.mutation(resolver=staff_create_kindergarten)
    staff_enrol = strawberry.mutation(resolver=staff_enrol)
    staff_no_show = strawberry.mutation(resolver=staff_no_show)
    staff_publish_seats = strawberry.mutation(resolver=staff_publish_seats)
    staff_update_group = strawberry.mutation(resolver=staff_update_group)
    staff_update_kindergarten = strawberry.mutation(resolver=staff_update_kindergarten)
    staff_withdraw_seats = strawberry.mutation(resolver=staff_withdraw_seats)
