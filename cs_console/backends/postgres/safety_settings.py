"""The settings every console statement runs under, how they are applied, and the proof.

None of them is sent as a startup parameter: a stock PgBouncer refuses the connection
for any parameter it does not track ("unsupported startup parameter"), and Supavisor
drops them. Directly, they are set once per connection with a session `SET`;
through a pooler, with `SET LOCAL` at the start of each read-only transaction (a
session `SET` would land on a server connection the application shares).

Either way the connector reads them back from `pg_settings` on each new connection
(inside such a transaction when pooled) and keeps what is not in force, so the
screen says "statement_timeout not in force" instead of assuming it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class SafetySettings:
    statement_timeout_ms: int = 2000
    lock_timeout_ms: int = 1000
    idle_in_transaction_ms: int = 10000

    def values(self, statement_timeout_ms: int | None = None) -> dict[str, str]:
        """Setting -> value as pg_settings.setting reports it (ms units, on/off)."""
        return {
            "statement_timeout": str(statement_timeout_ms or self.statement_timeout_ms),
            "lock_timeout": str(self.lock_timeout_ms),
            "idle_in_transaction_session_timeout": str(self.idle_in_transaction_ms),
            "jit": "off",
        }

    def session_sql(self) -> str:
        """One simple-protocol string for a direct connection (session scope)."""
        sets = {**self.values(), "default_transaction_read_only": "on", "plan_cache_mode": "force_generic_plan"}
        return "; ".join(f"set {k} = '{v}'" for k, v in sets.items())

    def begin_sql(self, *, pooled: bool, statement_timeout_ms: int | None = None) -> str:
        """BEGIN READ ONLY plus the SET LOCALs, sent as one round trip.

        Directly only the statement timeout is set (the rest holds for the session);
        through a pooler every setting is, since the transaction may run on any
        server connection."""
        if pooled:
            sets = self.values(statement_timeout_ms)
        else:
            sets = {"statement_timeout": str(statement_timeout_ms or self.statement_timeout_ms)}
        return "begin read only; " + "; ".join(f"set local {k} = '{v}'" for k, v in sets.items())


CHECK_SQL = """/* cs-console settings check */
select name, setting from pg_settings
 where name in ('statement_timeout', 'lock_timeout', 'idle_in_transaction_session_timeout', 'jit',
                'transaction_read_only')"""


def settings_problems(expected: SafetySettings, seen: Mapping[str, str]) -> list[str]:
    """What is not in force, one phrase each ("statement_timeout is 0, expected 2000 ms")."""
    want = {**expected.values(), "transaction_read_only": "on"}
    out: list[str] = []
    for name, value in want.items():
        got = seen.get(name)
        if got is None:
            if name == "jit":  # a server built without JIT has nothing to turn off
                continue
            out.append(f"{name} unreadable")
        elif got != value:
            unit = "" if value in ("on", "off") else " ms"
            out.append(f"{name} is {got}{unit}, expected {value}{unit}")
    return out
