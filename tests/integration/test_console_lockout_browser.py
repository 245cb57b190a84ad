"""Login throttling in real Chromium against real central (central/login_throttle.py): a wrong-password
storm for `operator` from one client ends in the login form saying how long to wait, while the real
operator at another client signs in and gets the console.

The two clients are two browser contexts that central must tell apart, in the two ways a deployment has:

- `direct`: central sees the TCP peer (`http.trusted_proxies` empty, the default). The storm's context
  reaches central through a small TCP relay whose connections leave from 127.0.0.2 (loopback too: to
  central, another machine); Chromium cannot choose its source address itself. The operator's connects
  from 127.0.0.1.
- `proxy`: central behind a reverse proxy it trusts (`trusted_proxies: [127.0.0.1]`); each context sends
  the X-Forwarded-For line that proxy would add, naming its own client address.

The HTTP-level storm (Retry-After doubling, logs) is tests/integration/test_central_api.py.
"""

from __future__ import annotations

import re
import socket
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.integration.test_console_browser import browser, central_config  # noqa: F401 (fixture)
from tests.support.console import CentralProcess, ConsoleUser
from tests.support.mosquitto import MosquittoBroker

pytestmark = [pytest.mark.integration, pytest.mark.slow, pytest.mark.timeout(300)]

playwright_api = pytest.importorskip("playwright.sync_api")

OPERATOR = ConsoleUser("operator", "operator", "operator-pass-1", "CROWD_TEST_LOCKOUT_OPERATOR_PASSWORD")
FREE_FAILURES = 3
FIRST_WAIT_S = 30  # long enough that no attempt in this test outlives the back-off
STORM_ADDRESS = "127.0.0.2"
STORM_FORWARDED_FOR = "203.0.113.7"  # documentation addresses (RFC 5737): "somewhere on the internet"
OPERATOR_FORWARDED_FOR = "203.0.113.8"


class Relay:
    """Listens on 127.0.0.1 and passes every connection on to `target`, connecting from `source_ip`."""

    def __init__(self, target: tuple[str, int], source_ip: str) -> None:
        self.target = target
        self.source_ip = source_ip
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.listener.settimeout(0.2)
        self.url = f"http://127.0.0.1:{self.listener.getsockname()[1]}"
        self.peers_seen: set[str] = set()  # the source address of each connection made to `target`
        self._sockets: list[socket.socket] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._accept, name="relay", daemon=True)
        self._thread.start()

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                down, _ = self.listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            up = socket.create_connection(self.target, timeout=10, source_address=(self.source_ip, 0))
            up.settimeout(None)
            self.peers_seen.add(up.getsockname()[0])
            self._sockets += [down, up]
            for a, b in ((down, up), (up, down)):
                threading.Thread(target=self._pump, args=(a, b), daemon=True).start()

    @staticmethod
    def _pump(src: socket.socket, dst: socket.socket) -> None:
        try:
            while data := src.recv(65536):
                dst.sendall(data)
            dst.shutdown(socket.SHUT_WR)
        except OSError:
            pass  # the other side closed: the relay's job for this pair is done

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        self.listener.close()
        for s in self._sockets:
            s.close()


class PageErrors:
    """Uncaught exceptions and console errors, less the browser's own line for each refused login."""

    EXPECTED = re.compile(r"Failed to load resource: the server responded with a status of (401|429)")

    def __init__(self) -> None:
        self.errors: list[str] = []

    def watch(self, page: Any) -> None:
        def on_console(message: Any) -> None:
            if message.type == "error" and not self.EXPECTED.search(message.text):
                self.errors.append(f"console: {message.text}")

        page.on("console", on_console)
        page.on("pageerror", lambda error: self.errors.append(f"page error: {error}"))


@pytest.fixture(params=["direct", "proxy"])
def setup(request: pytest.FixtureRequest, broker: MosquittoBroker, tmp_path: Path) -> Iterator[dict[str, Any]]:
    """Central, and for each of the two clients: the URL it opens and the headers its proxy would add."""
    config = central_config(broker, tmp_path)
    config["users"] = [{"username": OPERATOR.username, "role": OPERATOR.role, "password_env": OPERATOR.env}]
    config["http"]["login_throttle"] = {"free_failures": FREE_FAILURES, "backoff_base_s": FIRST_WAIT_S}
    if request.param == "proxy":
        config["http"]["trusted_proxies"] = ["127.0.0.1"]
    central = CentralProcess(tmp_path / "central", config, [OPERATOR], {"CROWD_TEST_TOKEN_SECRET": "lockout-" * 4})
    central.start()
    relay = Relay(("127.0.0.1", central.port), STORM_ADDRESS) if request.param == "direct" else None
    try:
        if relay is not None:
            yield {"central": central, "relay": relay, "storm": (relay.url, {}), "operator": (central.url, {})}
        else:
            yield {
                "central": central,
                "relay": None,
                "storm": (central.url, {"X-Forwarded-For": STORM_FORWARDED_FOR}),
                "operator": (central.url, {"X-Forwarded-For": OPERATOR_FORWARDED_FOR}),
            }
    finally:
        if relay is not None:
            relay.close()
        central.stop()


def open_login(browser: Any, url: str, headers: dict[str, str], errors: PageErrors) -> Any:  # noqa: F811
    context = browser.new_context(viewport={"width": 1366, "height": 768}, extra_http_headers=headers)
    page = context.new_page()
    errors.watch(page)
    page.goto(url + "/")
    page.wait_for_selector("#login:not([hidden])")
    return page


def try_password(page: Any, password: str) -> Any:
    """Submit the login form; the server's response to it."""
    page.fill("#login-user", OPERATOR.username)
    page.fill("#login-pass", password)
    with page.expect_response(lambda r: r.url.endswith("/api/login")) as response:
        page.click("#login-submit")
    return response.value


def login_error(page: Any) -> str:
    """The form's message once the page has shown one for the last attempt."""
    page.wait_for_function("() => document.getElementById('login-error').textContent.trim() !== ''")
    return str(page.locator("#login-error").text_content()).strip()


def test_a_wrong_password_storm_shows_the_wait_while_the_operator_elsewhere_signs_in(
    setup: dict[str, Any],
    browser: Any,  # noqa: F811
) -> None:
    expect = playwright_api.expect
    errors = PageErrors()
    storm = open_login(browser, *setup["storm"], errors)

    statuses = []
    for i in range(FREE_FAILURES + 1):
        response = try_password(storm, f"guess-{i}")
        statuses.append(response.status)
        if response.status == 401:
            assert login_error(storm) == "Wrong user name or password."
    assert statuses == [401] * FREE_FAILURES + [429]

    # The form says how long to wait, in seconds, as central said it (Retry-After), not a guess.
    message = login_error(storm)
    match = re.search(r"try again in (\d+) s", message)
    assert match, f"no wait in the login form's message: {message!r}"
    assert int(match.group(1)) == int(response.headers["retry-after"])
    assert 0 < int(match.group(1)) <= FIRST_WAIT_S
    expect(storm.locator("#app")).to_be_hidden()

    # While it waits, even the right password from the storm's client gets the same answer.
    assert try_password(storm, OPERATOR.password).status == 429
    assert re.search(r"try again in \d+ s", login_error(storm))
    expect(storm.locator("#app")).to_be_hidden()

    # The operator at another client signs in at once and gets the live console.
    console = open_login(browser, *setup["operator"], errors)
    assert try_password(console, OPERATOR.password).status == 200
    console.wait_for_selector("#app:not([hidden])")
    console.wait_for_selector("body[data-conn='live']", timeout=15000)
    expect(console.locator("#who")).to_contain_text(OPERATOR.username)
    expect(console.locator("#login")).to_be_hidden()

    if setup["relay"] is not None:  # the storm did come from another address than the operator's
        assert setup["relay"].peers_seen == {STORM_ADDRESS}
    assert errors.errors == []
