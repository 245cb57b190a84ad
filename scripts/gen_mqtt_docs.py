"""Write docs/mqtt.md from the pydantic wire models of `contract/`, so the document and the code cannot disagree.

The entries and the renderer are `contract.docs`; a unit test fails when the committed document differs
from what this script renders.

    .venv/bin/python -m scripts.gen_mqtt_docs          # rewrite docs/mqtt.md
    .venv/bin/python -m scripts.gen_mqtt_docs --check  # exit 1 when docs/mqtt.md is out of date
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from contract.docs import TOPIC_DOCS, TopicDoc, render

DOC_PATH = Path(__file__).resolve().parents[1] / "docs" / "mqtt.md"

__all__ = ["DOC_PATH", "collect_topic_docs", "main", "render"]


def collect_topic_docs() -> list[TopicDoc]:
    """Every topic of the contract, edge topics first."""
    return list(TOPIC_DOCS)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--check", action="store_true", help="exit 1 when the document is out of date")
    parser.add_argument("--out", type=Path, default=DOC_PATH)
    args = parser.parse_args(argv)
    text = render()
    if args.check:
        current = args.out.read_text(encoding="utf-8") if args.out.exists() else ""
        if current != text:
            print(f"{args.out} is out of date: run python -m scripts.gen_mqtt_docs", file=sys.stderr)
            return 1
        return 0
    args.out.write_text(text, encoding="utf-8")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
