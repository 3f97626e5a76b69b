"""Regenerate screenshots/*.svg: every pane of the console on the demo, with a fixed
seed, start time and clock, at 80x24 and 120x40 (or the sizes given). A screenshot that
shows a fault (a pane that failed to load, a traceback) fails the run.

    python -m tests.make_screenshots [--size 80x24 --size 120x40] [--scenario connection-exhaustion]

Also replay-COLSxROWS.svg: `cs-console replay` of a recorded connection-exhaustion incident.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import tempfile
from pathlib import Path

from tests.demo_app import demo_app, play
from tests.screen_text import screen_text

OUT = Path(__file__).resolve().parent.parent / "screenshots"
FAULTS = ("No module named", "pane fault", "Traceback", "failed to load")


async def shoot(scenario: str, size: tuple[int, int]) -> list[Path]:
    written: list[Path] = []
    app = demo_app(scenario)
    async with app.run_test(size=size) as pilot:
        await play(app, 240, 15)
        for cls in app._pane_classes:
            app.show_pane(cls.PANE_ID)
            await pilot.pause(1.0)  # let panes that load in workers finish
            app._live_changed()
            await pilot.pause(0.3)
            path = OUT / f"{cls.PANE_ID}-{size[0]}x{size[1]}.svg"
            app.save_screenshot(filename=path.name, path=str(OUT))
            text = screen_text(app)
            faults = [f for f in FAULTS if f in text]
            if faults:
                raise SystemExit(f"{path.name}: the screen shows {faults[0]!r}:\n{text}")
            written.append(path)
    return written


async def shoot_replay(size: tuple[int, int]) -> Path:
    """`cs-console replay` of a recorded connection-exhaustion incident, at the connection alert's onset."""
    from cs_console.stores.recording_store import RecordingReader
    from cs_console.tui.app import ConsoleApp
    from cs_console.wiring.replay import build_replay_environment, find_replay, replay_session
    from tests.recording_helpers import record_demo_incident

    rec = await record_demo_incident(lead_s=300, during_s=600)
    target = find_replay(rec["session"], rec["ref"], None)
    reader = RecordingReader(target.path)
    onset = next(t for t, _, p in reader.frames("alert") if p["event"] == "raised" and "Connection pool" in p["title"])
    reader.close()
    session = replay_session(rec["session"])
    app = ConsoleApp(session, build_replay_environment(session, target, at=onset + 60), initial_pane="overview", poll=False)
    path = OUT / f"replay-{size[0]}x{size[1]}.svg"
    async with app.run_test(size=size) as pilot:
        for _ in range(50):
            await pilot.pause(0.2)
            if rec["ref"] in screen_text(app):
                break
        app.save_screenshot(filename=path.name, path=str(OUT))
        text = screen_text(app)
        faults = [f for f in FAULTS if f in text]
        if faults or rec["ref"] not in text:
            raise SystemExit(f"{path.name}: the replay screen is not right ({faults}):\n{text}")
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--size", action="append", help="COLSxROWS (repeatable; default 80x24 and 120x40)")
    parser.add_argument("--scenario", default="connection-exhaustion")
    args = parser.parse_args()
    # The operator's own config and state (interrupted runs, incidents) stay out of the pictures.
    for var in ("XDG_STATE_HOME", "XDG_CONFIG_HOME"):
        os.environ[var] = tempfile.mkdtemp(prefix="cs-screenshots-")
    os.environ["TERM"] = "xterm-256color"  # the default theme (a 16-colour TERM picks ansi)
    OUT.mkdir(exist_ok=True)
    for size in args.size or ["80x24", "120x40"]:
        cols, rows = (int(x) for x in size.split("x"))
        for path in asyncio.run(shoot(args.scenario, (cols, rows))):
            print(path.relative_to(OUT.parent))
        print(asyncio.run(shoot_replay((cols, rows))).relative_to(OUT.parent))


if __name__ == "__main__":
    main()
