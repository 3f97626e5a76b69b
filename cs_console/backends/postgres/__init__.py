"""PostgreSQL backend (asyncpg): metrics source, health probe and detail-view inspector.

All three share one PgConnector (a pool of at most two connections).
"""

from cs_console.backends.postgres.connector import DatabaseUnavailable, PgConnector
from cs_console.backends.postgres.health_probe import PostgresHealthProbe
from cs_console.backends.postgres.inspector import PostgresInspector
from cs_console.backends.postgres.metrics_source import PostgresMetricsSource

__all__ = ["DatabaseUnavailable", "PgConnector", "PostgresHealthProbe", "PostgresInspector", "PostgresMetricsSource"]
