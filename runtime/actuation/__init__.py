"""Actuation: apply warming and placement decisions to Knative, one leader at a time."""
