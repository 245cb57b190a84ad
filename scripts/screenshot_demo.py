"""Screenshots of the console on `make demo`'s site: docs/console-wall.png (1920x1080) and
docs/console-laptop.png (1366x768).

Starts the demo headless (or uses a running one: `--url`), signs in, waits until the forecast alert is on
the page and the market square has filled a little, and saves both pictures. Exits 1, saving nothing,
if the page logs a JavaScript error. Needs Playwright and Chromium (/usr/bin/chromium).

    .venv/bin/python -m scripts.screenshot_demo [--speed 5] [--settle 20] [--out docs]
"""

from __future__ import annotations

import argparse
import os
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from devtools.browser import CHROMIUM, CHROMIUM_ARGS

REPO = Path(__file__).resolve().parents[1]
URL_LINE = re.compile(r"console: (http://127\.0\.0\.1:\d+)/\s+login: (\w+) / (\S+)")
SIZES = {"console-wall.png": (1920, 1080), "console-laptop.png": (1366, 768)}


@dataclass(frozen=True)
class Login:
    url: str
    username: str
    password: str


@contextmanager
def running_demo(speed: float | None, duration_s: float) -> Iterator[Login]:
    """`python -m scripts.demo` in the background until the block ends (then Ctrl-C, as a user would)."""
    work = tempfile.mkdtemp(prefix="screenshot-demo-")
    argv = [sys.executable, "-m", "scripts.demo", "--http-port", "0", "--out", work, "--duration", str(duration_s)]
    if speed is not None:
        argv += ["--speed", repr(speed)]
    proc = subprocess.Popen(
        argv,
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    lines: list[str] = []

    def pump() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            lines.append(line)

    threading.Thread(target=pump, daemon=True).start()
    try:
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            found = next((m for m in map(URL_LINE.search, list(lines)) if m), None)
            if found:
                yield Login(found.group(1), found.group(2), found.group(3))
                return
            if proc.poll() is not None:
                break
            time.sleep(0.3)
        raise SystemExit(f"the demo did not start:\n{''.join(lines)}")
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGINT)
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                proc.kill()


def shoot(login: Login, out: Path, settle_s: float, timeout_s: float) -> list[str]:
    """Saves the pictures; returns the page's JavaScript errors (nothing is saved when there are any)."""
    from playwright.sync_api import sync_playwright

    errors: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page: Any = browser.new_page(viewport={"width": 1920, "height": 1080})
            page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.goto(login.url + "/")
            page.fill("#login-user", login.username)
            page.fill("#login-pass", login.password)
            page.click("#login-submit")
            page.wait_for_selector("body[data-conn='live']", timeout=30000)
            page.wait_for_selector("li[data-kind='forecast']", timeout=timeout_s * 1000)
            # A little more build-up: the forecast band over the warning line, patrols on their way.
            page.wait_for_timeout(settle_s * 1000)
            pictures = {}
            for name, (width, height) in SIZES.items():
                page.set_viewport_size({"width": width, "height": height})
                page.wait_for_timeout(1500)
                pictures[name] = page.screenshot()
            if errors:
                return errors
            out.mkdir(parents=True, exist_ok=True)
            for name, png in pictures.items():
                (out / name).write_bytes(png)
                print(f"saved {out / name}")
        finally:
            browser.close()
    return errors


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m scripts.screenshot_demo", description=__doc__.split("\n")[0])
    ap.add_argument("--out", default=str(REPO / "docs"), help="folder for the pictures (default docs/)")
    ap.add_argument("--speed", type=float, help="the demo's time acceleration (default: the demo's)")
    ap.add_argument("--settle", type=float, default=20.0, help="wall seconds to wait after the forecast alert shows")
    ap.add_argument("--timeout", type=float, default=240.0, help="wall seconds to wait for the forecast alert")
    ap.add_argument("--url", help="a running demo's console instead of starting one (with --user, --password)")
    ap.add_argument("--user", default="operator")
    ap.add_argument("--password", default="demo")
    args = ap.parse_args(argv)
    if not Path(CHROMIUM).exists():
        print(f"{CHROMIUM} is missing (scripts/setup.sh installs it)", file=sys.stderr)
        return 2
    if args.url:
        errors = shoot(Login(args.url.rstrip("/"), args.user, args.password), Path(args.out), args.settle, args.timeout)
    else:
        with running_demo(args.speed, args.timeout + args.settle + 120) as login:
            errors = shoot(login, Path(args.out), args.settle, args.timeout)
    for error in errors:
        print(f"console error: {error}", file=sys.stderr)
    return 1 if errors else 0


if __name__ == "__main__":
    raise SystemExit(main())
