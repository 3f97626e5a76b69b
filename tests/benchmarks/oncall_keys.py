"""Keys to the six on-call answers at 80x24, driven in a pseudo-terminal (ptyprobe).

    python -m tests.benchmarks.oncall_keys [--size 80x24]

Each question starts a fresh demo console (seed 7), waits for the scenario's state, sends
the path one key at a time (typed text counts one key per character) and then waits for
the answer's text on the screen. It prints the key count and whether the answer appeared;
a path whose answer does not appear is reported as such, never counted as answered.
Goal (issue 13): every answer in at most 12 keys.
"""

from __future__ import annotations

import argparse
import re
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from tests.benchmarks.probe import probe

KEY_RE = re.compile(r"<[^>]+>|.")


@dataclass(frozen=True)
class Question:
    title: str
    scenario: str
    ready: str  # the scenario has reached the state the question is about
    keys: tuple[str, ...]  # one entry per keystroke (a <Name> or one character)
    answer: str  # regex over the screen: the answer is shown


def typed(text: str) -> tuple[str, ...]:
    return tuple(KEY_RE.findall(text))


CONNECTIONS_HIGH = r"DB connections\S*\s.*(8\d|9\d|1\d\d)(\.\d)?%"
DECLARE_P1 = ("a", "i", "<Enter>", "<Enter>", "<Enter>", "n", "n", "n", "y", "<F2>")
QUESTIONS = (
    Question("Is the system healthy?", "calm", r"Daily review", (), r"HEALTHY[\s\S]*No alerts"),
    Question("Error logs of monitor-keywords in the last hour", "function-failures", r"Daily review",
             ("<C-p>", *typed("monitor"), "<Enter>"),  # the palette's "Logs of function monitor-keywords"
             r"function=monitor-keywords level>=error since=1h"),
    Question("Who holds the DB connections?", "connection-exhaustion", CONNECTIONS_HIGH,
             ("2", "d", "<Enter>"), r"idle in transaction"),
    # a: first alert, i: declare from it, Enter x3: keep the title, summary and components it
    # filled, n n n: not an outage, no data loss, no breach (the P0 questions), y: part of the
    # service is down (P1), F2: declare.
    Question("A P1 from the current alert", "connection-exhaustion", CONNECTIONS_HIGH,
             DECLARE_P1, r"P1\s+INC-\d{4}-\d{4}"),
    Question("The connection runbook's first destructive confirmation", "connection-exhaustion", CONNECTIONS_HIGH,
             ("c", "r", "<F2>", "g", "r", "<Enter>", "r", "r"), r"[Tt]ype .{0,40}\b\d+\b"),
    # From a fresh console: declaring counts too (the incident's own e, Enter are 2 keys).
    Question("The post-mortem export (declaring included)", "connection-exhaustion", CONNECTIONS_HIGH,
             (*DECLARE_P1, "e", "<Enter>"), r"exported to"),
)


def run(q: Question, size: str, dump: Path) -> dict:
    steps = [f"wait(120):{q.ready}", "stable:1"]
    for key in q.keys:
        steps += [f"send:{key}", "stable:0.6"]
    steps.append(f"wait(30):{q.answer}")
    # This interpreter's console (not whichever cs-console comes first on PATH).
    report = probe([sys.executable, "-m", "cs_console", "demo", "--scenario", q.scenario, "--seed", "7"],
                   "--size", size, "--until", "cs-console", "--timeout", "240", "--keep-going",
                   "--keys", ";;".join(steps), "--dump", str(dump))
    answered = bool(report.get("steps")) and bool(report["steps"][-1].get("ok"))
    return {"keys": len(q.keys), "answered": answered, "screen": dump.read_text(encoding="utf-8") if dump.exists() else ""}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", default="80x24")
    parser.add_argument("--show", action="store_true", help="print the final screen of each question")
    args = parser.parse_args()
    out = Path(tempfile.mkdtemp(prefix="cs-oncall-keys-"))
    print(f"on-call answers at {args.size} (goal: <= 12 keys each)")
    print(f"{'question':58} {'keys':>4}  answered")
    for i, q in enumerate(QUESTIONS):
        got = run(q, args.size, out / f"q{i}.txt")
        print(f"{q.title:58} {got['keys']:>4}  {'yes' if got['answered'] else 'NO'}" + ("" if got["answered"] else f"  (screen: {out / f'q{i}.txt'})"))
        if args.show:
            print(got["screen"])


if __name__ == "__main__":
    main()
