"""Plausible English news text from our own word list and templates, driven by a seeded RNG.

Only the RNG decides the output, so the same seed always gives the same titles and bodies and
tests can compare extracted text with the exact paragraphs that were written.
"""

from __future__ import annotations

import random
import re
import unicodedata
from dataclasses import dataclass
from importlib import resources

SECTIONS = ("politics", "economy", "sport", "culture", "world", "technology")

_SENTENCES = (
    "{person}, the {role} of {inst}, said on {weekday} that the {noun} would be {past} before {month}.",
    "The {adj} {noun} was {past} by {inst} after weeks of talks in {place}.",
    "According to {inst}, {number} {nouns} were {past} in {place} last year.",
    "Critics in {place} {past} the plan, arguing that the {noun} came too late.",
    "{person} told reporters that {inst} {third} every {noun} on its merits.",
    "In {place}, the {adj} {noun} drew about {number} people on {weekday}.",
    "Officials expect the {noun} to {verb} at least {number} {nouns} by {month}.",
    "\u201cWe did not expect {article} {adj} {noun} this year,\u201d said {person}, a {role} in {place}.",
    "The figures, published on {weekday}, show that {nouns} in {place} rose by {number} per cent.",
    "{inst_cap} has not yet said whether it will {verb} the {noun}.",
    "Residents of {place} {past} the decision, which affects {number} {nouns}.",
    "The {role} of {inst} described the {noun} as {article} {adj} step.",
    "Last {month}, {person} {past} a similar {noun} in {place}.",
    "Analysts said the {adj} {noun} could {verb} {nouns} across the region.",
)
_TITLES = (
    "{place} {third} {adj} {noun}",
    "{inst_cap} {past} the {noun} in {place}",
    "{adj_cap} {noun} {past} after talks in {place}",
    "{person} {third} plan for {nouns} in {place}",
    "Why {place} {past} the {adj} {noun}",
    "{number} {nouns} {past} as {place} waits for {noun}",
    "{place}: {inst} to {verb} {adj} {noun}",
)


@dataclass(frozen=True)
class Vocabulary:
    """The word lists of ``words.txt``, by section name."""

    lists: dict[str, tuple[str, ...]]

    @classmethod
    def load(cls) -> Vocabulary:
        """Read the packaged ``words.txt`` (lines under ``[section]`` headers, ``#`` comments)."""
        text = resources.files("crawler.demo").joinpath("words.txt").read_text(encoding="utf-8")
        lists: dict[str, list[str]] = {}
        current: list[str] = []
        for raw in text.splitlines():
            line = raw.strip()
            if not line or line.startswith("#"):
                continue
            if line.startswith("[") and line.endswith("]"):
                current = lists.setdefault(line[1:-1], [])
            else:
                current.append(line)
        return cls({k: tuple(v) for k, v in lists.items()})

    def __getitem__(self, name: str) -> tuple[str, ...]:
        return self.lists[name]


class TextWriter:
    """Writes titles, sentences and paragraphs for one section from one RNG."""

    def __init__(self, vocab: Vocabulary, rng: random.Random, section: str):
        self.v, self.rng, self.section = vocab, rng, section

    def person(self) -> str:
        """A full name such as ``Giulia Rossi``."""
        return f"{self.rng.choice(self.v['first_names'])} {self.rng.choice(self.v['last_names'])}"

    def _slots(self) -> _Slots:
        return _Slots(self)

    def sentence(self) -> str:
        """One sentence, first letter upper case."""
        s = self.rng.choice(_SENTENCES).format_map(self._slots())
        return s[0].upper() + s[1:]

    def paragraph(self) -> str:
        """Two to five sentences."""
        return " ".join(self.sentence() for _ in range(self.rng.randint(2, 5)))

    def paragraphs(self, low: int = 3, high: int = 12) -> list[str]:
        """An article body: ``low`` to ``high`` paragraphs."""
        return [self.paragraph() for _ in range(self.rng.randint(low, high))]

    def title(self) -> str:
        """A headline (sentence case, no final period)."""
        t = self.rng.choice(_TITLES).format_map(self._slots())
        return t[0].upper() + t[1:]

    def tags(self) -> list[str]:
        """Two to four tags of the section."""
        return self.rng.sample(self.v[f"tags_{self.section}"], self.rng.randint(2, 4))


class _Slots(dict):
    """Template slots drawn on first use, so a sentence only spends the RNG on the words it needs."""

    def __init__(self, w: TextWriter):
        super().__init__()
        self.w = w

    def __missing__(self, key: str) -> str:
        r, v, section = self.w.rng, self.w.v, self.w.section
        if key in ("noun", "nouns"):
            value = r.choice(v[f"nouns_{section}"]).split("|")[key == "nouns"]
        elif key in ("verb", "third", "past"):
            value = r.choice(v["verbs"]).split("|")[("verb", "third", "past").index(key)]
        elif key in ("adj_cap", "inst_cap"):
            base = self[key[:-4]]
            value = base[0].upper() + base[1:]
        elif key == "article":
            value = "an" if self["adj"][0] in "aeiou" else "a"
        elif key == "person":
            value = self.w.person()
        elif key == "number":
            value = str(r.randint(3, 950))
        else:
            value = r.choice(v[_LISTS[key]])
        self[key] = value
        return value


_LISTS = {"role": "roles", "inst": "institutions", "place": "places", "weekday": "weekdays",
          "month": "months", "adj": "adjectives"}


def slugify(text: str, max_words: int = 8) -> str:
    """WordPress-like slug: ASCII lower case words joined by ``-``."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().lower()
    return "-".join(re.findall(r"[a-z0-9]+", ascii_text)[:max_words]) or "post"
