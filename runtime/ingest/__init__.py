"""Ingest paths other than the HTTP API: the Knative request-count collector and trace imports."""
