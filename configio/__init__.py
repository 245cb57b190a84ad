"""One YAML config loader and one error format for the edge, central and scenario files.

Every problem with a file becomes the caller's own error class (`edge.config.ConfigError`,
`central.config.ConfigError`, `ScenarioError`) with a message that starts with the file name and, for a
value, names its key (`zones.0.polygon`): an operator editing the file by hand has nothing else to go on.
This package depends on PyYAML and pydantic only, so that the edge and central images can both carry it.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TypeVar

import yaml
from pydantic import BaseModel, ValidationError

M = TypeVar("M", bound=BaseModel)

# pydantic validation context key: the folder relative paths in the file are resolved from.
BASE_DIR = "base_dir"


def read_yaml(path: str | Path, *, what: str, error: type[Exception]) -> object:
    """The parsed YAML document; an unreadable, non-UTF-8 or invalid file raises `error` naming the file."""
    p = Path(path)
    try:
        raw = p.read_bytes()
    except OSError as err:
        raise error(f"{p}: cannot read {what}: {err.strerror or err}") from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as err:
        raise error(
            f"{p}: cannot read {what}: not UTF-8 text (byte {err.start} is 0x{raw[err.start]:02x}); save it as UTF-8"
        ) from None
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as err:
        raise error(f"{p}: not valid YAML: {err}") from None
    except RecursionError:
        # PyYAML builds nested nodes recursively; a few thousand '[' would otherwise escape as a crash.
        raise error(f"{p}: not valid YAML: nested too deeply") from None


def format_validation_error(origin: str | Path, err: ValidationError, what: str = "config") -> str:
    """`<file>: invalid <what>` then one `  <key>: <message>` line per problem."""
    lines = [f"{origin}: invalid {what}"]
    for e in err.errors():
        key = ".".join(str(p) for p in e["loc"]) or "<root>"
        lines.append(f"  {key}: {e['msg']}")
    return "\n".join(lines)


def key_error(origin: str | Path, key: str, message: str, what: str = "config") -> str:
    """The same format for a problem found after validation (a missing file, a zone out of view)."""
    return f"{origin}: invalid {what}\n  {key}: {message}"


def _non_finite(data: object) -> str | None:
    """The key of the first NaN or infinite number in a parsed document (iterative: no recursion limit; a
    container YAML aliases many times is looked at once, so an alias bomb is not expanded)."""
    stack: list[tuple[str, object]] = [("", data)]
    seen: set[int] = set()
    while stack:
        key, node = stack.pop()
        if isinstance(node, float) and not math.isfinite(node):
            return key or "<root>"
        if isinstance(node, Mapping | list | tuple):
            if id(node) in seen:
                continue
            seen.add(id(node))
        if isinstance(node, Mapping):
            stack.extend((f"{key}.{k}" if key else str(k), v) for k, v in node.items())
        elif isinstance(node, list | tuple):
            stack.extend((f"{key}.{i}" if key else str(i), v) for i, v in enumerate(node))
    return None


def validate(
    model: type[M],
    data: object,
    origin: str | Path,
    *,
    what: str = "config",
    error: type[Exception],
    base_dir: str | Path | None = None,
) -> M:
    """`data` checked by `model`; anything wrong raises `error` with the file and the key.

    NaN and infinity are refused everywhere (a NaN corner or threshold would poison every measurement);
    `base_dir` is where the model's relative file paths are resolved from (see `resolve_path`).
    """
    if not isinstance(data, dict):
        raise error(f"{origin}: the {what} must be a mapping of keys, got {type(data).__name__}")
    bad = _non_finite(data)
    if bad is not None:
        raise error(key_error(origin, bad, "NaN or infinity is not a usable number", what))
    context = {BASE_DIR: Path(base_dir)} if base_dir is not None else None
    try:
        return model.model_validate(data, context=context)
    except ValidationError as err:
        raise error(format_validation_error(origin, err, what)) from None
    except RecursionError:
        raise error(f"{origin}: invalid {what}: nested too deeply") from None


def load(
    model: type[M], path: str | Path, *, what: str = "config", error: type[Exception], resolve_paths: bool = True
) -> M:
    """Read, parse and validate a YAML file; relative paths in it are resolved from its folder."""
    data = read_yaml(path, what=what, error=error)
    return validate(model, data, path, what=what, error=error, base_dir=Path(path).parent if resolve_paths else None)


def base_dir(context: object) -> Path | None:
    """The folder to resolve relative paths from, out of a pydantic validator's `info.context`."""
    if isinstance(context, Mapping):
        value = context.get(BASE_DIR)
        return value if isinstance(value, Path) else None
    return None


def resolve_path(value: str, base: Path | None) -> str:
    """A relative file path read from a config, made relative to the config's folder (`base`).

    Absolute paths, URLs (`rtsp://...`) and webcam indexes (`0`) are left as they are; so is everything when
    the data did not come from a file (`base` None).
    """
    if base is None or not value or "://" in value or value.isdigit() or os.path.isabs(value):
        return value
    return os.path.normpath(base / value)


def rebase_path(value: str, old_base: Path, new_base: Path) -> str:
    """A path relative to `old_base`, rewritten relative to `new_base` (a config written to another folder)."""
    if not value or "://" in value or value.isdigit() or os.path.isabs(value):
        return value
    return os.path.relpath(os.path.normpath(old_base / value), new_base)


def crossing_edges(ring: Sequence[Sequence[float]]) -> tuple[int, int] | None:
    """The first two non-adjacent edges of a closed polygon that touch or cross (edge i runs from corner i to
    i+1), or None for a simple polygon. A self-intersecting zone has no meaningful area or inside."""
    pts = [(float(p[0]), float(p[1])) for p in ring]
    if len(pts) > 1 and pts[0] == pts[-1]:
        pts = pts[:-1]
    n = len(pts)
    if n < 4:
        return None
    for i in range(n):
        a, b = pts[i], pts[(i + 1) % n]
        for j in range(i + 2, n):
            if i == 0 and j == n - 1:
                continue  # they share corner 0
            if _segments_meet(a, b, pts[j], pts[(j + 1) % n]):
                return i, j
    return None


def _orient(p: tuple[float, float], q: tuple[float, float], r: tuple[float, float]) -> float:
    return (q[0] - p[0]) * (r[1] - p[1]) - (q[1] - p[1]) * (r[0] - p[0])


def _on_segment(p: tuple[float, float], q: tuple[float, float], r: tuple[float, float]) -> bool:
    return min(p[0], q[0]) <= r[0] <= max(p[0], q[0]) and min(p[1], q[1]) <= r[1] <= max(p[1], q[1])


def _segments_meet(
    a: tuple[float, float], b: tuple[float, float], c: tuple[float, float], d: tuple[float, float]
) -> bool:
    d1, d2, d3, d4 = _orient(c, d, a), _orient(c, d, b), _orient(a, b, c), _orient(a, b, d)
    if ((d1 > 0 and d2 < 0) or (d1 < 0 and d2 > 0)) and ((d3 > 0 and d4 < 0) or (d3 < 0 and d4 > 0)):
        return True
    return (
        (d1 == 0 and _on_segment(c, d, a))
        or (d2 == 0 and _on_segment(c, d, b))
        or (d3 == 0 and _on_segment(a, b, c))
        or (d4 == 0 and _on_segment(a, b, d))
    )


def crossing_message(edges: tuple[int, int], n: int) -> str:
    i, j = edges
    return (
        f"the polygon crosses itself (edge {i}-{(i + 1) % n} meets edge {j}-{(j + 1) % n}); "
        "list its corners in order around the zone"
    )


__all__ = [
    "base_dir",
    "crossing_edges",
    "crossing_message",
    "format_validation_error",
    "key_error",
    "load",
    "read_yaml",
    "rebase_path",
    "resolve_path",
    "validate",
]
