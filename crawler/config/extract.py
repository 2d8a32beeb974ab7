"""A seed's ``[extract]`` table into :class:`ExtractOptions` (validated at start-up, errors name file and key)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from lxml import etree

from crawler.errors import ConfigError

FAVOR_CHOICES = ("auto", "precision", "balanced", "recall")


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
        """Validate a seed's ``[extract]`` table; a bad key or value raises ``ConfigError``."""
        known = {"body_xpath", "boilerplate_patterns", "min_words", "favor", "language", "time_cap"}
        for key in data:
            if key not in known:
                raise ConfigError(source, f"extract.{key}", f"unknown key (known: {', '.join(sorted(known))})")
        kwargs: dict[str, Any] = {}
        if (xp := data.get("body_xpath")) is not None:
            if not isinstance(xp, str) or not xp.strip():
                raise ConfigError(source, "extract.body_xpath", "must be a non-empty string")
            try:
                etree.XPath(xp)
            except etree.XPathSyntaxError as exc:
                raise ConfigError(source, "extract.body_xpath", f"invalid XPath: {exc}") from None
            kwargs["body_xpath"] = xp
        if (pats := data.get("boilerplate_patterns")) is not None:
            if isinstance(pats, str) or not all(isinstance(p, str) for p in pats):
                raise ConfigError(source, "extract.boilerplate_patterns", "must be a list of strings")
            for pat in pats:
                try:
                    re.compile(pat)
                except re.error as exc:
                    raise ConfigError(source, "extract.boilerplate_patterns", f"invalid regex {pat!r}: {exc}") from None
            kwargs["boilerplate_patterns"] = tuple(pats)
        if (mw := data.get("min_words")) is not None:
            if isinstance(mw, bool) or not isinstance(mw, int) or mw < 0:
                raise ConfigError(source, "extract.min_words", "must be a non-negative integer")
            kwargs["min_words"] = mw
        if (favor := data.get("favor")) is not None:
            if favor not in FAVOR_CHOICES:
                raise ConfigError(source, "extract.favor", f"must be one of {', '.join(FAVOR_CHOICES)}")
            kwargs["favor"] = favor
        if (lang := data.get("language")) is not None:
            if not isinstance(lang, str) or not re.fullmatch(r"[A-Za-z]{2,3}([-_][A-Za-z0-9]{2,8})*", lang):
                raise ConfigError(source, "extract.language", "must be a language tag like 'en' or 'pt-BR'")
            kwargs["language"] = lang
        if (cap := data.get("time_cap")) is not None:
            if isinstance(cap, bool) or not isinstance(cap, (int, float)) or cap < 0:
                raise ConfigError(source, "extract.time_cap", "must be a number of seconds, 0 for no cap")
            kwargs["time_cap"] = float(cap)
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
