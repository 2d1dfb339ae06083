"""The web page shows each text result's snippet under its thumbnail, matched terms as <mark> (built from
text nodes, never HTML), and keeps the search mode in the URL. A browser against a live server."""

from __future__ import annotations

from typing import Any

import pytest

pytest.importorskip("playwright.sync_api", reason="the playwright package is not installed")

from test_web_page import TOKEN, browser, page, server, wait_js  # noqa: E402, F401 - the module's fixtures

pytestmark = pytest.mark.e2e

SNIPPETS = """() => [...document.querySelectorAll('#results .card')].map((card) => {
  const snippet = card.querySelector('.snippet');
  return snippet && {text: snippet.textContent, marks: [...snippet.querySelectorAll('mark')].map((m) => m.textContent),
                     elements: [...snippet.children].map((c) => c.tagName)};
})"""


def test_text_results_show_marked_snippets(page: Any, server: str) -> None:  # noqa: F811
    page.goto(f"{server}/?token={TOKEN}&q=revenue+by+region&k=5&mode=text")
    wait_js(page, "document.querySelectorAll('#results .card .snippet').length > 0")
    snippets = page.evaluate(SNIPPETS)
    assert snippets[0] is not None and len(snippets[0]["text"]) <= 1000
    assert {m.lower() for m in snippets[0]["marks"]} >= {"revenue", "region"}
    assert all(set(s["elements"]) <= {"MARK"} for s in snippets if s)  # only <mark>, no other markup
    assert all("**" not in s["text"] for s in snippets if s)
    assert "mode=text" in page.url
    title = page.locator("#results .card .score").first.get_attribute("title")
    assert title == "BM25 score"
