"""Sub-commands that live in their own modules (replay, schedule), added to the parser."""

from __future__ import annotations


def add_commands(sub, common) -> None:
    """Placeholder until replay and schedule land."""
