"""What the pages say when an action refuses: the actions raise errors with stable codes
(shared with the API); here each code gets a sentence in the reader's language. A code
without one falls back to the action's own (English) message rather than hiding it."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

MESSAGES = {
    # handoffs
    "already_acted": _("Someone already acted on this handoff; the list shows its current state."),
    "not_receiving_team": _("Only the receiving team or a manager can act on this handoff."),
    "bad_reason": _("Choose one of the listed reasons."),
    "no_accept_stage": _("This handoff's stage has no stage to accept into; ask an admin to fix the stages."),
    "no_sender_stage": _(
        "There is no sending stage to return this person to; choose a reason that sends them on."
    ),
    # the journey
    "handoff_open": _("This person waits on an open handoff; accept or reject it first."),
    "same_stage": _("This person is already in that stage."),
    "unknown_stage": _("There is no such stage."),
    "reason_required": _("Moving to that stage needs a reason."),
    "note_too_long": _("The note is too long."),
    "bad_class": _("Classify as now, later or never."),
    "not_allowed": _("The journey does not allow this move."),
    "move_not_allowed": _("The journey does not allow this move."),  # the record pages
    "stale": _("This person moved meanwhile; the page shows where they are now."),  # the record pages
    "note_empty": _("Write something in the note."),  # the record pages
    "not_a_check": _("Only the items of an exit checklist are ticked."),  # the record pages
    # deals
    "closed": _("This deal is closed."),
    "bad_amount": _("The amount must be a whole, non-negative number."),
    "bad_currency": _("The currency must be a three-letter code such as JPY."),
    "bad_name": _("A deal needs a name of at most 200 characters."),
    "no_account": _("A deal needs the person to belong to a company."),
    "use_win_or_lose": _("Close a deal with Win or Lose."),
    "conflict": _("Someone else changed this deal while you were editing; here is its current state."),
    # customer success (subscriptions, NPS)
    "bad_mrr": _("MRR must be a whole, non-negative number of yen."),
    "not_active": _("This subscription is no longer active."),
    "no_change": _("The MRR is unchanged."),
    "use_churn": _("An MRR of zero is a churn: record a churn instead."),
    "bad_date": _("A subscription cannot end before it starts."),
    "bad_score": _("An NPS score is a whole number from 0 to 10."),
    "expansion_open": _("An expansion for this subscription already waits for Field Sales."),
    "no_contact": _("This company has nobody whose journey the expansion could continue."),
    "bad_plan": _("A subscription needs a plan name."),
    "no_company": _("A subscription is a company's: add the person's company first."),
    "already_subscribed": _(
        "This company already has an active subscription (someone may have just started it)."
    ),
    "not_onboarding": _("This person is not a new customer waiting for a subscription."),
    "wrong_deal": _("The deal belongs to another company."),
    "loss_reason_required": _("Choose a loss reason."),
    # settings: users and teams
    "forbidden": _("Your role does not allow this."),
    "bad_username": _("A user name is 1–150 letters, digits and . @ + - _ characters."),
    "username_taken": _("This user name is taken."),
    "bad_email": _("Enter a valid email address."),
    "bad_role": _("Choose one of the listed roles."),
    "own_admin_role": _("You cannot take away your own admin role."),
    "deactivate_self": _("You cannot deactivate yourself."),
    "bad_team_name": _("A team needs a name of at most 100 characters."),
    # settings: stages, reasons, SLAs, calendar, routing
    "required": _("This field is required."),
    "too_long": _("This text is too long."),
    "bad_number": _("Enter a whole number in the allowed range."),
    "not_a_handoff_stage": _("This stage hands nobody on, so it has no SLA."),
    "sends_to_for_rejects": _("Only reasons for rejecting a handoff send people to a stage."),
    "bad_sends_to": _("A reject reason sends people to nurture or to disqualified."),
    "bad_kind": _("Choose one of the listed kinds."),
    "bad_key": _("A key is 1–40 lower-case letters, digits, - or _."),
    "key_taken": _("There is already a reason with this key of this kind."),
    "bad_time_zone": _("Unknown time zone: use an IANA name such as Asia/Tokyo."),
    "bad_holiday_country": _("There are no public-holiday data for this country code."),
    "bad_day_end": _("The working day must end after it starts."),
    "no_weekdays": _("Choose at least one working weekday."),
    "date_taken": _("This date is already in the calendar."),
    "empty_pool": _("Choose at least one active member of the team."),
    # settings: scoring, targets
    "bad_label": _("A label has 1 to 150 characters."),
    "bad_points": _("Points are a number from -1000 to 1000."),
    "bad_half_life": _("The half-life is from 0.5 to 3650 days."),
    "bad_activity_type": _("Unknown activity type."),
    "bad_month": _("Choose a month from 1 to 12."),
    "bad_percent": _("A percentage is from 0 to 100."),
    "bad_metric": _("Unknown KPI: use revenue, new_mrr, wins, grr or entered:<stage key>."),
    "bad_period": _("The period ends before it starts."),
    "bad_value": _("A target is a number from 0 up."),
    "bad_share": _("A GRR target is a share from 0 to 1 (0.9 = 90%)."),
    # settings: tokens and webhooks
    "bad_scope": _("Choose one of the listed scopes."),
    "bad_url": _("Enter a full web address (https://…) of at most 500 characters."),
    "bad_scheme": _("Webhook addresses start with https:// or http://."),
    "bad_host": _("This address has no valid host name."),
    "credentials": _(
        "Leave user names and passwords out of the address; the signature proves who is sending."
    ),
    "blocked_address": _(
        "This address is on this machine or in a private network; webhooks go to public addresses only."
    ),
    "unresolvable": _("This host name cannot be found."),
    "no_events": _("Choose at least one event."),
    "unknown_event": _("Choose events from the list."),
    "delivered": _("This delivery already succeeded."),
    # lists: bulk actions and saved views
    "bad_owner": _("This person cannot own records; choose a member of a team."),
    "bad_assignee": _("A handoff goes to an active member of the receiving team."),
    "bad_view_name": _("A saved view needs a name of 1 to 100 characters."),
    "bad_list": _("There is no such list."),
    # the health check
    "future_date": _("An assessment cannot be dated in the future."),
    "unknown_item": _("The sheet has no such item."),
    "bad_mark": _("Mark an item ○, △ or ×."),
    "mark_needed": _("Give this item a mark to keep its note."),
    "nothing_marked": _("Mark at least one item."),
    # imports
    "bad_type": _("Upload a .csv or .xlsx file."),
    "empty_file": _("The file is empty."),
    "too_large": _("The file is too large."),
    "preset_or_mapping": _("Give either a preset or a mapping file, not both."),
    "not_a_dry_run": _("Only a finished dry run can be run for real."),
    "file_gone": _("The file of this dry run is no longer kept; upload it again."),
    # The Model and planning (analytics)
    "bad_plan_name": _("A saved plan needs a name of at most 150 characters."),
    "unknown_dimension": _("This filter does not apply to this report."),
    "no_slices": _("This report is company-wide: it takes no filters."),
    "bad_window": _("The period ends before it starts."),
    "bad_measure": _("There are no records behind this number."),
    "no_target": _("Give the revenue target."),
    "bad_target": _("The target is a positive whole amount, e.g. 120,000,000."),
    "no_period": _("Give the plan's period, e.g. FY2026."),
    "bad_deal_size": _("The deal size is a positive whole amount."),
    "no_deal_size": _("No deal was won in the lookback: give the average deal size."),
    "bad_rate": _("A conversion is above 0 and at most 1 (0.25 or 25%)."),
    "unknown_step": _("This step is not on the path."),
    "no_rate": _("A step was measured at 0 or without data: give its conversion."),
    "bad_capacity": _("A capacity is a number above 0."),
    "unknown_team": _("No capacity is planned for this team."),
    "bad_lookback": _("The lookback is at least one month."),
    "unknown_plan": _("There is no such saved plan."),
    # restricted fields
    "not_markable": _("This field cannot be restricted."),
    "bad_audience": _("Choose who may see the field."),
}


def refusal_message(error: Exception) -> str:
    code = getattr(error, "code", None)
    if code in MESSAGES:
        return str(MESSAGES[code])
    return str(error)
