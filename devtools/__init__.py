"""Developer tools shared by the tests, the benchmarks and the demo scripts: a local Mosquitto broker and free
ports (`devtools.broker`), Chromium and central as a child process for the console (`devtools.browser`).

Not shipped in the images; `scripts/` and `tests/` both import from here, and `scripts/` never imports `tests/`.
"""
