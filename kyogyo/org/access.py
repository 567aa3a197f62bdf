"""Who may see and change what — the one place that decides, asked by the API, the CLI and
(later) the pages, imports and exports.

The Model shares the customer record across the four teams: every active member of a team
reads everything. Changes follow ownership: the team that owns a person's current stage
(or the person's owner, or a manager) moves them on; the receiving team acts on a
handoff; a deal's owner and the owner's team edit it; Customer Success changes
subscriptions and records survey answers; members read the configuration and the reports;
only admins change settings, rules, users and other people's tokens.
Each rule is a small function with each condition on its own line."""

from __future__ import annotations

from typing import TYPE_CHECKING

from kyogyo.org.models import Team, User

if TYPE_CHECKING:
    from kyogyo.customers.models import Account, Contact
    from kyogyo.deals.models import Deal
    from kyogyo.handoffs.models import Handoff
    from kyogyo.success.models import Subscription
    from kyogyo.web.models import SavedView


def is_admin(user: User) -> bool:
    if not user.is_active:
        return False
    return user.is_superuser or user.role == User.Role.ADMIN


def is_manager(user: User) -> bool:
    if not user.is_active:
        return False
    return user.is_superuser or user.is_manager


def is_member(user: User) -> bool:
    """In a team, or a manager or admin: someone who works the shared customer record."""
    if not user.is_active:
        return False
    if is_manager(user):
        return True
    return user.team_id is not None


def can_read_records(user: User) -> bool:
    return is_member(user)


def can_create_records(user: User) -> bool:
    """New companies, people, campaigns and activities: every team brings them in."""
    return is_member(user)


def can_edit_account(user: User, account: Account) -> bool:
    # A company's firmographics are shared facts that any team may correct.
    return is_member(user)


def owning_team_id(contact: Contact | None) -> int | None:
    """The team whose stage the person is in now (None before the journey starts)."""
    if contact is None:
        return None
    milestone = getattr(contact, "milestone", None)
    if milestone is None:
        return None
    return milestone.current_stage.team_id


def can_change_contact(user: User, contact: Contact) -> bool:
    """Edit a person, move them on, classify them."""
    if not is_member(user):
        return False
    if is_manager(user):
        return True
    if contact.owner_id == user.pk:
        return True
    return user.team_id is not None and user.team_id == owning_team_id(contact)


def can_record_activity(user: User, contact: Contact) -> bool:
    # Touches come from every team (a call, an event, a support ticket).
    return is_member(user)


def can_add_note(user: User) -> bool:
    # Notes and @mentions are how the four teams talk about a shared record.
    return is_member(user)


def can_act_on_handoff(user: User, handoff: Handoff) -> bool:
    if is_manager(user):
        return True
    if not is_member(user):
        return False
    return user.team_id == handoff.to_team_id


def can_create_deal(user: User, contact: Contact) -> bool:
    return can_change_contact(user, contact)


def can_edit_deal(user: User, deal: Deal) -> bool:
    if not is_member(user):
        return False
    if is_manager(user):
        return True
    if deal.owner_id == user.pk:
        return True
    if deal.owner_id is not None:
        return deal.owner is not None and user.team_id is not None and user.team_id == deal.owner.team_id
    return user.team_id is not None and user.team_id == owning_team_id(deal.contact)


def can_change_subscription(user: User, subscription: Subscription | None = None) -> bool:
    if is_manager(user):
        return True
    if not is_member(user):
        return False
    return user.team is not None and user.team.key == Team.CUSTOMER_SUCCESS


def can_record_nps(user: User) -> bool:
    """Survey answers belong to Customer Success's side of the record."""
    if is_manager(user):
        return True
    if not is_member(user):
        return False
    return user.team is not None and user.team.key == Team.CUSTOMER_SUCCESS


def can_read_configuration(user: User) -> bool:
    """Stages, reasons, rules and pipeline stages: what every team works by."""
    return is_member(user)


def can_read_reports(user: User) -> bool:
    # The numbers of The Model are shared across the teams, like the record they come from.
    return is_member(user)


def can_assess_health(user: User) -> bool:
    """Fill in and edit The Model health check: managers and admins (everyone reads it)."""
    return is_manager(user)


def can_save_plans(user: User) -> bool:
    """Saved plans are what the company follows: managers and admins set them."""
    return is_manager(user) or is_admin(user)


def can_manage_settings(user: User) -> bool:
    """Stages, rules, reasons, SLAs, routing, scoring, webhooks, users."""
    return is_admin(user)


def can_see_restricted(user: User, *, admins_only: bool) -> bool:
    """Restricted fields (kyogyo/org/restricted.py): admins see them all; managers see
    those not marked for admins only, the personal data of people who opted out included."""
    if not user.is_active:
        return False
    if is_admin(user):
        return True
    if admins_only:
        return False
    return is_manager(user)


def can_manage_tokens_of(user: User, owner: User) -> bool:
    if not user.is_active:
        return False
    if user.pk == owner.pk:
        return True
    return is_admin(user)


def can_change_saved_view(user: User, view: SavedView) -> bool:
    """A saved view of a list is its owner's; admins tidy up shared ones."""
    if not user.is_active:
        return False
    return view.owner_id == user.pk or is_admin(user)
