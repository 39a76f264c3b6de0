"""Warming: turn forecasts into load / keep-alive decisions and warm-pool sizes."""
