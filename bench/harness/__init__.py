"""volley's benchmark harness: servers, clients, workloads, measurement and
the report. `bench/run.py` drives it; bench/README.md explains the method."""
