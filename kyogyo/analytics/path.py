"""The waterfall's path through the stage model: the prospect and customer stages in
order, each advancing to the next, the last customer stage advancing to the first outcome;
then the outcome stages (renewed, expanded, churned by default) as end points. Recycle
(nurture) and exit (disqualified) stages are off the path."""

from __future__ import annotations

from collections.abc import Sequence

PATH_CATEGORIES = ("prospect", "customer")


def path_pairs(stages: Sequence[tuple[str, str]]) -> list[tuple[str, str | None]]:
    """(stage key, next stage key or None) along the path, for stages given as
    (key, category) in stage order."""
    main = [key for key, category in stages if category in PATH_CATEGORIES]
    outcomes = [key for key, category in stages if category == "outcome"]
    pairs: list[tuple[str, str | None]] = []
    for i, key in enumerate(main):
        nxt = main[i + 1] if i + 1 < len(main) else (outcomes[0] if outcomes else None)
        pairs.append((key, nxt))
    return pairs + [(key, None) for key in outcomes]
