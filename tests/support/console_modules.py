"""The console's static files served as they are (no central) and opened in real Chromium, for the tests of
its pure ES modules: the page shows its login (no session, no request) and the app is unhidden for them."""

from __future__ import annotations

import functools
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from tests.support.console import CHROMIUM_ARGS, REPO, find_chromium

__all__ = ["WEB", "static_console_page"]

WEB = REPO / "central" / "web"


class _Quiet(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


@contextmanager
def static_console_page(timezone_id: str | None = None, web: Path = WEB) -> Iterator[Any]:
    """A 1366x768 tab on the console's index.html (in the browser time zone `timezone_id`, default the
    machine's); on leaving, asserts the page logged no error."""
    playwright_api = pytest.importorskip("playwright.sync_api")
    executable = find_chromium()
    if executable is None:
        pytest.skip("chromium is not installed (scripts/setup.sh installs it)")
    server = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_Quiet, directory=str(web)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    errors: list[str] = []
    try:
        with playwright_api.sync_playwright() as p:
            browser = p.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
            context = browser.new_context(viewport={"width": 1366, "height": 768}, timezone_id=timezone_id)
            tab = context.new_page()
            tab.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
            tab.on("pageerror", lambda e: errors.append(str(e)))
            tab.goto(f"http://127.0.0.1:{server.server_address[1]}/index.html")
            # Without a session cookie the page shows the login and makes no request.
            tab.wait_for_selector("#login:not([hidden])")
            tab.evaluate("document.getElementById('app').hidden = false")
            yield tab
            browser.close()
    finally:
        server.shutdown()
        server.server_close()
    assert errors == []
