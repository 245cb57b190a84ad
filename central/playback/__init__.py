"""Playback testing: scenarios, metric-stream generators, MQTT record/replay, patrol simulation, scoring.

Public surface:
- `scenario.load` / `scenario.Scenario`: the scenario format (YAML, pydantic, unknown keys rejected).
- `builders.build`: a scenario -> metric messages, patrol reports and resolved expected alerts.
- `replay.replay`: publish records with original timing x speed; `mqtt.MqttPublisher`, `mqtt.MqttRecorder`, `mqtt.record`.
- `scorer.score`: raised vs expected alerts -> detection probability, false alarm ratio, lead times.
- `geo.LocalFrame`: local metres <-> WGS-84.
"""
