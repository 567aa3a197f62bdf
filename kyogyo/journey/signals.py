"""Journey events, sent *inside* the transaction that causes them.

What a receiver writes (the outbound webhooks' delivery rows) commits or rolls back with the
change itself, so a process killed or a database lost right after the commit loses no event,
and a rolled-back change leaves none. A receiver must therefore only write rows, quickly, in a
savepoint of its own (``transaction.atomic()``) so its failure cannot undo the change; work
that talks to the network runs later, from what it wrote (see docs/reliability.md).
"""

from django.dispatch import Signal

#: sent with ``transition`` when a stage change is written
stage_changed = Signal()
#: sent with ``handoff`` (or ``handoff_ids``) and ``event`` (created, accepted, rejected,
#: breached) when the handoff is written
handoff_event = Signal()
#: sent inside the rejecting transaction with ``handoff``, ``target`` (stage key the
#: subject was sent to), ``at`` and ``actor``, so records tied to the handoff (a deal) can
#: follow in the same transaction
handoff_rejected = Signal()
