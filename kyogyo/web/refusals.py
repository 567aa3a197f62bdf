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
    # deals
    "closed": _("This deal is closed."),
    "bad_amount": _("The amount must be a whole, non-negative number."),
    "bad_currency": _("The currency must be a three-letter code such as JPY."),
    "bad_name": _("A deal needs a name of at most 200 characters."),
    "no_account": _("A deal needs the person to belong to a company."),
    "use_win_or_lose": _("Close a deal with Win or Lose."),
    "conflict": _("Someone else changed this deal while you were editing; here is its current state."),
}


def refusal_message(error: Exception) -> str:
    code = getattr(error, "code", None)
    if code in MESSAGES:
        return str(MESSAGES[code])
    return str(error)
