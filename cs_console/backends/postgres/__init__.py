"""PostgreSQL backend (asyncpg): metrics source, health probe and detail-view inspector.

All three share one PgConnector (connector.py, a pool of at most two connections);
wiring/live.py builds them. Nothing is imported here: the modules import their
siblings directly, so the package and its parts never import each other.
"""
