"""The control-loop services: predictor, warming and placement, each a testable pass driven by a loop.

A pass (`PredictorService.refresh`, `WarmingController.run_pass`, `PlacementController.run_pass`)
takes the store, hot state, Kubernetes API, settings and a clock; `PeriodicLoop` runs it every
interval in a thread and stops between passes on SIGTERM. `isf serve NAME` builds the app.
"""
