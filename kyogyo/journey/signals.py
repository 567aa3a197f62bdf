"""Journey events, sent after the transaction that caused them commits.

Receivers (outbound webhooks, notifications) must not assume they run in that transaction.
"""

from django.dispatch import Signal

#: sent with ``transition`` after a stage change commits
stage_changed = Signal()
#: sent with ``handoff`` and ``event`` (created, accepted, rejected, breached)
handoff_event = Signal()
#: sent *inside* the rejecting transaction with ``handoff``, ``target`` (stage key the
#: subject was sent to), ``at`` and ``actor``, so records tied to the handoff (a deal) can
#: follow in the same transaction
handoff_rejected = Signal()
