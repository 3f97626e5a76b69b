"""Per-day checklist ticks: persisted, per UTC day, atomic, robust to damage."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from cs_console.domain.clock import FixedClock
from cs_console.stores.checklists import ChecklistError, ChecklistStore


def _store(tmp_path, at=datetime(2025, 3, 2, 8, 30, tzinfo=timezone.utc)):
    clock = FixedClock(at)
    return ChecklistStore(tmp_path / "checklists", clock), clock


def test_tick_persists_for_the_day_and_resets_the_next(tmp_path):
    store, clock = _store(tmp_path)
    store.set_tick("daily-tasks-checklist", "run_health_check", by="alice")
    again = ChecklistStore(tmp_path / "checklists", clock)  # a new console, same day
    ticks = again.ticks("daily-tasks-checklist")
    assert set(ticks) == {"run_health_check"}
    assert ticks["run_health_check"].by == "alice"
    clock.advance(timedelta(days=1).total_seconds())
    assert again.ticks("daily-tasks-checklist") == {}
    # yesterday is kept as a record
    assert [d.isoformat() for d in again.days("daily-tasks-checklist")] == ["2025-03-02"]


def test_untick_and_default_location(tmp_path, isolated_dirs):
    store = ChecklistStore()
    store.set_tick("daily-tasks-checklist", "verify_backups")
    assert "verify_backups" in store.ticks("daily-tasks-checklist")
    assert str(store.root).startswith(str(isolated_dirs / "xdg-state"))
    store.set_tick("daily-tasks-checklist", "verify_backups", done=False)
    assert store.ticks("daily-tasks-checklist") == {}


def test_day_is_utc(tmp_path):
    # 23:30 at UTC-5 is already the next day in UTC
    local = datetime(2025, 3, 2, 23, 30, tzinfo=timezone(timedelta(hours=-5)))
    store, _ = _store(tmp_path, local)
    assert store.today().isoformat() == "2025-03-03"


def test_damaged_file_counts_as_empty_and_is_repaired(tmp_path):
    store, _ = _store(tmp_path)
    path = store.path_for("daily-tasks-checklist", store.today())
    path.parent.mkdir(parents=True)
    path.write_text("{not json", encoding="utf-8")
    assert store.ticks("daily-tasks-checklist") == {}
    store.set_tick("daily-tasks-checklist", "review_alerts")
    assert set(store.ticks("daily-tasks-checklist")) == {"review_alerts"}
    assert not list(path.parent.glob(".tick-*"))  # no temporary file left behind


@pytest.mark.parametrize("bad", ["../etc", "", "a/b", ".hidden", "x" * 200])
def test_ids_cannot_escape_the_folder(tmp_path, bad):
    store, _ = _store(tmp_path)
    with pytest.raises(ChecklistError):
        store.set_tick(bad, "item")
    with pytest.raises(ChecklistError):
        store.set_tick("daily-tasks-checklist", bad)
