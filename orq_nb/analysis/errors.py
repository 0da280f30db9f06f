"""What the analysis layer warns."""

from __future__ import annotations

from orq_nb.errors import OrqWarning

__all__ = ["UnknownTagWarning"]


class UnknownTagWarning(OrqWarning):
    """A filter named a tag that no session has (often a typo); the closest existing tags are named."""
