"""Runbooks as data: schema, loader, inputs, expressions, templates, guard, run state.

Pure domain code (no I/O). The engine that executes runbooks is
``cs_console.services.runbook_engine``; the reference for authors is
``cs_console/runbooks/SCHEMA.md``.
"""
