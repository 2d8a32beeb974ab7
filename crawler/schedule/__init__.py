"""Cron-driven runs, never two at once for one seed."""
