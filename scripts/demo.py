"""`make demo`: the whole product on localhost, on accelerated time.

Starts a Mosquitto broker, central (on a scaled clock, `--speed` x real time), edge nodes on video, and a
scripted scenario (configs/demo/scenario.yaml) whose market square fills up while three simulated patrols
walk the site and report like the OwnTracks app. Prints the console's URL and the demo login, then the
alerts as they open. Ctrl-C (or `--duration`) stops every child: replay first, then edges, central, broker.

Video: `--source FILE` (with `--edge-config`, default: the PETS config when the shared data is there, else
the rendered clip's); else the PETS 2009 clip when ../shared/data is present; else a clip rendered here
(edge/synthetic_scene.py). PETS has about 6 people in view, never a crowd, so the zone that fills up is the
replayed scenario stream beside the live edges. `--edge-only` keeps the old offline edge demo.
"""

from __future__ import annotations

import argparse
import shutil
import signal
import socket
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

import yaml

from central.clock import ScaledClock
from central.playback.builders import BuiltScenario, build
from central.playback.geo import LocalFrame
from central.playback.mqtt import MqttPublisher
from central.playback.runner import play
from central.playback.scenario import load as load_scenario
from edge.config import load as load_edge
from scripts.stack import Api, Central, StackError, free_port, spawn, start_central, start_mosquitto
from scripts.supervisor import DemoLog, Supervisor

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared" / "data"
DEMO = REPO / "configs" / "demo"
PETS_VIDEO = SHARED / "pets09_s2l1" / "video" / "vtest_PETS09-S2L1_View001_480x360.avi"
DEMO_PASSWORD = "demo"  # localhost only; printed for the newcomer
PASSWORD_ENV = "CROWD_DEMO_PASSWORD"
EDGE_RESTARTS = 3  # a crashed edge comes back this often; the broker or central dying stops the demo


@dataclass(frozen=True)
class EdgePlan:
    """One edge to run: its config, video, and where its ground frame sits on the site (metres east/north)."""

    config: Path
    video: str
    offset_m: tuple[float, float]
    label: str


def rendered_clip(out: Path) -> Path:
    """The project's own clip (people walking onto a plaza, rendered); reused when already there."""
    clip = out / "clip"
    if not (clip / "edge.yaml").exists():
        print("demo: rendering a synthetic clip (no shared data) ...", flush=True)
        import subprocess

        subprocess.run(
            [
                sys.executable,
                "-m",
                "edge.synthetic",
                "--out",
                str(clip),
                "--seconds",
                "90",
                "--fps",
                "8",
                "--peak-people",
                "30",
                "--base-people",
                "4",
            ],
            check=True,
            cwd=REPO,
            stdout=subprocess.DEVNULL,
        )
    return clip / "edge.yaml"


def plan_edges(args: argparse.Namespace, out: Path) -> list[EdgePlan]:
    if args.source:
        if args.edge_config:
            cfg = Path(args.edge_config)
        elif PETS_VIDEO.exists():
            cfg = REPO / "configs" / "pets09_s2l1.yaml"
        else:
            cfg = rendered_clip(out)
        return [EdgePlan(cfg, args.source, (100.0, 40.0), f"your video {args.source}")]
    if PETS_VIDEO.exists() and not args.synthetic:
        return [EdgePlan(REPO / "configs" / "pets09_s2l1.yaml", str(PETS_VIDEO), (100.0, 40.0), "PETS 2009 S2.L1")]
    cfg = rendered_clip(out)
    return [EdgePlan(cfg, str(load_edge(cfg).camera.source), (10.0, 40.0), "rendered clip")]


def edge_zones(plan: EdgePlan, frame: LocalFrame, camera_names: dict[str, str] | None = None) -> list[dict[str, Any]]:
    """Central zones for an edge's ground zones, moved by the plan's offset onto the site's map.

    Each is named for people ("Crossing left · Campus crossing camera"), from its edge zone id and the
    camera's display name in configs/demo/central.yaml; the ids stay in the console's tooltips."""
    cfg = load_edge(plan.config)
    dx, dy = plan.offset_m
    camera = (camera_names or {}).get(cfg.camera.id, cfg.camera.id)
    zones = []
    for z in cfg.zones:
        if z.polygon is None:  # image-only zones have no ground position to put on the map
            continue
        ring = [list(frame.to_lonlat(x + dx, y + dy)) for x, y in z.polygon]
        zones.append(
            {
                "id": f"{cfg.camera.id}-{z.id}",
                "name": f"{z.id.replace('-', ' ').replace('_', ' ').capitalize()} · {camera}",
                "camera": cfg.camera.id,
                "edge_zone": z.id,
                "polygon": [[round(lon, 7), round(lat, 7)] for lon, lat in ring],
            }
        )
    return zones


def central_config(
    built: BuiltScenario, plans: list[EdgePlan], mqtt_port: int, http_port: int, out: Path
) -> dict[str, Any]:
    base = yaml.safe_load((DEMO / "central.yaml").read_text(encoding="utf-8"))
    sc = built.scenario
    zones = list(cast(list[dict[str, Any]], sc.central_site_config()["zones"]))
    names = {c["id"]: c["display_name"] for c in base.get("cameras", []) if c.get("display_name")}
    for plan in plans:
        zones.extend(edge_zones(plan, sc.site.frame, names))
    site = dict(base["site"])
    if site.get("basemap"):  # relative to configs/demo/, where the config written to `out` cannot find it
        site["basemap"] = str((DEMO / site["basemap"]).resolve())
    return {
        **base,
        "site": site,
        "zones": zones,
        "mqtt": {"host": "127.0.0.1", "port": mqtt_port},
        "database": {"url": f"sqlite:///{out / 'central.sqlite'}"},
        "http": {"host": "127.0.0.1", "port": http_port},
    }


def port_free(port: int) -> bool:
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


class Stack:
    """Everything the demo started, watched by a supervisor and stopped in reverse order."""

    def __init__(self, say: DemoLog) -> None:
        self.say = say
        self.supervisor = Supervisor(say)
        self.stop = threading.Event()
        self.replay: threading.Thread | None = None
        self.watcher: threading.Thread | None = None

    def watch_children(self) -> None:
        self.watcher = threading.Thread(target=self.supervisor.run, args=(self.stop,), name="supervisor", daemon=True)
        self.watcher.start()

    def close(self) -> None:
        self.stop.set()
        if self.replay is not None:
            self.replay.join(10)
        if self.watcher is not None:  # first, so that the children stopped below are not reported as deaths
            self.watcher.join(30)
        for child in reversed(self.supervisor.children()):
            child.stop()


def alert_changes(alerts: list[dict[str, Any]], seen: dict[str, str], origin: float) -> list[str]:
    """A line per alert that opened or changed level or state since `seen` (updated), in the order they happened.

    Ordered by the time of the change (`opened_at` for a new alert, `updated_at` for a change), not by the
    alert's opening time, which printed an escalation among the alerts of the minute it first opened.
    """
    out: list[tuple[float, str]] = []
    for a in alerts:
        key = f"{a['level']}/{a['state']}"
        if a["kind"] == "stale" or seen.get(a["id"]) == key:
            continue
        near = ", ".join(f"{p['id']} {p['distance_m']:.0f} m" for p in a["patrols"][:2]) or "none"
        if a["id"] in seen:
            at = float(a["updated_at"])
            text = f"{a['kind']} alert in {a['zone']} now {a['level']} ({a['state']}), changed at"
        else:
            at = float(a["opened_at"])
            text = f"{a['kind']} {a['level']} alert in {a['zone']} ({a['state']}), opened at"
        seen[a["id"]] = key
        out.append((at, f"{text} {(at - origin) / 60:.1f} min; nearest patrols: {near}"))
    return [line for _, line in sorted(out, key=lambda x: x[0])]


def watch(api: Api, say: DemoLog, origin: float, stop: threading.Event, until: float | None) -> None:
    """Print each alert as it opens or changes level or state, until stopped or `until` (monotonic)."""
    seen: dict[str, str] = {}
    while not stop.is_set() and (until is None or time.monotonic() < until):
        try:
            alerts = api.alerts()
        except Exception as err:  # central restarting or gone: say so, keep trying
            say(f"cannot read alerts: {err}")
            alerts = []
        for line in alert_changes(alerts, seen, origin):
            say(line)
        stop.wait(2.0)


def run_stack(args: argparse.Namespace) -> int:
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    for stale in ("central.sqlite", "central.sqlite-wal", "central.sqlite-shm"):
        (out / stale).unlink(missing_ok=True)
    for q in out.glob("edge-*.sqlite*"):
        q.unlink()
    built = build(load_scenario(DEMO / "scenario.yaml"), base_dir=DEMO, start_epoch=time.time())
    plans = plan_edges(args, out)
    say = DemoLog()
    stack = Stack(say)

    def on_signal(_sig: int, _frame: object) -> None:
        stack.stop.set()

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    try:
        broker, mqtt_port = start_mosquitto(out / "mosquitto")
        stack.supervisor.add(broker, essential=True)
        http_port = args.http_port if args.http_port and port_free(args.http_port) else free_port()
        start = time.time()
        central: Central = start_central(
            central_config(built, plans, mqtt_port, http_port, out),
            out,
            password=DEMO_PASSWORD,
            password_env=PASSWORD_ENV,
            speed=args.speed,
            clock_start_s=start,
        )
        stack.supervisor.add(central.child, essential=True)
        clock = ScaledClock(start, args.speed)
        # Scenario second 0 is central time `start` + the first record's offset, as runner.play computes it.
        origin = clock.at(time.time()) - (min(r.received_at for r in built.records()) - built.start_epoch)
        say.set_clock(lambda: (clock.now() - origin) / 60)
        for i, plan in enumerate(plans):
            argv = [sys.executable, "-m", "scripts.demo_edge", str(plan.config), "--source", plan.video]
            argv += ["--speed", repr(args.speed), "--clock-start", repr(start), "--port", str(mqtt_port)]
            argv += ["--queue", str(out / f"edge-{i}.sqlite"), "--site", built.scenario.site.id]
            stack.supervisor.add(spawn(f"edge {plan.label}", argv, out / f"edge-{i}.log"), restarts=EDGE_RESTARTS)
            say(f"edge on {plan.label} ({plan.video})")
        stack.watch_children()

        def replay() -> None:
            try:
                with MqttPublisher("127.0.0.1", mqtt_port) as pub:
                    result = play(built, pub, clock, stop=stack.stop)
            except Exception as err:  # a dead thread would otherwise be as silent as a dead process was
                say(f"scenario replay failed: {err!r}; the patrols and the market square stop here")
                return
            say(f"scenario finished ({result.stats.sent} messages); Ctrl-C stops the demo")

        stack.replay = threading.Thread(target=replay, name="scenario", daemon=True)
        stack.replay.start()
        print(
            f"\nconsole: {central.url}/   login: operator / {DEMO_PASSWORD}\n"
            f"time runs x{args.speed:g}: the market square fills up over the next {840 / args.speed / 60:.0f} min;"
            " a forecast alert comes first, then the current-level alert, each with the nearest patrols.\n"
            f"logs: {out}/*.log   Ctrl-C stops everything.\n",
            flush=True,
        )
        api = Api(central.url, "operator", DEMO_PASSWORD)
        until = None if args.duration is None else time.monotonic() + args.duration
        watch(api, say, origin, stack.stop, until)
        api.close()
        return 1 if stack.supervisor.failed.is_set() else 0
    except StackError as err:
        print(f"demo: {err}", file=sys.stderr)
        return 2
    finally:
        print("demo: stopping ...", flush=True)
        stack.close()
        print("demo: stopped", flush=True)


def edge_only(args: argparse.Namespace) -> int:
    """The first demo: the edge alone on PETS (or a rendered clip), scored against the ground truth."""
    from edge.calibration import build_geometry
    from edge.cli import run_edge
    from edge.evaluation import format_table, load_mot, plot_counts, score, truth_metrics
    from edge.pipeline import metrics_settings
    from edge.sinks import JsonlSink, MemorySink, metrics_to_dict
    from edge.synthetic import render_clip

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    pets = SHARED / "pets09_s2l1"
    if pets.is_dir() and not args.synthetic:
        cfg = load_edge(REPO / "configs" / "pets09_s2l1.yaml")
        cfg = cfg.model_copy(update={"camera": cfg.camera.model_copy(update={"source": str(PETS_VIDEO)})})
        gt = load_mot(pets / "gt" / "gt.txt", scale=0.625)
    else:
        clip = render_clip(out / "synthetic", duration_s=30.0, fps=10.0)
        cfg = load_edge(clip.config)
        gt = load_mot(clip.gt)
    memory = MemorySink()
    t0 = time.perf_counter()
    stats, frames = run_edge(cfg, [memory, JsonlSink(out / "metrics.jsonl")], annotate=str(out / "annotated.avi"))
    wall = time.perf_counter() - t0
    truth = truth_metrics(gt, frames, build_geometry(cfg), metrics_settings(cfg), cfg.camera.id)
    rows = [metrics_to_dict(m) for m in memory.metrics]
    plot_counts(rows, truth, out / "counts.png")
    print(format_table(score(rows, truth), stats.frames_processed / max(wall, 1e-9)))
    print(f"metrics: {out / 'metrics.jsonl'}  preview: {out / 'annotated.avi'}  counts: {out / 'counts.png'}")
    return 0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m scripts.demo", description=__doc__.split("\n")[0])
    ap.add_argument("--out", default=str(REPO / "out" / "demo"), help="work folder (logs, database, clip)")
    ap.add_argument("--speed", type=float, default=5.0, help="time acceleration (default 5)")
    ap.add_argument("--duration", type=float, help="stop after this many wall seconds (default: until Ctrl-C)")
    ap.add_argument("--http-port", type=int, default=8080, help="console port (0: any free port)")
    ap.add_argument("--source", help="your own video file for the edge")
    ap.add_argument("--edge-config", help="edge config (calibration, zones) for --source")
    ap.add_argument("--synthetic", action="store_true", help="the rendered clip even where PETS is present")
    ap.add_argument("--edge-only", action="store_true", help="the offline edge demo: metrics, preview, count plot")
    args = ap.parse_args(argv)
    if not args.speed > 0:
        ap.error("--speed must be > 0")
    if args.edge_only:
        return edge_only(args)
    if args.source and not Path(args.source).is_file():
        ap.error(f"--source {args.source}: the demo plays video files (for a live stream use crowd-edge run)")
    if shutil.which("mosquitto") is None and not Path("/usr/sbin/mosquitto").exists():
        print(
            "demo: mosquitto is not installed; run `make setup` (or `sudo apt-get install mosquitto`)", file=sys.stderr
        )
        return 2
    return run_stack(args)


if __name__ == "__main__":
    raise SystemExit(main())
