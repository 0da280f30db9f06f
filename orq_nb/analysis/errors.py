"""What the analysis layer warns."""

from __future__ import annotations

from orq_nb.errors import OrqWarning

__all__ = ["UnknownTagWarning", "StaleDataWarning"]


class UnknownTagWarning(OrqWarning):
    """A filter named a tag that no session has (often a typo); the closest existing tags are named."""


class StaleDataWarning(OrqWarning):
    """A forecast's ``as_of`` lies more than a day after the data's last session: the days between count as
    $0 (often an old export or the bundled sample forecast from today)."""
