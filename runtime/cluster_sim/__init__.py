"""An embedded simulated cluster: Knative Serving at minute granularity behind a Kubernetes-API facade.

`knative.py` is the model (Services, Revisions, Routes, tiered nodes, pods scaling with demand, cold
starts), `api_server.py` serves it as the small part of the Kubernetes API the controllers call (so
their code path is the production one), `clock.py` is the simulated clock with its barrier, and
`embedded.py` is what `isf serve warming|placement` fall back to when no cluster is configured.
"""
