"""DemoProject: the simulated CustomerSignal project the demo sources read and the demo actions change.

The sum of the core (core.py: clock, state, the per-second model) and its
facets: database, auth, platform, metrics, health and the platform's status page. The adapters beside this
package (metrics_source, health_probe, log_source, inspector) and the demo
executor read and act through it; nothing in the model imports them.
"""

from __future__ import annotations

from cs_console.backends.demo.model.health import HealthFacet
from cs_console.backends.demo.model.metrics import MetricsFacet
from cs_console.backends.demo.model.status_page import StatusPageFacet


class DemoProject(MetricsFacet, HealthFacet, StatusPageFacet):
    """The simulated project. Thread-safe: every public method takes the project's lock.

    DemoProject(scenario="calm", seed=7, speed=1.0, *, one_shot=False, anchor=None,
    real_time=True): see core.ProjectCore for what each argument means.
    """

    # What a runbook step may call on the demo (backends/executors/demo.py): reads and actions,
    # never the model's internals.
    RUNBOOK_CALLS: frozenset[str] = frozenset({
        "list_backends", "list_locks", "blocking", "terminate_backend", "terminate_backends", "cancel_backend",
        "restart_worker", "set_idle_in_transaction_timeout", "settings",
        "table_stats", "index_stats", "top_queries", "vacuum_analyze", "analyze", "reindex", "database_size",
        "scale_compute", "enable_rate_limiting", "disable_rate_limiting", "enable_cdn_caching",
        "list_functions", "redeploy_function", "list_users", "find_user", "ban_user", "unban_user",
        "auth_failures_by_ip", "list_network_bans", "remove_network_ban", "add_network_ban", "enable_captcha",
        "list_api_keys", "rotate_api_key", "list_backups", "storage_usage", "disk_usage", "project_info",
        "metrics_snapshot", "health", "status_page_summary", "phase", "actions",
    })
