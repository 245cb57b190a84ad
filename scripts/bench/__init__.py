"""Benchmarks: one script per figure, each prints its results and writes JSON to out/bench/.

    .venv/bin/python -m scripts.bench.edge_fps        # edge frames/s, ours vs a supervision baseline
    .venv/bin/python -m scripts.bench.central_ingest  # central messages/s into SQLite / PostgreSQL
    .venv/bin/python -m scripts.bench.forecast        # zone series updated and forecast per second
    .venv/bin/python -m scripts.bench.latency         # threshold frame -> alert on the API and SSE
    .venv/bin/python -m scripts.bench.memory          # peak RSS: edge on a 1 h stream, central with 1,000 zones
    .venv/bin/python -m scripts.bench.mqtt_publish    # edge QoS 1 messages/s to Mosquitto, ours vs plain paho

See docs/benchmarks.md for the figures measured on the team's 2-core machine and how to reproduce them.
"""
