"""Journey events, sent after the transaction that caused them commits.

Receivers (outbound webhooks, notifications) must not assume they run in that transaction.
"""

from django.dispatch import Signal

#: sent with ``transition`` after a stage change commits
stage_changed = Signal()
#: sent with ``handoff`` and ``event`` (created, accepted, rejected, breached)
handoff_event = Signal()
