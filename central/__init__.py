"""The central service: ingest edge metrics, store, forecast, alert, fuse patrol positions, serve the console."""
