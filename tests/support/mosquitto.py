"""The tests' Mosquitto broker: `devtools.broker`, shared with the benchmarks and the demo."""

from devtools.broker import MosquittoBroker, find_mosquitto, free_port

__all__ = ["MosquittoBroker", "find_mosquitto", "free_port"]
