"""Publication dates: the date shown next to the headline weighed against the declared ones."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from unittest import mock

from lxml.html import fromstring

import crawler.extract.metadata as metadata
from crawler.extract import extract_article
from crawler.extract.dates import (
    VisibleDate,
    choose_published,
    headline,
    lone_date,
    marked_publication,
    visible_date,
)
from crawler.extract.daytext import text_date, url_date

PARAS = [
    "The city council approved the new tram line on Tuesday evening after a debate that lasted more than "
    "four hours and drew a large crowd of residents to the public gallery of the town hall.",
    "Construction is expected to begin next spring and the first trams should run along the harbour "
    "within three years, according to the transport department's published timetable for the works.",
    "Shop owners on the planned route asked for compensation during the building works, and the council "
    "promised a fund for the businesses that lose customers while the street is closed to traffic.",
]
NOW = datetime(2026, 6, 1, tzinfo=UTC)


def _page(header: str = "", head: str = "", above: str = "", title: str = "Tram line approved") -> str:
    body = "".join(f"<p>{p}</p>" for p in PARAS)
    return (f'<html lang="en"><head><title>{title}</title>{head}</head><body><article>{above}'
            f"<h1>Tram line approved</h1>{header}{body}</article></body></html>")


def _ld(published: str, modified: str | None = None) -> str:
    extra = f', "dateModified": "{modified}"' if modified else ""
    return ('<script type="application/ld+json">{"@context": "https://schema.org", "@type": "NewsArticle", '
            f'"headline": "Tram line approved", "datePublished": "{published}"{extra}}}</script>')


def test_a_marked_header_date_far_from_the_declared_one_wins():
    html = _page('<div class="meta">By Ann Lee <time datetime="2023-03-20T00:00:00-07:00">March 20, 2023</time></div>',
                 _ld("2013-03-11T11:11:07-07:00"))
    a = extract_article(html, "https://city.example/tram")
    assert a is not None and a.published == "2023-03-20T00:00:00-07:00"


def test_a_header_showing_the_update_keeps_the_declared_publication():
    header = '<p class="byline">Updated <span class="date">December 6, 2024</span></p>'
    ld = _ld("2023-10-02T14:21:11+00:00", "2024-12-06T11:29:12+00:00")
    html = _page(header, ld + '<meta property="article:published_time" content="2023-10-02T14:21:11+00:00">')
    a = extract_article(html, "https://city.example/tram")
    assert a is not None and a.published == "2023-10-02T14:21:11+00:00"
    assert a.updated == "2024-12-06T11:29:12+00:00"
    # the publication in the JSON-LD alone: the page presents the update as its date
    b = extract_article(_page(header, ld), "https://city.example/tram")
    assert b is not None and b.published == "2024-12-06T11:29:12+00:00"


def test_the_local_day_in_header_and_url_beats_a_utc_timestamp_of_the_next_day():
    html = _page('<p>Posted on <time datetime="2025-12-18T21:41:41-05:00">December 18, 2025</time></p>',
                 '<meta property="article:published_time" content="2025-12-19T02:41:41+00:00">')
    a = extract_article(html, "https://blog.example/2025/12/18/tram-line-approved/")
    assert a is not None and a.published == "2025-12-18T21:41:41-05:00"
    # without the URL's agreement the exact declared timestamp stays
    b = extract_article(html, "https://blog.example/tram-line-approved/")
    assert b is not None and b.published == "2025-12-19T02:41:41+00:00"


def test_a_shown_date_without_a_declaration_skips_htmldate():
    html = _page('<div class="byline">By Ann Lee | 12.03.2025</div>', title="Tram line approved | City News")
    with mock.patch.object(metadata, "find_date", side_effect=AssertionError("htmldate called")):
        a = extract_article(html, "https://city.example/tram")
    assert a is not None and a.published == "2025-03-12"


def test_a_date_in_the_url_wins_over_a_different_shown_date_when_nothing_is_declared():
    html = _page('<p class="byline">Updated November 11, 2022</p>')
    a = extract_article(html, "https://news.example/health/2022/11/09/tram-line-approved")
    assert a is not None and a.published == "2022-11-09"


def test_text_dates_in_the_usual_forms():
    latest = date(2026, 1, 1)
    assert text_date("Last Updated: 2025-02-22", latest) == date(2025, 2, 22)
    assert text_date("• November 4th, 2025", latest) == date(2025, 11, 4)
    assert text_date("Updated Feb. 27, 2025 · 8 min read", latest) == date(2025, 2, 27)
    assert text_date("On 8 Oct 2022 in NEWS", latest) == date(2022, 10, 8)
    assert text_date("03/01/2017", latest) == date(2017, 3, 1)  # month first for slashes (US English)
    assert text_date("03/01/2017", latest, month_first=False) == date(2017, 1, 3)
    assert text_date("24/04/2000", latest) == date(2000, 4, 24)  # the only valid reading
    assert text_date("12.03.2025", latest) == date(2025, 3, 12)  # dots: day first
    # an ambiguous one takes the reading a declared or URL date has
    assert text_date("03/10/2023", latest, hints=[date(2023, 10, 3)]) == date(2023, 10, 3)
    assert text_date("March 3, 2031", latest) is None  # never in the future
    assert text_date("© 2024 City News", latest) is None  # a year is no date
    assert text_date("Posted in May", latest) is None


def test_url_dates():
    assert url_date("https://a.example/2023/10/03/title/") == date(2023, 10, 3)
    assert url_date("https://a.example/blog/2023/october/03/title") == date(2023, 10, 3)
    assert url_date("https://a.example/2023/13/40/title") is None
    assert url_date("https://a.example/title-2023") is None


def _tree(body: str, title: str = "Tram line approved"):
    return fromstring(f'<html lang="en"><head><title>{title}</title></head><body>{body}</body></html>')


def test_visible_date_reads_the_header_not_the_prose_nor_widgets():
    prose = " ".join(PARAS) + " The vote on March 3, 2021 was postponed."
    # the first short date line after the headline
    tree = _tree(f'<h1>Tram line approved</h1><p>By <a href="/ann">Ann</a></p><p>Jan 5, 2025</p><p>{prose}</p>')
    assert visible_date(tree, "Tram line approved", now=NOW) == VisibleDate(date(2025, 1, 5), None, False)
    # a date inside a long paragraph is prose, not the article's date
    assert visible_date(_tree(f"<h1>Tram line approved</h1><p>{prose}</p>"), "Tram line approved", now=NOW) is None
    # a dateline above the headline counts when none follows it
    tree = _tree(f'<p>Back</p><span class="post-date">January 23, 2025</span><h1>Tram line approved</h1><p>{prose}</p>')
    assert visible_date(tree, "Tram line approved", now=NOW) == VisibleDate(date(2025, 1, 23), None, True)
    # script text is not shown
    tree = _tree(f'<h1>Tram line approved</h1><script>var d = "May 1, 2024";</script><p>{prose}</p>')
    assert visible_date(tree, "Tram line approved", now=NOW) is None


def test_the_header_line_pairs_of_update_and_publication_and_a_date_right_above():
    prose = " ".join(PARAS)
    # "Updated" nearest the headline, the publication beside it: the publication is the page's date
    tree = _tree(f"<p>Health</p><span>December 22, 2022</span><span>Updated: January 2, 2026</span>"
                 f"<h1>Tram line approved</h1><p>{prose}</p>")
    assert visible_date(tree, "Tram line approved", now=NOW) == VisibleDate(date(2022, 12, 22), None, False)
    # the same the other way round, below the headline
    tree = _tree(f"<h1>Tram line approved</h1><p>Updated Jan 2, 2026</p><p>Published Dec 22, 2022</p><p>{prose}</p>")
    assert visible_date(tree, "Tram line approved", now=NOW).day == date(2022, 12, 22)
    # an update line alone stays the update
    tree = _tree(f"<h1>Tram line approved</h1><p>Updated Jan 2, 2026</p><p>{prose}</p>")
    assert visible_date(tree, "Tram line approved", now=NOW) == VisibleDate(date(2026, 1, 2), None, False, True)
    # a category and date line right above the headline; the first date below it is an event's,
    # six short lines into the text
    facts = "".join(f"<p>{label}</p>" for label in ("Where", ": the harbour", "Cost", ": 40 million"))
    tree = _tree(f"<p>Transport October 13, 2025</p><h1>Tram line approved</h1><p>{PARAS[0]}</p>{facts}"
                 f"<p>Opening: March 19, 2026</p><p>{prose}</p>")
    assert visible_date(tree, "Tram line approved", now=NOW).day == date(2025, 10, 13)
    # a date line right below the headline still comes first
    tree = _tree(f"<p>Transport October 13, 2025</p><h1>Tram line approved</h1><p>March 19, 2026</p><p>{prose}</p>")
    assert visible_date(tree, "Tram line approved", now=NOW).day == date(2026, 3, 19)


def test_headline_is_the_h1_that_matches_the_title():
    tree = _tree("<h1>City News</h1><h1>Tram line approved</h1>", "Tram line approved - City News")
    assert headline(tree, "Tram line approved - City News").text == "Tram line approved"
    # several h1s and none is the title: widget headings, no header to read
    tree = _tree('<h1>Contact Us</h1><p>August 19, 2025</p><h1>Follow Us</h1>')
    assert headline(tree, "Tram line approved") is None
    assert visible_date(tree, "Tram line approved", now=NOW) is None
    # a single h1 is the headline even when its wording differs from the declared title
    assert headline(_tree("<h1>Tram line: yes</h1>"), "Tram line approved").text == "Tram line: yes"


def test_choose_published_rules():
    shown = VisibleDate(date(2025, 11, 14), None, False)
    marked = shown._replace(marked=True, stamp="2025-11-14T09:00:00-05:00")
    assert choose_published("2025-11-14T14:00:00Z", None, shown) == "2025-11-14T14:00:00Z"  # agreeing: exact
    assert choose_published("2024-09-06", "2025-11-14T06:49:57+00:00", marked) == "2024-09-06"  # the update line
    assert choose_published(None, "2025-11-14T06:49:57+00:00", shown) == "2025-11-14T06:49:57+00:00"
    assert choose_published("2020-01-01", None, shown) == "2020-01-01"  # plain text never overrides a declaration
    assert choose_published("2020-01-01", None, marked) == "2025-11-14T09:00:00-05:00"
    assert choose_published("2025-11-15T03:00:00Z", None, marked) == "2025-11-15T03:00:00Z"  # a day off: the zone
    # a day off, but the declared instant is on the shown day in no time zone: the header's day
    assert choose_published("2025-11-15T22:02:58.705Z", None, shown) == "2025-11-14"
    assert choose_published("2025-11-15T22:02:58", None, shown) == "2025-11-15T22:02:58"  # no zone: kept
    assert choose_published(None, None, shown) == "2025-11-14"
    assert choose_published(None, None, shown, date(2025, 11, 1)) == "2025-11-01"
    assert choose_published(None, None, None) is None  # htmldate's turn


def test_update_line_wins_when_the_publication_is_only_in_structured_data():
    """A header showing only the update date, the first publication declared in JSON-LD alone: the update."""
    shown = VisibleDate(date(2025, 11, 14), None, True)
    modified = "2025-11-14T06:49:57+00:00"
    assert choose_published("2024-09-06", modified, shown, announced=False) == modified
    assert choose_published("2024-09-06", modified, shown, announced=True) == "2024-09-06"  # <meta> says it too
    assert choose_published("2024-09-06", modified, shown, date(2024, 9, 6), announced=False) == "2024-09-06"


def test_comments_and_processing_instructions_next_to_the_headline():
    tree = _tree('<div><h1>Tram line approved<!-- x --></h1><!-- meta -->May 4, 2024<?php echo 1 ?></div>')
    assert visible_date(tree, "Tram line approved", now=NOW) == VisibleDate(date(2024, 5, 4), None, False)
    tree = _tree('<div><!-- a --><p>Back</p><!-- b -->Jan 3, 2024<h1>Tram line approved</h1></div>')
    assert visible_date(tree, "Tram line approved", now=NOW) == VisibleDate(date(2024, 1, 3), None, False)


def test_a_declaration_not_in_iso_form_does_not_hide_the_next_one():
    ld = ('<script type="application/ld+json">{"@context": "https://schema.org", "@type": "NewsArticle", '
          '"headline": "Tram line approved", "datePublished": "Dec 18, 2025"}</script>')
    html = _page("", ld + '<meta property="article:published_time" content="2025-12-18T13:22:47Z">')
    a = extract_article(html, "https://city.example/tram")
    assert a is not None and a.published == "2025-12-18T13:22:47Z"


def test_no_date_later_than_tomorrow_is_returned():
    later = (datetime.now(UTC) + timedelta(days=30)).date().isoformat()
    html = _page('<p>March 20, 2023</p>', _ld(f"{later}T10:00:00Z", later))
    a = extract_article(html, f"https://city.example/{later.replace('-', '/')}/tram")
    assert a is not None and a.published == "2023-03-20"


def test_an_updated_line_later_than_every_declared_date_is_the_update():
    """A stale ``dateModified``: the header's "Updated …" line is the page's latest modification."""
    header = '<p class="info">Updated Dec 18, 2025 · 12 min read</p>'
    ld = _ld("2025-06-17", "2025-06-17")
    a = extract_article(_page(header, ld), "https://city.example/tram")
    assert a is not None and a.published == "2025-12-18"  # the publication declared in JSON-LD only
    meta = '<meta property="article:published_time" content="2025-06-17T08:00:00Z">'
    b = extract_article(_page(header, ld + meta), "https://city.example/tram")
    assert b is not None and b.published == "2025-06-17"  # the <meta> announces it: it stays
    # the same date without the word "Updated" is plain text: it does not override a declaration
    c = extract_article(_page('<p class="info">Dec 18, 2025 · 12 min read</p>', ld), "https://city.example/tram")
    assert c is not None and c.published == "2025-06-17"
    shown = VisibleDate(date(2025, 11, 14), None, False, True)
    assert choose_published("2025-11-20", None, shown) == "2025-11-20"  # an update before the publication: ignored


def test_a_marked_publication_below_the_header_counts_when_the_page_marks_only_one_day():
    filler = "".join(f"<li>Step {i}: keep going</li>" for i in range(60))  # more lines than the header scan reads
    tail = '<div class="foot">Published <time pubdate datetime="2025-08-13">August 13, 2025</time></div>'
    html = _page(f"<ul>{filler}</ul>{tail}", _ld("2025-11-29T12:28:31-05:00"))
    a = extract_article(html, "https://city.example/tram")
    assert a is not None and a.published == "2025-08-13"
    tree = _tree(f'<h1>Tram line approved</h1><ul>{filler}</ul><p itemprop="datePublished">Aug 13, 2025</p>')
    assert visible_date(tree, "Tram line approved", now=NOW) == VisibleDate(date(2025, 8, 13), None, True)
    # teaser cards of other articles carry the same mark with their own dates: none is the page's
    cards = "".join(f'<li><a href="/a{d}">Other</a> <time itemprop="datePublished">May {d}, 2025</time></li>'
                    for d in (3, 9))
    tree = _tree(f'<h1>Tram line approved</h1><ul>{filler}</ul><ul>{cards}</ul>')
    assert visible_date(tree, "Tram line approved", now=NOW) is None


def test_lone_date_is_the_one_day_the_short_lines_name():
    prose = " ".join(PARAS) + " The vote on March 3, 2021 was postponed."
    foot = '<p style="text-align:right">Last updated: November 13, 2025</p>'
    assert lone_date(_tree(f"<p>{prose}</p>{foot}"), now=NOW) == date(2025, 11, 13)  # prose dates do not count
    assert lone_date(_tree(f"<p>Nov 13, 2025</p>{foot}"), now=NOW) == date(2025, 11, 13)  # the same day twice
    assert lone_date(_tree(f"<p>Event: May 2, 2025</p>{foot}"), now=NOW) is None  # two days: none is the page's
    assert lone_date(_tree("<p>© 2025 City News</p>"), now=NOW) is None
    assert lone_date(_tree("<script>var d = 'May 1, 2024';</script><p>Hello</p>"), now=NOW) is None


def test_the_fallback_is_htmldate_fast_search_without_its_padded_years():
    page = _page("", title="Tram line approved").replace("<h1>", '<p>Last updated: November 13, 2025</p><h1>')
    with mock.patch.object(metadata, "find_date", return_value="2024-01-01") as fast:  # "© 2024" as a date
        a = extract_article(_page(""), "https://city.example/tram")  # no date in the page
    assert fast.call_args.kwargs["extensive_search"] is False
    assert a is not None and a.published is None  # htmldate's copyright year is no publication day
    with mock.patch.object(metadata, "find_date", return_value=None):
        tree = fromstring(page.replace("<h1>Tram line approved</h1>", "<h2>Tram line approved</h2>"))
        assert metadata._searched_date(tree, "https://city.example/tram", {}) == "2025-11-13"
    with mock.patch.object(metadata, "find_date", return_value="2024-03-05"):
        assert metadata._searched_date(tree, "https://city.example/tram", {}) == "2024-03-05"


def test_a_time_labelled_published_is_the_publication_even_without_a_headline_match():
    """No declared date, an <h1> that is not the title: "Published on <time>" beats the dates of a
    related-posts list (which htmldate would pick)."""
    related = "".join(f'<li><a href="/blog/{d}"><div class="title">Other post</div><div class="date">2025-12-{d}</div>'
                      f'</a></li>' for d in (16, 2))
    body = (f'<h1>Our year in review</h1><h1>Finding the button</h1><p>{" ".join(PARAS)}</p>'
            f'<ul><li>Published on <time datetime="2025-12-19">2025-12-19</time></li></ul><ul>{related}</ul>')
    html = f"<html><head><title>recap - updates at Example</title></head><body>{body}</body></html>"
    a = extract_article(html, "https://city.example/blog/recap")
    assert a is not None and a.published == "2025-12-19"
    # an unlabelled <time> is no mark; two labelled ones naming different days: neither is the page's
    assert marked_publication(_tree('<p>Event <time datetime="2025-05-02">May 2</time></p>'), now=NOW) is None
    two = ('<p>Posted: <time datetime="2025-05-02">May 2</time></p>'
           '<p>Posted: <time datetime="2025-05-09">May 9</time></p>')
    assert marked_publication(_tree(two), now=NOW) is None


def test_a_publication_meta_in_words_is_read_when_nothing_else_dates_the_page():
    """``<meta name="published" content="July 17, 2025">``: no ISO declaration, no shown date."""
    page = _page(head='<meta name="published" content="July 17, 2025">')
    a = extract_article(page, "https://city.example/tram")
    assert a is not None and a.published == "2025-07-17"
    later = _page(head='<meta name="published" content="July 17, 2099">')
    with mock.patch.object(metadata, "find_date", return_value=None):
        b = extract_article(later, "https://city.example/tram")
    assert b is not None and b.published is None  # never a date in the future
