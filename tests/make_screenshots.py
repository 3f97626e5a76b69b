"""Regenerate screenshots/*.svg: every pane of the console on the demo, with a fixed
seed, start time, clock and size.

    python -m tests.make_screenshots [--size 120x40] [--scenario connection-exhaustion]
"""

from __future__ import annotations

import argparse
import asyncio
from pathlib import Path

from tests.demo_app import demo_app, play

OUT = Path(__file__).resolve().parent.parent / "screenshots"


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
            path = OUT / f"{cls.PANE_ID}.svg"
            app.save_screenshot(filename=path.name, path=str(OUT))
            written.append(path)
    return written


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--size", default="120x40")
    parser.add_argument("--scenario", default="connection-exhaustion")
    args = parser.parse_args()
    cols, rows = (int(x) for x in args.size.split("x"))
    OUT.mkdir(exist_ok=True)
    for path in asyncio.run(shoot(args.scenario, (cols, rows))):
        print(path.relative_to(OUT.parent))


if __name__ == "__main__":
    main()
