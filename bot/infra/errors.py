"""Errors the domain refuses with: each carries a message already in the user's language."""

from __future__ import annotations


class Refused(Exception):
    """A request that is not allowed or not possible; `str()` is the localized reason."""
