"""The persistence methods of FeedbackSystem (``data/feedback.db``)."""

from __future__ import annotations

from ._base import DomainStore


class FeedbackSystem(DomainStore):
    """The persistence methods of FeedbackSystem (``data/feedback.db``)."""
