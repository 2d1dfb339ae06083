"""The web page in headless Chromium (Debian's `chromium`, driven by the `playwright` package): token prompt,
search, thumbnails, the page viewer with its match map and the document's metadata, path and page-range filters
in the URL, similar pages, image search, upload, phone layout.

Skipped when chromium or playwright is missing. Saves screenshots (search, page overlay, phone) to a temp
folder, or to $PAGELENS_SCREENSHOTS: the README's come from `PAGELENS_SCREENSHOTS=docs/screenshots`.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
if not Path(CHROMIUM).exists():
    pytest.skip("chromium is not installed (apt-get install -y chromium)", allow_module_level=True)
playwright_sync = pytest.importorskip("playwright.sync_api", reason="the playwright package is not installed")
uvicorn = pytest.importorskip("uvicorn")
httpx = pytest.importorskip("httpx")

import pagelens  # noqa: E402
from conftest import REPORT  # noqa: E402
from fakes import FakeEmbedder  # noqa: E402
from pagelens.samples import SAMPLES  # noqa: E402
from pagelens.server.app import create_app  # noqa: E402

pytestmark = pytest.mark.e2e  # a browser against a live server

# Screenshots go to a temp folder; PAGELENS_SCREENSHOTS=docs/screenshots refreshes the README's ones.
SCREENSHOTS = Path(os.environ.get("PAGELENS_SCREENSHOTS") or tempfile.mkdtemp(prefix="pagelens-shots-"))
TOKEN = "web-token"
REPORT_METADATA = {"year": 2024, "department": "finance"}
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
THUMBS_LOADED = """(n) => {
  const imgs = [...document.querySelectorAll('#results .card img')];
  return imgs.length >= n && imgs.slice(0, n).every((i) => i.src.startsWith('blob:') && i.complete && i.naturalWidth > 0);
}"""


def wait_js(page: Any, expression: str, arg: Any = None, timeout: float = 30.0) -> Any:
    """Poll `expression` (a JS function of `arg`) until it is truthy. Playwright's wait_for_function builds its
    predicate with eval, which the page's Content-Security-Policy forbids; page.evaluate is not affected."""
    source = expression if expression.lstrip().startswith("(") else f"() => ({expression})"
    deadline = time.monotonic() + timeout
    while True:
        value = page.evaluate(source, arg)
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for: {expression}")
        time.sleep(0.1)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, samples: Path) -> Iterator[str]:
    folder = tmp_path_factory.mktemp("web")
    docs = folder / "docs"
    docs.mkdir()
    for name in SAMPLES:  # every sample: 22 pages in 6 documents
        shutil.copy(samples / name, docs / name)
    (docs / f"{REPORT}.json").write_text(json.dumps(REPORT_METADATA))  # a metadata sidecar
    index = pagelens.open(folder / "index", embedder=FakeEmbedder())
    index.add([docs], progress=False)
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    config = uvicorn.Config(create_app(index, token=TOKEN), host="127.0.0.1", port=port, log_level="warning")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    assert server.started, "uvicorn did not start"
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=15)
    index.close()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with playwright_sync.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield browser
        browser.close()


@pytest.fixture()
def page(browser: Any) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1280, "height": 860})
    page = context.new_page()
    page.set_default_timeout(30_000)
    problems: list[str] = []
    page.on("pageerror", lambda exc: problems.append(f"page error: {exc}"))
    page.on(
        "console",
        lambda msg: (
            problems.append(f"console: {msg.text}")
            if msg.type == "error"
            and "401" not in msg.text  # the first, token-less call is refused on purpose
            else None
        ),
    )
    page.problems = problems
    yield page
    context.close()
    assert not problems, problems


def test_search_view_overlay_and_similar(page: Any, server: str) -> None:
    page.goto(f"{server}/")
    page.wait_for_selector("#token-dialog[open]")  # the API said 401: the page asks for the token
    page.fill("#token-input", TOKEN)
    page.click("#token-form button[value=ok]")
    wait_js(
        page, "document.querySelector('#status-line').textContent.includes('22 page(s) in 6 document(s)')"
    )

    page.fill("#q", "late interaction retrieval")
    page.press("#q", "Enter")
    wait_js(page, THUMBS_LOADED, 12)  # the two rows in view, so the screenshot shows them all
    assert page.url.endswith("/?q=late+interaction+retrieval&k=20")
    cards = page.locator("#results .card")
    assert cards.count() == 20
    first = cards.nth(0)
    assert first.locator(".doc").inner_text() in set(SAMPLES)
    assert first.locator(".page").inner_text().startswith("p. ")
    float(first.locator(".score").inner_text())
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "search.png"))

    first.locator(".thumb").click()
    page.wait_for_selector("#viewer[open]")
    wait_js(
        page,
        "document.querySelector('#viewer-image').complete && document.querySelector('#viewer-image').naturalWidth > 0",
    )
    assert (
        page.evaluate(
            "Math.max(document.querySelector('#viewer-image').naturalWidth, document.querySelector('#viewer-image').naturalHeight)"
        )
        == 1400
    )
    assert page.locator("#viewer-overlay").is_hidden()
    page.check("#overlay-toggle")
    page.wait_for_selector("#viewer-overlay", state="visible")
    wait_js(page, "document.querySelector('#viewer-overlay').naturalWidth > 0")
    page.screenshot(path=str(SCREENSHOTS / "page-overlay.png"))

    page.click("#viewer-similar")
    wait_js(page, "location.search.startsWith('?similar=')")
    wait_js(page, "document.querySelector('#results-title').textContent.startsWith('Pages like')")
    wait_js(page, THUMBS_LOADED, 4)
    page.go_back()  # the query is in the URL: back returns to the search
    wait_js(
        page, "document.querySelector('#results-title').textContent.includes('late interaction retrieval')"
    )


CARDS = """() => [...document.querySelectorAll('#results .card')].map((card) => ({
  doc: card.querySelector('.doc').textContent, page: Number(card.querySelector('.page').textContent.slice(3)),
  metadata: Object.fromEntries([...card.querySelectorAll('.metadata div')].map(
    (pair) => [pair.querySelector('dt').textContent, pair.querySelector('dd').textContent])),
}))"""
RESULTS_TITLE = "document.querySelector('#results-title').textContent"


def test_filters_in_the_url_and_document_metadata(page: Any, server: str) -> None:
    # a shared link with filters: the inputs show them, the results obey them
    page.goto(f"{server}/?token={TOKEN}&q=revenue&k=20&path={REPORT}&pages=2-4")
    wait_js(page, THUMBS_LOADED, 3)
    assert page.input_value("#filter-path") == REPORT and page.input_value("#filter-pages") == "2-4"
    cards = page.evaluate(CARDS)
    assert sorted((c["doc"], c["page"]) for c in cards) == [(REPORT, 2), (REPORT, 3), (REPORT, 4)]
    assert cards[0]["metadata"] == {"year": "2024", "department": "finance"}  # the result's metadata
    assert "pages 2-4" in page.evaluate(RESULTS_TITLE)

    # the viewer shows the document's metadata (from the document route)
    page.locator("#results .card .thumb").first.click()
    page.wait_for_selector("#viewer-document", state="visible")
    assert page.locator("#viewer-document-pages").inner_text() == f"{REPORT}: 6 page(s)"
    assert page.locator("#viewer-metadata").inner_text().split() == ["year", "2024", "department", "finance"]
    wait_js(
        page,
        "document.querySelector('#viewer-image').complete && document.querySelector('#viewer-image').naturalWidth > 0",
    )
    page.screenshot(path=str(SCREENSHOTS / "filters-metadata.png"))
    page.click("#viewer-close")

    # typed filters go into the URL, and Back brings the previous ones back
    page.fill("#filter-path", "*paper*")
    page.fill("#filter-pages", "1")
    page.press("#filter-pages", "Enter")
    url_filters = "(() => { const p = new URLSearchParams(location.search); return [p.get('path'), p.get('pages')]; })()"
    wait_js(page, f"JSON.stringify({url_filters}) === JSON.stringify(['*paper*', '1'])")
    wait_js(page, f"{RESULTS_TITLE}.includes('in *paper*, pages 1')")
    wait_js(page, THUMBS_LOADED, 1)
    assert [(c["doc"], c["page"]) for c in page.evaluate(CARDS)] == [("retrieval_paper.pdf", 1)]
    assert page.evaluate(CARDS)[0]["metadata"] == {}  # no sidecar: no metadata chips
    page.go_back()
    wait_js(page, "document.querySelector('#filter-pages').value === '2-4'")
    assert page.input_value("#filter-path") == REPORT
    wait_js(page, f"{RESULTS_TITLE}.endsWith('(in {REPORT}, pages 2-4)')")
    wait_js(page, THUMBS_LOADED, 3)

    # "Similar" keeps the filters; a backwards range is refused with the API's message
    first_id = page.locator("#results .card").first.get_attribute("data-page-id")
    page.locator("#results .card .similar").first.click()
    wait_js(page, f"{RESULTS_TITLE}.startsWith('Pages like')")
    assert f"similar={first_id}" in page.url and "pages=2-4" in page.url
    wait_js(page, THUMBS_LOADED, 2)
    assert {(c["doc"], c["page"]) for c in page.evaluate(CARDS)} <= {(REPORT, 2), (REPORT, 3), (REPORT, 4)}
    page.fill("#q", "revenue")
    page.fill("#filter-pages", "4-2")
    page.press("#q", "Enter")
    wait_js(page, "document.querySelector('#message').classList.contains('error')")
    assert page.locator("#message").inner_text().startswith("pages: ")
    assert "4-2" in page.locator("#message").inner_text()
    page.problems[:] = [
        p for p in page.problems if "status of 400" not in p
    ]  # the refused request's log line

    # "Clear filters", then "Only this document" from the viewer
    page.click("#filter-clear")
    wait_js(page, "!location.search.includes('pages=') && !location.search.includes('path=')")
    wait_js(page, f"{RESULTS_TITLE} === 'Results for “revenue”'")
    wait_js(page, THUMBS_LOADED, 4)
    assert len({c["doc"] for c in page.evaluate(CARDS)}) > 1
    page.locator("#results .card", has_text="retrieval_paper.pdf").first.locator(".thumb").click()
    page.wait_for_selector("#viewer[open]")
    page.click("#viewer-only-document")
    wait_js(page, "location.search.includes('path=')")
    wait_js(page, f"{RESULTS_TITLE}.endsWith('/retrieval_paper.pdf)')")
    wait_js(page, THUMBS_LOADED, 4)
    assert {c["doc"] for c in page.evaluate(CARDS)} == {"retrieval_paper.pdf"}
    assert page.input_value("#filter-path").endswith("/retrieval_paper.pdf")


def test_shared_link_with_token_and_query(page: Any, server: str) -> None:
    page.goto(f"{server}/?token={TOKEN}&q=revenue&k=10")
    wait_js(page, THUMBS_LOADED, 4)
    assert (
        "token" not in page.url and "q=revenue" in page.url
    )  # the token is kept, not left in the address bar
    assert page.evaluate("sessionStorage.getItem('pagelens.token')") == TOKEN
    assert page.locator("#results .card").count() == 10
    assert page.locator("#token-dialog[open]").count() == 0
    first_id = page.locator("#results .card").first.get_attribute("data-page-id")
    page.locator("#results .card .similar").first.click()  # "Similar" on a result card
    wait_js(page, "document.querySelector('#results-title').textContent.startsWith('Pages like')")
    assert f"similar={first_id}" in page.url
    assert first_id not in page.locator("#results .card").evaluate_all(
        "cards => cards.map(c => c.dataset.pageId)"
    )


def test_a_wrong_token_is_asked_again(page: Any, server: str) -> None:
    page.goto(f"{server}/?token=wrong")
    page.wait_for_selector("#token-dialog[open]")
    assert page.locator("#token-error").is_visible()


def test_image_search_by_drop_and_paste(page: Any, server: str, tmp_path: Path) -> None:
    page.goto(f"{server}/?token={TOKEN}&q=revenue&k=10")
    wait_js(page, THUMBS_LOADED, 1)
    page_id = page.locator("#results .card").first.get_attribute("data-page-id")
    thumbnail = httpx.get(
        f"{server}/api/pages/{page_id}/thumbnail", headers={"Authorization": f"Bearer {TOKEN}"}
    )
    picture = list(thumbnail.content)
    make_event = """([bytes, kind]) => {
      const file = new File([new Uint8Array(bytes)], 'query.jpg', {type: 'image/jpeg'});
      const data = new DataTransfer();
      data.items.add(file);
      if (kind === 'drop') {
        document.querySelector('#query-box').dispatchEvent(new DragEvent('drop', {dataTransfer: data, bubbles: true, cancelable: true}));
      } else {
        document.querySelector('#q').dispatchEvent(new ClipboardEvent('paste', {clipboardData: data, bubbles: true, cancelable: true}));
      }
    }"""
    page.evaluate(make_event, [picture, "drop"])
    wait_js(page, "document.querySelector('#results-title').textContent === 'Pages that look like query.jpg'")
    wait_js(page, THUMBS_LOADED, 4)
    assert page.locator("#image-chip").is_visible()
    page.click("#image-chip-clear")
    assert page.locator("#q").is_visible()
    page.fill("#q", "")
    page.evaluate(make_event, [picture, "paste"])
    wait_js(page, "document.querySelector('#results-title').textContent === 'Pages that look like query.jpg'")


def test_phone_layout(browser: Any, server: str) -> None:
    context = browser.new_context(
        viewport={"width": 390, "height": 844}, device_scale_factor=2, is_mobile=True, has_touch=True
    )
    page = context.new_page()
    try:
        page.goto(f"{server}/?token={TOKEN}&q=late+interaction+retrieval&k=10")
        wait_js(page, THUMBS_LOADED, 4)
        columns = page.evaluate(
            "getComputedStyle(document.querySelector('#results')).gridTemplateColumns.split(' ').length"
        )
        assert columns == 2
        assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
        page.screenshot(path=str(SCREENSHOTS / "phone.png"))
        page.locator("#results .card .thumb").first.tap()
        page.wait_for_selector("#viewer[open]")
        width = page.evaluate("document.querySelector('#viewer').getBoundingClientRect().width")
        assert width == pytest.approx(390, abs=2)  # the viewer takes the whole phone screen
    finally:
        context.close()


def test_upload_with_progress_then_browse_and_remove(
    page: Any, server: str, tmp_path: Path, samples: Path
) -> None:
    page.goto(f"{server}/?token={TOKEN}")
    wait_js(page, "document.querySelector('#status-line').textContent.includes('page(s)')")
    page.click("#upload-button")
    good = tmp_path / "Quarterly report.pdf"
    good.write_bytes((samples / REPORT).read_bytes() + b"\n% new bytes\n")
    bad = tmp_path / "broken.pdf"
    bad.write_bytes(b"%PDF-1.4 not really")
    page.set_input_files("#upload-file", [str(good), str(bad)])
    page.wait_for_selector("#upload-log li.ok >> text=Indexed Quarterly report.pdf")
    assert "broken.pdf: not a readable PDF" in page.locator("#upload-log").inner_text()
    wait_js(
        page, "document.querySelector('#status-line').textContent.includes('28 page(s) in 7 document(s)')"
    )

    page.click("#browse-button")
    row = page.locator("#documents li", has_text="Quarterly report.pdf")
    row.locator("button.link").click()
    wait_js(page, THUMBS_LOADED, 6)
    assert page.locator("#results .card").count() == 6
    page.click("#browse-button")
    page.once("dialog", lambda dialog: dialog.accept())
    page.locator("#documents li", has_text="Quarterly report.pdf").locator("button.danger").click()
    wait_js(
        page, "document.querySelector('#status-line').textContent.includes('22 page(s) in 6 document(s)')"
    )
