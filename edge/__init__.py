"""Edge node: fixed-camera video in, per-zone crowd metrics out.

Importing this package must stay cheap and free of OpenCV: central imports `edge.messages`.
"""

__version__ = "0.1.0"
