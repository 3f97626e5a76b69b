"""Log lines are data: hostile lines through the Logs pane render literally and safely.

The file holds ANSI CSI/OSC sequences (colours, clear screen, window title,
an OSC 52 clipboard write), BEL, backspace, Rich markup ([bold red], [link=...],
[@click=app.quit]), invalid UTF-8, raw C1 controls, bidi overrides and a 1 MB
line. What the view renders (its strips), what the whole screen sends to the
terminal, and the detail view must hold no control character and no style
that the data asked for; the app keeps running.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from cs_console.tui.screens.log_detail import LogDetailScreen
from cs_console.tui.widgets.log_view import LogView
from tests.screen_text import screen_segments, screen_text
from tests.test_logs_pane import logs_app, only_overview_and_logs, pane, wait_for  # noqa: F401 - fixture

HOSTILE: list[bytes] = [
    b"\x1b[31mRED\x1b[0m plain ansi colour",
    b"\x1b[2J\x1b[H cleared the screen?",
    b"\x1b]0;pwned title\x07 osc window title",
    b"\x1b]52;c;ZXZpbA==\x07 osc52 clipboard write",
    b"\x1b]8;;http://evil.example\x1b\\hyperlink\x1b]8;;\x1b\\ osc8",
    b"bell\x07 and back\x08\x08space and \r carriage",
    b"[bold red]x[/] rich markup",
    b"[link=http://evil.example]click me[/link]",
    b"[@click=app.quit]quit the app[/]",
    b"invalid utf8 \xff\xfe\xc3\x28 here",
    b"raw C1 \x9b31m byte and utf-8 C1 \xc2\x9b31m",
    "bidi \u202egnp.exe\u202c and isolate \u2066x\u2069".encode(),
    "arabic mark \u061cALM, line\u2028sep, para\u2029sep, zero\u200bwidth, bom\ufeff".encode(),
    json.dumps(
        {
            "timestamp": "2026-11-27T03:00:00.000Z",
            "level": "error",
            "event_message": "\u001b[5mblink\u001b[0m [bold]json[/bold] \u202eevil",
            "function_name": "[red]fn[/red]\u001b[7m",
            "status": 500,
            "request_id": "[i]req[/i]",
        }
    ).encode(),
    b"A" * (1 << 20) + b" END-OF-MEGABYTE",
    b"LAST-HOSTILE-LINE",
]

# What Textual itself writes: SGR colours and cursor moves. Anything else is data leaking.
_TEXTUAL_SEQUENCES = re.compile(r"\x1b\[[0-9;]*m|\x1b\[\d+;\d+H|\x1b\[\d*[ABCDK]")
_FORBIDDEN = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200b-\u200f\u2028-\u202e\u2066-\u2069\ufeff]")


@pytest.fixture
def hostile_file(tmp_path: Path) -> Path:
    path = tmp_path / "hostile.log"
    path.write_bytes(b"\n".join(HOSTILE) + b"\n")
    return path


def allowed_styles(view: LogView) -> set:
    styles = view._line_styles()
    plain = {style for name, style in styles.items() if name != "cursor-over"}
    return plain | {style + styles["cursor-over"] for style in plain}


def terminal_output(app) -> str:
    """Everything the screen would send to a terminal for a full repaint."""
    return app.screen._compositor.render_update(full=True).render_segments(app.console)


def assert_clean_output(output: str) -> None:
    rest = _TEXTUAL_SEQUENCES.sub("", output)
    assert "\x1b" not in rest, repr(rest[max(0, rest.find("\x1b") - 40) : rest.find("\x1b") + 40])
    leaked = _FORBIDDEN.findall(rest.replace("\r", "").replace("\n", ""))
    assert not leaked, leaked


@pytest.mark.parametrize("size", [(120, 40), (80, 24)])
async def test_hostile_lines_render_literally(hostile_file: Path, size: tuple[int, int]) -> None:
    app = logs_app(hostile_file)
    async with app.run_test(size=size) as pilot:
        await wait_for(pilot, lambda: len(pane(app).buffer) == len(HOSTILE))
        await pilot.pause(0.4)
        view = app.query_one(LogView)
        allowed = allowed_styles(view)

        # 1. every row of the view: plain characters, only the view's own styles
        rows = []
        for y in range(view.size.height):
            strip = view.render_line(y)
            for segment in strip:
                assert not _FORBIDDEN.search(segment.text), (y, segment.text)
                assert segment.style in allowed, (y, segment.text, segment.style)
                assert segment.style is None or (segment.style.link is None and not segment.style.meta)
            rows.append(strip.text)
        text = "\n".join(rows)

        # 2. markup and escapes are shown as text, not obeyed
        assert "[bold red]x[/] rich markup" in text
        assert "[@click=app.quit]quit the app[/]" in text
        assert "␛[31mRED␛[0m" in text
        assert "\\xff\\xfe" in text
        assert "␇" in text and "␈" in text
        assert "\\u202e" in text  # the bidi override is named, not applied
        assert "\\u061cALM" in text and "line\\u2028sep" in text
        # (at 80 columns the line's end is cut once the function column shows, as it may by then)
        assert "para\\u2029sep" in text or size[0] < 100
        assert "[red]fn[/red]" in text
        megabyte_row = next(r for r in rows if "AAAA" in r)
        assert len(megabyte_row.rstrip()) <= size[0]

        # 3. what the whole screen sends to the terminal has no sequence from the data
        output = terminal_output(app)
        assert_clean_output(output)
        assert "\x1b]" not in output  # no OSC: no title, no clipboard write, no hyperlink
        for segment in screen_segments(app):
            assert segment.style is None or segment.style.link is None

        # 4. clicking on the [@click=app.quit] text does nothing but move the cursor
        click_row = next(y for y, r in enumerate(rows) if "[@click=app.quit]" in r)
        await pilot.click(LogView, offset=(r_col(rows[click_row], "[@click"), click_row))
        await pilot.pause(0.1)
        assert app.is_running
        assert "[@click=app.quit]" in view.cursor_record().message  # type: ignore[union-attr]

        # 5. the detail view of the JSON record is literal too
        view.jump_to(next(i for i in range(view.count) if view._lines.record(i).level.name == "ERROR"))
        await pilot.press("enter")
        await pilot.pause(0.2)
        assert isinstance(app.screen, LogDetailScreen)
        detail = screen_text(app)
        assert "[bold]json[/bold]" in detail and "[i]req[/i]" in detail
        assert_clean_output(terminal_output(app))
        await pilot.press("escape")

        # 6. the 1 MB line's detail opens and is cut, not hung on
        view.jump_to(next(i for i in range(view.count) if "END-OF-MEGABYTE" in view._lines.record(i).message or view._lines.record(i).message.startswith("AAAA")))
        await pilot.press("enter")
        await pilot.pause(0.3)
        assert isinstance(app.screen, LogDetailScreen)
        assert_clean_output(terminal_output(app))
        await pilot.press("escape")
        await pilot.pause(0.1)
        assert app.is_running
        assert "LAST-HOSTILE-LINE" in screen_text(app)


def r_col(row: str, needle: str) -> int:
    return max(0, row.find(needle))
