"""Play a scenario and score the alerts it should raise.

    python -m scripts.run_scenario configs/scenarios/plaza_buildup.yaml --out out/plaza
    python -m scripts.run_scenario SCENARIO --broker localhost:1883 --speed 10 \
        --central http://localhost:8080 --username demo --password ...
    python -m scripts.run_scenario SCENARIO --alerts alerts.json --t0 EPOCH --speed 10

Always: builds the scenario and prints its expected alerts (with scripted crossing times) and each
zone's peak density. `--out` writes the playable stream (JSONL), central's site/zones config section
and the expected alerts. `--broker` replays the stream, re-timed to the wall clock, through a broker.
`--central` then reads central's alerts over its HTTP API (docs/api.md) and scores them; `--alerts`
scores a saved `/api/alerts` answer instead. Scores: detection probability, false alarm ratio and
median lead time; the exit status is 1 when they miss the targets (POD >= 0.9, FAR <= 0.2, and for
build-ups a median lead >= 5 minutes).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

import yaml

from central.playback.builders import BuiltScenario, build, peak_density
from central.playback.cli import default_data_dir
from central.playback.mqtt import MqttError, MqttPublisher
from central.playback.records import write_records
from central.playback.replay import SystemClock, replay
from central.playback.scenario import ScenarioError, load
from central.playback.scorer import RaisedAlert, Score, score

MIN_POD, MAX_FAR, MIN_LEAD_S = 0.9, 0.2, 300.0


def describe(built: BuiltScenario) -> None:
    sc = built.scenario
    print(
        f"scenario {sc.name} ({sc.kind}): {sc.duration_s / 60:.0f} min, {len(sc.zones)} zones, {len(sc.patrols)} patrols"
    )
    for z in sc.zones:
        print(
            f"  zone {z.id}: area {sc.area_m2(z):.0f} m2, warning {z.thresholds.warning}/m2, "
            f"peak 1-min density {peak_density(built, z.id):.2f}/m2"
        )
    for e in built.expected:
        print(
            f"  expect {e.kind} {e.level} alert in {e.zone} between {e.earliest_s / 60:.1f} and {e.latest_s / 60:.1f} min"
            f" (crossing at {e.crossing_s / 60:.1f} min)"
        )
    if not built.expected:
        print("  expect no alert")


def write_out(built: BuiltScenario, out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    n = write_records(out / "stream.jsonl", built.records())
    (out / "central_zones.yaml").write_text(
        yaml.safe_dump(built.scenario.central_site_config(), sort_keys=False), encoding="utf-8"
    )
    (out / "expected.json").write_text(json.dumps([asdict(e) for e in built.expected], indent=1), encoding="utf-8")
    print(f"wrote {out}/stream.jsonl ({n} messages), central_zones.yaml, expected.json")


def fetch_alerts(url: str, username: str, password: str) -> list[dict[str, Any]]:
    import httpx

    with httpx.Client(base_url=url, timeout=10.0) as client:
        r = client.post("/api/login", json={"username": username, "password": password})
        r.raise_for_status()
        token = r.json()["token"]
        r = client.get("/api/alerts", params={"state": "all"}, headers={"Authorization": f"Bearer {token}"})
        r.raise_for_status()
        alerts = r.json()
    if not isinstance(alerts, list):
        raise ValueError(f"{url}/api/alerts did not answer a list")
    return alerts


def report(built: BuiltScenario, alerts: list[dict[str, Any]], t0: float, speed: float) -> Score:
    zones = {z.id for z in built.scenario.zones}
    raised = [RaisedAlert.from_api(a, t0=t0, speed=speed) for a in alerts if a.get("zone") in zones]
    s = score(built.expected, raised)
    print(f"score {built.scenario.name}: {s.summary()}")
    for c in s.leads:
        print(f"  {c.zone} {c.level}: first alert {c.first_alert_s / 60:.1f} min, lead {c.lead_s / 60:.1f} min")
    for m in s.missed:
        print(f"  MISSED {m.kind} {m.level} in {m.zone} ({m.earliest_s / 60:.1f}-{m.latest_s / 60:.1f} min)")
    for u in s.unmatched:
        print(f"  FALSE ALARM {u.kind} {u.level} in {u.zone} at {u.opened_s / 60:.1f} min")
    return s


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m scripts.run_scenario", description="Play and score a scenario.")
    ap.add_argument("scenario", help="scenario YAML (configs/scenarios/)")
    ap.add_argument("--data-dir", default=str(default_data_dir()), help="shared data for real-data scenarios")
    ap.add_argument("--out", help="write stream.jsonl, central_zones.yaml and expected.json here")
    ap.add_argument("--broker", help="HOST:PORT to replay through")
    ap.add_argument("--speed", type=float, default=1.0, help="time acceleration of the replay")
    ap.add_argument("--central", help="central's base URL, to read and score its alerts after the replay")
    ap.add_argument("--username", default=os.environ.get("CROWD_USERNAME", "admin"))
    ap.add_argument("--password", default=os.environ.get("CROWD_PASSWORD", ""))
    ap.add_argument("--settle", type=float, default=5.0, help="seconds to wait after the replay before scoring")
    ap.add_argument("--alerts", help="score this saved /api/alerts JSON instead of asking central")
    ap.add_argument("--t0", type=float, help="with --alerts: wall time the replay started")
    args = ap.parse_args(argv)
    if args.speed <= 0:
        ap.error("--speed must be > 0")
    path = Path(args.scenario)
    try:
        built = build(load(path), base_dir=path.parent, data_dir=Path(args.data_dir), start_epoch=time.time())
    except ScenarioError as err:
        print(err, file=sys.stderr)
        return 2
    describe(built)
    if args.out:
        write_out(built, Path(args.out))
    t0 = built.start_epoch
    if args.broker:
        host, _, port = args.broker.rpartition(":")
        try:
            with MqttPublisher(host or "localhost", int(port)) as pub:
                t0 = time.time()
                stats = replay(built.records(), pub, SystemClock(), speed=args.speed, retime="wall")
        except (MqttError, ValueError) as err:
            print(err, file=sys.stderr)
            return 2
        except KeyboardInterrupt:
            print("stopped", file=sys.stderr)
            return 130
        print(f"replayed {stats.sent} messages in {stats.finished_at - stats.started_at:.1f} s (x{args.speed:g})")
        time.sleep(args.settle)
    alerts: list[dict[str, Any]] | None = None
    if args.alerts:
        alerts = json.loads(Path(args.alerts).read_text(encoding="utf-8"))
        t0 = args.t0 if args.t0 is not None else t0
    elif args.central:
        alerts = fetch_alerts(args.central, args.username, args.password)
    if alerts is None:
        return 0
    s = report(built, alerts, t0, args.speed)
    min_lead = MIN_LEAD_S if built.scenario.kind == "buildup" else None
    return 0 if s.passes(min_pod=MIN_POD, max_far=MAX_FAR, min_median_lead_s=min_lead) else 1


if __name__ == "__main__":
    raise SystemExit(main())
