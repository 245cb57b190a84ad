"""Edge node: fixed-camera video in, per-zone crowd metrics out.

Talks to central only through the wire contract (`contract/`); `scripts/check_imports.py` keeps it so.
"""

__version__ = "0.1.0"
