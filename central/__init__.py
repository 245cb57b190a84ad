"""The central service: ingest edge metrics, store, forecast, alert, fuse patrol positions, serve the console.

Each module's first docstring line names its stage. A metric goes through: ingest (ingest.py) -> store
(store/, schema.py) -> evaluator loop (evaluator.py, commands.py, zone_state.py): cursor and lanes
(lanes.py), rules (rule_stage.py, rules.py, alerts.py), forecast lane (forecast_lane.py, forecasts.py),
camera liveness (liveness.py), patrol fusion (patrol_fusion.py, patrols.py) -> publication
(publication.py, events.py) and read model (read_model.py, views.py) -> API (api.py, auth.py).
MQTT is behind the communicator (mqtt/); service.py, cli.py, config.py, clock.py and obs.py are the process;
playback/ is the scenario and replay tooling.
"""
