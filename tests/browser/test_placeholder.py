"""The gallery's placeholder and format choice (web/placeholder.js), in headless Chromium.

No stack needed: the script runs on a page of its own, under a Content-Security-Policy as strict
as the gallery's (no data: images), with thumbnail URLs on a local socket that accepts and never
answers, so "while the thumbnail loads" lasts as long as the test looks.
"""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page

pytestmark = pytest.mark.browser

SCRIPT = (Path(__file__).resolve().parents[2] / "web" / "placeholder.js").read_text()
HASH = "LEHV6nWB2yk8pyo0adR*.7kCMdnj"  # blurha.sh's example; decodes to (135, 164, 177) top-left


@pytest.fixture
def silent_port() -> Iterator[int]:
    """A loopback port that accepts connections and never answers them."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(16)
        yield listener.getsockname()[1]


def _page(browser: Browser, port: int) -> Page:
    page = browser.new_page()
    policy = f"default-src 'none'; script-src 'unsafe-inline'; img-src http://127.0.0.1:{port}"
    page.set_content(
        f'<html><head><meta http-equiv="Content-Security-Policy" content="{policy}"></head>'
        '<body><div id="card"><img id="thumb" sizes="16rem"></div></body></html>'
    )
    page.add_script_tag(content=SCRIPT)
    return page


def test_the_blurhash_stands_in_for_a_thumbnail_while_it_loads(
    browser: Browser, silent_port: int
) -> None:
    # given a gallery card whose thumbnail has not arrived yet
    page = _page(browser, silent_port)
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    # when the page shows the asset's BlurHash for it
    page.evaluate(
        """([port, hash]) => { const img = document.getElementById('thumb');
             img.src = `http://127.0.0.1:${port}/thumb.webp`; BlurHash.behind(img, hash); }""",
        [silent_port, HASH],
    )
    # then a canvas painted with the hash's colours is shown, and the image waits hidden
    pixel = page.evaluate(
        "() => Array.from(document.querySelector('canvas.placeholder')"
        ".getContext('2d').getImageData(0, 0, 1, 1).data)"
    )
    assert pixel == [135, 164, 177, 255]
    assert page.evaluate("() => document.getElementById('thumb').style.display") == "none"
    assert errors == []


def test_avif_is_offered_in_a_picture_and_the_main_format_stays_the_fallback(
    browser: Browser, silent_port: int
) -> None:
    # given an asset with WebP and AVIF renditions
    page = _page(browser, silent_port)
    base = f"http://127.0.0.1:{silent_port}"
    thumbnails = [
        {"format": "webp", "size": 256, "width": 256, "url": f"{base}/256.webp"},
        {"format": "avif", "size": 256, "width": 256, "url": f"{base}/256.avif"},
    ]
    # when the card's image is set up
    html = page.evaluate(
        """(thumbnails) => { const img = document.getElementById('thumb');
             const main = Renditions.usable(thumbnails);
             img.src = main[0].url;
             Renditions.offerAvif(img, thumbnails);
             return [main.map((t) => t.format), document.getElementById('card').innerHTML]; }""",
        thumbnails,
    )
    # then the <img> keeps the main format and a <source type="image/avif"> comes first
    formats, card = html
    assert formats == ["webp"]
    assert card.startswith('<picture><source type="image/avif"')
    assert "256.avif 256w" in card
    assert "256.webp" in card
