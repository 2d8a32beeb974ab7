"""The ``newswarc`` command: one module per command group (see docs/architecture.md)."""
