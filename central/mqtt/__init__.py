"""Communicator: central's MQTT link: a small communicator interface, the paho client behind it and its in-memory twin."""
