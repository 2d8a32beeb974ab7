"""A seed's ``[extract]`` table into :class:`ExtractOptions` (validated at start-up, errors name file and key)."""

from __future__ import annotations

import difflib
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from lxml import etree

from crawler.errors import ConfigError, Problems

FAVOR_CHOICES = ("auto", "precision", "balanced", "recall")
KEYS = {"body_xpath", "boilerplate_patterns", "min_words", "favor", "language", "time_cap"}
# BCP 47-ish: en, EN, pt-BR, pt_BR, zh-Hant-TW (a seed's ``language`` and its ``[extract] language``)
LANGUAGE_TAG = re.compile(r"[A-Za-z]{2,3}([-_][A-Za-z0-9]{2,8})*")


def check_language(value: Any, source: object, key: str) -> str:
    """``value`` if it is a language tag, else a ConfigError naming ``source`` and ``key``."""
    if not isinstance(value, str) or not LANGUAGE_TAG.fullmatch(value):
        raise ConfigError(source, key, f"expected a language tag such as \"en\" or \"pt-BR\", got {value!r}")
    return value


@dataclass(frozen=True)
class ExtractOptions:
    """Site-specific extraction options, from a seed's ``[extract]`` table."""

    body_xpath: str | None = None
    boilerplate_patterns: tuple[str, ...] = ()
    min_words: int = 50
    favor: str = "auto"
    language: str | None = None
    time_cap: float = 5.0  # CPU seconds a page may take (0: no cap); past it: reason ``time_cap``

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any], *, source: str) -> ExtractOptions:
        """Validate a seed's ``[extract]`` table; every bad key or value is reported at once (``ConfigError``)."""
        problems = Problems(source)
        problems.unknown(set(data) - KEYS, KEYS, prefix="extract.")
        kwargs: dict[str, Any] = {}
        if (xp := data.get("body_xpath")) is not None:
            if not isinstance(xp, str) or not xp.strip():
                problems.add("extract.body_xpath", "must be a non-empty string")
            else:
                try:
                    etree.XPath(xp)
                    kwargs["body_xpath"] = xp
                except etree.XPathSyntaxError as exc:
                    problems.add("extract.body_xpath", f"invalid XPath: {exc}")
        if (pats := data.get("boilerplate_patterns")) is not None:
            if not isinstance(pats, list | tuple) or not all(isinstance(p, str) for p in pats):
                problems.add("extract.boilerplate_patterns", "must be a list of strings")
            else:
                for pat in pats:
                    try:
                        re.compile(pat)
                    except re.error as exc:
                        problems.add("extract.boilerplate_patterns", f"invalid regex {pat!r}: {exc}")
                kwargs["boilerplate_patterns"] = tuple(pats)
        if (mw := data.get("min_words")) is not None:
            if isinstance(mw, bool) or not isinstance(mw, int) or mw < 0:
                problems.add("extract.min_words", "must be a non-negative integer")
            kwargs["min_words"] = mw
        if (favor := data.get("favor")) is not None:
            if favor not in FAVOR_CHOICES:
                close = difflib.get_close_matches(str(favor), FAVOR_CHOICES, n=1)
                hint = f"; did you mean {close[0]!r}?" if close else ""
                problems.add("extract.favor", f"must be one of {', '.join(FAVOR_CHOICES)}{hint}")
            kwargs["favor"] = favor
        if (lang := data.get("language")) is not None:
            kwargs["language"] = problems.take(check_language, lang, source, "extract.language")
        if (cap := data.get("time_cap")) is not None:
            if isinstance(cap, bool) or not isinstance(cap, int | float) or cap < 0:
                problems.add("extract.time_cap", "must be a number of seconds, 0 for no cap")
            else:
                kwargs["time_cap"] = float(cap)
        problems.raise_any()
        return cls(**kwargs)


def options_for_seed(seed: Any) -> ExtractOptions | None:
    """The extraction options of a seed: its ``[extract]`` table, with the seed's ``language`` unless it names one.

    The one place the crawl's pipeline and replay build them, so that replay extracts as the crawl did.
    None: the defaults.
    """
    extract = dict(getattr(seed, "extract", {}) or {})
    if seed is not None and getattr(seed, "language", None) and "language" not in extract:
        extract["language"] = seed.language
    return ExtractOptions.from_mapping(extract, source=getattr(seed, "path", "<seed>")) if extract else None
