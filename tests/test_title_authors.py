"""Headline and author rules on the shapes of real pages (small pages written here, no shared data)."""

from __future__ import annotations

import lxml.html

from crawler.extract import extract_article
from crawler.extract.authors import clean_authors, clean_one
from crawler.extract.title import choose_title
from tests.test_extract_quality import BODY, URL  # the same small article page


def page(body: str, head: str = "", title: str = "Council approves harbour plan") -> str:
    return f"<!DOCTYPE html><html><head><title>{title}</title>{head}</head><body>{body}</body></html>"


def test_a_surname_that_spells_a_credential_stays() -> None:
    assert clean_authors(["Rui Ma"]) == ["Rui Ma"]
    assert clean_one("Anh Do") == "Anh Do"
    assert clean_one("Jane Roe MA") == "Jane Roe"  # the credential as it is written after a name
    assert clean_one("Jane Roe Ph.D.") == "Jane Roe"


def test_a_byline_ends_at_the_first_role() -> None:
    byline = ('<div class="byline">Reviewed by <a href="/people/jon-moe">Jon Moe</a>, Trial Attorney at '
              'Smith &amp; Partners, on December 9, 2024.</div>')
    article = extract_article(page(f"<article>{byline}{BODY}</article>"), URL)
    assert article is not None and article.authors == ["Jon Moe"]


def test_a_desk_byline_is_kept_when_no_person_is_named() -> None:
    assert clean_authors(["Harbour Herald Staff"]) == ["Harbour Herald Staff"]
    assert clean_authors(["The Harbour Team"]) == ["The Harbour Team"]
    assert clean_authors(["Harbour Herald Staff", "Jane Roe"]) == ["Jane Roe"]
    assert clean_authors(["Jane Roe, Staff Writer"]) == ["Jane Roe"]
    head = '<meta name="author" content="Harbour Herald Staff">'
    article = extract_article(page(f"<article>{BODY}</article>", head), URL)
    assert article is not None and article.authors == ["Harbour Herald Staff"]


def test_a_plain_by_line_names_the_author() -> None:
    article = extract_article(page(f'<article><p class="meta">by Jane Roe on March 4, 2025</p>{BODY}</article>'), URL)
    assert article is not None and article.authors == ["Jane Roe"]
    split = '<div class="meta"><div><span>By </span><strong>Jon Moe</strong></div><p>5 min</p></div>'
    article = extract_article(page(f"<article>{split}{BODY}</article>"), URL)
    assert article is not None and article.authors == ["Jon Moe"]
    cards = '<div class="meta"><div>By</div><div>The Harbour Team</div><div>|</div><div>6</div><div>mins</div></div>'
    article = extract_article(page(f"<article>{cards}{BODY}</article>"), URL)
    assert article is not None and article.authors == ["The Harbour Team"]
    tail = '<p class="meta"><span>·</span> By Jane Roe <span>·</span> March 4, 2025 <span>·</span> 5 minutes to read</p>'
    article = extract_article(page(f"<article>{tail}{BODY}</article>"), URL)
    assert article is not None and article.authors == ["Jane Roe"]
    prose = "<p>By the end of the year the harbour will be open to ferries.</p>"
    article = extract_article(page(f"<article>{prose}{BODY}</article>"), URL)
    assert article is not None and article.authors == []


def test_the_written_by_field_of_seo_plugins() -> None:
    head = ('<meta name="twitter:label1" content="Est. reading time"><meta name="twitter:data1" content="7 minutes">'
            '<meta name="twitter:label2" content="Written by"><meta name="twitter:data2" content="Jane (Guha) Roe">')
    article = extract_article(page(f"<article>{BODY}</article>", head), URL)
    assert article is not None and article.authors == ["Jane (Guha) Roe"]
    desk = head.replace("Jane (Guha) Roe", "Harbour Herald Staff")  # a desk there gives way to the byline
    byline = '<p class="byline">By <a rel="author" href="/people/jon-moe">Jon Moe</a></p>'
    article = extract_article(page(f"<article>{byline}{BODY}</article>", desk), URL)
    assert article is not None and article.authors == ["Jon Moe"]


def test_an_h1_with_a_date_or_a_count_glued_on_gives_the_declared_title() -> None:
    head = '<meta property="og:title" content="Council approves harbour plan">'
    for h1 in ("Mar 4 2025 Council approves harbour plan", "Council approves harbour plan (harbourherald.com) 87"):
        html = page(f"<article><h1>{h1}</h1>{BODY}</article>", head, title="Council approves harbour plan - Herald")
        assert extract_article(html, URL).title == "Council approves harbour plan"
    longer = page(f"<article><h1>Council approves harbour plan after debate</h1>{BODY}</article>", head)
    assert extract_article(longer, URL).title == "Council approves harbour plan after debate"  # words: the h1's
    year = page(f"<article><h1>2025 Council approves harbour plan</h1>{BODY}</article>", head)
    assert extract_article(year, URL).title == "2025 Council approves harbour plan"  # one number: the headline's


def test_a_jsonld_headline_with_html_entities_is_decoded() -> None:
    ld = ('<script type="application/ld+json">{"@type": "NewsArticle", "headline": '
          '"Council&#8217;s harbour plan &amp; budget", "author": {"name": "Ana&#239;s Roy"}}</script>')
    html = page(f"<article>{BODY}</article>", ld, title="Site")
    article = extract_article(html, URL)
    assert article.title == "Council\u2019s harbour plan & budget"
    assert article.authors == ["Ana\u00efs Roy"]


def test_a_paragraph_styled_as_h1_is_not_the_headline() -> None:
    teaser = ("Council approves harbour plan: learn why the council approves the harbour plan, how the harbour plan "
              "works, what the council plan means for the harbour and the town, and why the council approves it now")
    head = '<meta property="og:title" content="Council approves harbour plan">'
    html = page(f"<article><h1>{teaser}</h1>{BODY}</article>", head, title="Council approves harbour plan | Herald")
    assert extract_article(html, URL).title == "Council approves harbour plan"


def test_a_team_page_link_is_not_a_desk_byline() -> None:
    assert "Meet Our Staff" not in clean_authors(["Meet Our Staff"])


def test_a_lone_month_is_not_an_author() -> None:
    assert clean_authors(["August"]) == []
    assert clean_authors(["October", "Jane Roe"]) == ["Jane Roe"]
    assert clean_one("August Wilson") == "August Wilson"


def test_the_visible_h1_wins_when_it_shares_a_third_of_the_declared_words() -> None:
    head = '<meta property="og:title" content="Harbour plan: what the council decided on Tuesday">'
    declared = "Harbour plan: what the council decided on Tuesday"
    html = page(f"<article><h1>Council approves harbour plan</h1>{BODY}</article>", head, title=declared)
    assert extract_article(html, URL).title == "Council approves harbour plan"
    unrelated = page(f"<article><h1>Weather for the weekend</h1>{BODY}</article>", head, title=declared)
    assert extract_article(unrelated, URL).title == "Harbour plan: what the council decided on Tuesday"


def test_h1_text_keeps_line_breaks_as_spaces_and_words_whole() -> None:
    head = '<meta property="og:title" content="Council approves harbour plan">'
    html = page(f"<article><h1>Council<br>approves <span>harbour</span> pl<em>an</em></h1>{BODY}</article>", head)
    assert extract_article(html, URL).title == "Council approves harbour plan"


def test_a_title_that_is_also_the_site_name_is_still_a_title() -> None:
    tree = lxml.html.fromstring(f"<html><head><title>Cheap fixes are the best</title></head><body>{BODY}</body></html>")
    title = "Cheap fixes are the best"
    assert choose_title(tree, [None, title], [title], URL) == title  # a page whose metadata names the site so


def test_an_h1_that_names_the_site_loses_the_name_like_the_declared_title() -> None:
    head = '<meta property="og:title" content="Council approves harbour plan for the old docks">'
    html = page(f"<article><h1>Council approves harbour plan for the old docks | Town News</h1>{BODY}</article>", head)
    assert extract_article(html, URL).title == "Council approves harbour plan for the old docks"


def test_an_h1_with_question_marks_for_lost_characters_gives_the_declared_title() -> None:
    head = '<meta property="og:title" content="Harbour plan: the council’s answer">'
    html = page(f"<article><h1>Harbour plan? the council? answer</h1>{BODY}</article>", head)
    assert extract_article(html, URL).title == "Harbour plan: the council’s answer"
    asked = page(f"<article><h1>Harbour plan? What the council said</h1>{BODY}</article>", head)
    assert extract_article(asked, URL).title == "Harbour plan? What the council said"  # a real question stays


def test_an_h1_with_a_label_before_the_declared_title_gives_the_declared_title() -> None:
    head = '<meta property="og:title" content="Council approves harbour plan">'
    html = page(f"<article><h1>Opinion: Council approves harbour plan</h1>{BODY}</article>", head)
    assert extract_article(html, URL).title == "Council approves harbour plan"
    told = page(f"<article><h1>Harbour: Council approves harbour plan</h1>{BODY}</article>",
                '<meta property="og:title" content="Harbour: Council approves harbour plan">',
                title="Harbour: Council approves harbour plan")
    assert extract_article(told, URL).title == "Harbour: Council approves harbour plan"  # declared with it: kept


def test_an_h1_that_mentions_the_site_name_is_still_the_headline() -> None:
    head = ('<meta property="og:site_name" content="Harbour">'
            '<meta property="og:title" content="Harbour plan wins council vote | Harbour">')
    html = page(f"<article><h1>Harbour plan wins the council vote</h1>{BODY}</article>", head)
    assert extract_article(html, URL).title == "Harbour plan wins the council vote"
    logo = page(f"<header><h1>Harbour</h1></header><article>{BODY}</article>", head)
    assert extract_article(logo, URL).title == "Harbour plan wins council vote"  # the name alone is a logo


def test_an_h1_with_a_kicker_or_badge_element_gives_the_declared_title() -> None:
    head = '<meta property="og:title" content="Council approves harbour plan">'
    for h1 in ('<span class="kicker">Local news</span> Council approves harbour plan',
               'Council approves harbour plan <em class="badge">Updated</em>'):
        html = page(f"<article><h1>{h1}</h1>{BODY}</article>", head)
        assert extract_article(html, URL).title == "Council approves harbour plan"
    own = page(f"<article><h1>Council approves harbour plan <em>tonight</em></h1>{BODY}</article>",
               '<meta property="og:title" content="Council approves harbour plan tonight">',
               title="Council approves harbour plan tonight")
    assert extract_article(own, URL).title == "Council approves harbour plan tonight"


def test_an_h1_with_a_subtitle_element_the_declared_title_leaves_out_gives_the_declared_title() -> None:
    head = '<meta property="og:title" content="Council approves harbour plan">'
    h1 = 'Council approves harbour plan <span class="subtitle">after a long night of debate over the old docks</span>'
    assert extract_article(page(f"<article><h1>{h1}</h1>{BODY}</article>", head), URL).title == \
        "Council approves harbour plan"


def test_a_byline_in_a_button_or_hover_card_is_read_before_pruning() -> None:
    for byline in ('<p class="byline">By <button class="author-popup">Jane Roe</button></p>',
                   '<div class="meta"><span>By</span> <button type="button">Jane Roe</button><span>May 4, 2025</span></div>',
                   '<div class="meta">By <a href="/team/jane" class="tooltip-trigger">Jane Roe</a></div>',
                   '<div class="meta">By <span class="author-hovercard">Jane Roe</span></div>'):
        article = extract_article(page(f"<article>{byline}{BODY}</article>"), URL)
        assert article is not None and article.authors == ["Jane Roe"], byline
        assert "Jane Roe" not in article.text  # the pop-up stays out of the body


def test_an_avatars_initials_are_not_part_of_the_name() -> None:
    assert clean_one("JR Jane Roe") == "Jane Roe"
    assert clean_one("AJ Jane Roe") == "AJ Jane Roe"  # not her initials: a name
    assert clean_one("JRR Tolkien") == "JRR Tolkien"


def test_a_name_standing_next_to_the_header_date_is_the_byline() -> None:
    title = "<h1>Council approves harbour plan</h1>"
    line = '<div class="meta"><p>Jane Roe</p><div><span>May 4, 2025</span><span>·</span><span>5 min</span></div></div>'
    article = extract_article(page(f"<article>{title}{line}{BODY}</article>"), URL)
    assert article is not None and article.authors == ["Jane Roe"]
    beside = '<div class="meta"><p>Jane Roe</p><div><span>May 4, 2025</span> · 5 min</div><p>' + "Intro. " * 30 + "</p></div>"
    article = extract_article(page(f"<article>{title}{beside}{BODY}</article>"), URL)
    assert article is not None and article.authors == ["Jane Roe"]
    above = '<div class="meta"><span>Jane Roe</span><span>May 4, 2025</span></div>'
    article = extract_article(page(f"<article>{above}{title}{BODY}</article>"), URL)
    assert article is not None and article.authors == ["Jane Roe"]
    # a section link and a reviewer next to the date are no byline
    for line in ('<p><a href="/harbour-news/">Harbour News</a> · May 4, 2025</p>',
                 '<div><div>Reviewed by <a href="/r/jon">Jon Moe</a></div><span>May 4, 2025</span></div>',
                 '<div><div>Reviewed by <span>Jon Moe</span></div><span>May 4, 2025</span></div>',
                 '<div><span>May 4, 2025</span><button>Copy Link</button><span>Text Size</span></div>',
                 '<div><span>May 4, 2025</span><span>Products &amp; Tools</span></div>',
                 '<p>Harbour News</p><p>Jane Roe in the harbour office on May 4, 2025 and the crowds that came to '
                 'see the ferries arrive for the very first time this spring</p>'):
        article = extract_article(page(f"<article>{title}{line}{BODY}</article>"), URL)
        assert article is not None and article.authors == [], line


def test_a_declared_login_gives_way_to_the_byline_the_page_shows() -> None:
    ld = ('<script type="application/ld+json">{"@context": "https://schema.org", "@type": "NewsArticle", '
          '"headline": "Council approves harbour plan", "author": {"@type": "Person", "name": "jon.moe"}}</script>')
    byline = '<div class="author-name">Jane Roe</div>'
    article = extract_article(page(f"<article>{byline}{BODY}</article>", ld), URL)
    assert article is not None and article.authors == ["Jane Roe"]
    article = extract_article(page(f"<article>{BODY}</article>", ld), URL)  # nothing else: the login, spaced
    assert article is not None and article.authors == ["Jon Moe"]


def test_a_this_post_was_written_by_line_names_its_first_person() -> None:
    line = ('<p><em>This post was written by <a href="/doctors/jane-roe">Jane Roe, MD</a>, cardiologist, '
            'Harbour General Hospital.</em></p>')
    article = extract_article(page(f"<article>{line}{BODY}</article>"), URL)
    assert article is not None and article.authors == ["Jane Roe"]


def test_the_name_that_opens_an_author_card_is_the_byline() -> None:
    bio = "Jane writes about harbours, ferries and the people who keep them running. " * 3
    for card in (f'<div class="blog-author"><img src="/jane.jpg" alt=""><div><h4>Jane Roe</h4><p>{bio}</p></div></div>',
                 f'<div class="post-author-box"><p>About the author</p><p><b>Jane Roe</b></p><p>{bio}</p></div>',
                 f'<div class="author-meta"><p><strong>Jane Roe:</strong> {bio}</p></div>'):
        article = extract_article(page(f"<article>{BODY}{card}</article>"), URL)
        assert article is not None and article.authors == ["Jane Roe"], card
    # a commenter's card and a card that opens with a sentence name no one
    for card in (f'<div class="comment"><div class="comment-author"><b>Jon Moe</b><p>{bio}</p></div></div>',
                 f'<div class="author-box"><p>{bio}</p><p><b>Jane Roe</b></p></div>'):
        article = extract_article(page(f"<article>{BODY}{card}</article>"), URL)
        assert article is not None and article.authors == [], card


def test_a_credits_list_in_the_author_meta_is_no_byline() -> None:
    head = '<meta name="author" content="content: Harbour Herald, design: Jon Moe, code: Ann Lee">'
    byline = '<div class="byline">Jane Roe</div>'
    article = extract_article(page(f"<article>{byline}{BODY}</article>", head), URL)
    assert article is not None and article.authors == ["Jane Roe"]


def test_the_post_author_a_wordpress_tag_manager_plugin_declares() -> None:
    script = ('<script>var dataLayer_content = {"pagePostType":"post","pagePostAuthor":"Jane Roe"};'
              "dataLayer.push(dataLayer_content);</script>")
    article = extract_article(page(f"<article>{BODY}</article>", script), URL)
    assert article is not None and article.authors == ["Jane Roe"]


def test_a_by_line_with_a_long_role_names_its_first_person() -> None:
    meta = ('<div class="node-meta"><time datetime="2025-03-04">03/04/2025</time> by Jane Roe, Candidate '
            'Representative to the Harbour Liaison Committee</div>')
    article = extract_article(page(f"<article>{meta}{BODY}</article>"), URL)
    assert article is not None and article.authors == ["Jane Roe"]


def test_a_placeholder_or_a_profile_link_label_is_cleaned() -> None:
    assert clean_authors(["undefined"]) == []
    assert clean_authors(["Null"]) == []
    assert clean_one("View all posts by Jane Roe") == "Jane Roe"
    assert clean_one("More articles by Jane Roe") == "Jane Roe"


def test_a_written_by_label_with_the_name_in_the_next_element() -> None:
    for line in ('<div class="meta"><span>Written by</span><div class="row"><span>Jane Roe</span></div></div>',
                 '<div class="meta">Posted by <div class="row"><strong>Jane Roe</strong></div></div>'):
        article = extract_article(page(f"<article>{line}{BODY}</article>"), URL)
        assert article is not None and article.authors == ["Jane Roe"], line
