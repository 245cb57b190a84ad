"""The wire contract: every message on the MQTT broker, its topics, and the crowd science both sides share.

Pure pydantic and the standard library, so that any subscriber can use it without the edge's OpenCV or
central's database. `edge/` and `central/` both import it and never each other (`scripts/check_imports.py`,
run by `make lint` and `make test`, enforces that). docs/mqtt.md is generated from it
(`python -m scripts.gen_mqtt_docs`). Bump the `/N` in a `schema` value on any incompatible change.

- `contract.wire`: the message base, `encode`/`decode`, `json_schema`.
- `contract.edge_messages`: what an edge publishes (metrics, status, stats) and receives (commands).
- `contract.central_messages`: what central publishes (alerts, forecasts, dead letters).
- `contract.patrol_messages`: patrol positions (crowd's own and OwnTracks').
- `contract.topics`: topic builders and `parse_topic`.
- `contract.pedestrian`: Fruin's levels of service and Weidmann's walking speed.
- `contract.examples`: one example of each message, for the docs, tests and benchmarks.
- `contract.docs`: docs/mqtt.md's topic entries and renderer.
"""
