"""Platform data stores: PostgreSQL and Redis cluster, managed (AWS/GCP) or in-cluster.

Import the concrete modules (`components.data.postgres_rds`, ...); the package itself stays import-light.
"""
