"""The composition root: the one place that builds concrete backends, stores, executors,
the audit trail and the run lock from a session.

Commands and the TUI ask here; services receive what they need; backends and stores
import neither services nor this package.
"""
