"""Cron expressions in seeds: one rule and one message, for the seed check and the scheduler."""

from __future__ import annotations

from datetime import UTC, datetime

from croniter import CroniterBadDateError, croniter

from crawler.errors import ConfigError

_ALIASES = frozenset({"@yearly", "@annually", "@monthly", "@weekly", "@daily", "@midnight", "@hourly"})


_CRON_HELP = "expected 5 fields 'minute hour day-of-month month day-of-week' (UTC), e.g. '0 */6 * * *', or @hourly/@daily/@weekly/@monthly/@yearly"


def validate_cron(expr: object, source: object) -> str:
    """Return the stripped cron expression or raise ConfigError(source, "schedule", why)."""
    if not isinstance(expr, str) or not expr.strip():
        raise ConfigError(source, "schedule", f"missing cron expression; {_CRON_HELP}")
    expr = expr.strip()
    if expr.startswith("@"):
        if expr.lower() not in _ALIASES:
            raise ConfigError(source, "schedule", f"unsupported cron alias {expr!r}; {_CRON_HELP}")
        return expr.lower()
    fields = expr.split()
    if len(fields) != 5:
        raise ConfigError(
            source, "schedule", f"bad cron expression {expr!r}: {len(fields)} fields; {_CRON_HELP}"
        )
    try:
        croniter(expr, datetime(2000, 1, 1, tzinfo=UTC)).get_next(datetime)
    except CroniterBadDateError:
        raise ConfigError(source, "schedule", f"cron expression {expr!r} never matches a date") from None
    except (ValueError, KeyError) as exc:  # CroniterBadCronError is a ValueError
        raise ConfigError(source, "schedule", f"bad cron expression {expr!r}: {exc}; {_CRON_HELP}") from None
    return expr
