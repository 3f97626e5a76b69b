"""Executors for runbook steps: SQL (asyncpg), shell (subprocess), HTTP (httpx), demo (simulation)."""
