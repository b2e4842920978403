"""The API documentation works without internet: every app's /docs (Swagger
UI) and /redoc pages load their scripts, styles and icon from the app itself,
from assets installed with the pinned dependencies, never from a CDN."""

from __future__ import annotations

from html.parser import HTMLParser

import pytest
from fastapi.testclient import TestClient

from tests.test_input_rules import apps


class _Assets(HTMLParser):
    """Every URL a page loads by itself (scripts, styles, icons, images)."""

    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        wanted = {"script": "src", "link": "href", "img": "src"}.get(tag)
        for name, value in attrs:
            if name == wanted and value:
                self.urls.append(value)


def _page_assets(html: str) -> list[str]:
    parser = _Assets()
    parser.feed(html)
    return parser.urls


@pytest.mark.parametrize("name", ["gateway", "participants", "matching", "sessions", "evaluation", "notifications"])
@pytest.mark.parametrize("page", ["/docs", "/redoc"])
def test_documentation_pages_load_nothing_from_another_host(name: str, page: str) -> None:
    client = TestClient(apps()[name])
    r = client.get(page)
    assert r.status_code == 200, r.text
    urls = _page_assets(r.text)
    assert any(u.endswith(".js") for u in urls), urls  # the page does load its viewer
    for url in urls:
        assert url.startswith("/"), f"{name}{page} loads {url} from another host"
        asset = client.get(url)
        assert asset.status_code == 200, url
        assert len(asset.content) > 1000, url
    assert "fonts.googleapis" not in r.text
    assert "cdn." not in r.text


def test_the_swagger_page_points_at_the_app_s_own_document() -> None:
    html = TestClient(apps()["gateway"]).get("/docs").text
    assert "'/openapi.json'" in html or '"/openapi.json"' in html
