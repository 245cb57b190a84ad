"""Fail when a package imports what its layer forbids: the wire contract keeps edge and central apart.

- `contract/` imports only the standard library, pydantic and itself (any subscriber can use it);
- `edge/` never imports `central`, `scripts` or `tests`; `central/` never imports `edge`, `scripts` or `tests`;
- `forecasting/` imports neither `edge` nor `central`.

Reads the files as syntax trees (nothing is imported or run), so it is fast and needs no dependencies.
Run by `make lint` and `make test`:

    .venv/bin/python -m scripts.check_imports    # prints each forbidden import, exits 1 if there is one
"""

from __future__ import annotations

import ast
import sys
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

# package -> top-level modules it must not import
FORBIDDEN: dict[str, set[str]] = {
    "edge": {"central", "scripts", "tests"},
    "central": {"edge", "scripts", "tests"},
    "forecasting": {"edge", "central", "scripts", "tests"},
}
# package -> the only top-level modules it may import besides the standard library
ONLY: dict[str, set[str]] = {"contract": {"contract", "pydantic"}}


def imported_modules(tree: ast.AST) -> Iterator[tuple[int, str]]:
    """(line, top-level module) of every absolute import, also those inside functions."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name.split(".")[0]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            yield node.lineno, node.module.split(".")[0]


def problems(root: Path = ROOT) -> list[str]:
    out = []
    for package in sorted(FORBIDDEN.keys() | ONLY.keys()):
        for path in sorted((root / package).rglob("*.py")):
            rel = path.relative_to(root)
            tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(rel))
            for line, top in imported_modules(tree):
                if top in FORBIDDEN.get(package, set()):
                    out.append(f"{rel}:{line}: {package} must not import {top}")
                elif package in ONLY and top not in ONLY[package] and top not in sys.stdlib_module_names:
                    allowed = ", ".join(sorted(ONLY[package]))
                    out.append(f"{rel}:{line}: {package} may import only the standard library and {allowed}, not {top}")
    return out


def main() -> int:
    found = problems()
    for p in found:
        print(p, file=sys.stderr)
    if found:
        print(f"{len(found)} forbidden import(s): see scripts/check_imports.py", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
