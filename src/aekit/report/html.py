"""One self-contained HTML page: inline CSS, figures embedded as base64 PNG, no network (and no script, but
in the latent explorer, :mod:`aekit.report.explore`, whose script is inline too).

The page opens from the file in any browser, offline, and can be mailed as one attachment. Each
figure is a ``<figure data-figure="KEY">`` with a caption, so tests (and readers) can find it.
"""

from __future__ import annotations

import base64
import html
from collections.abc import Sequence
from dataclasses import dataclass

CSS = """
body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; max-width: 1200px; margin: 2em auto;
       padding: 0 1em; color: #1d1d1f; line-height: 1.45; }
h1 { font-size: 1.6em; margin-bottom: 0.2em; } h2 { margin-top: 2em; border-bottom: 1px solid #ddd; }
.subtitle { color: #555; margin-top: 0; }
table { border-collapse: collapse; margin: 1em 0; font-size: 0.92em; }
th, td { border: 1px solid #ccc; padding: 0.3em 0.7em; text-align: left; vertical-align: top; }
th { background: #f3f3f5; } td.num { text-align: right; font-variant-numeric: tabular-nums; }
figure { margin: 2em 0; padding: 1em; border: 1px solid #e3e3e6; border-radius: 6px; background: #fcfcfd; }
figure img { max-width: 100%; height: auto; display: block; margin: 0 auto; }
figcaption { margin-top: 0.8em; font-size: 0.95em; } figcaption b { display: block; font-size: 1.05em; }
.note { color: #555; font-size: 0.92em; } pre { background: #f6f6f8; padding: 1em; overflow-x: auto; }
"""


@dataclass
class FigureEntry:
    """One figure of a report: its file stem, a heading, a caption for newcomers and the PNG bytes."""

    key: str
    title: str
    caption: str
    png: bytes


class Markup(str):
    """Text that is already HTML: :func:`escape` and :func:`table` put it in as it is."""


def escape(text: object) -> str:
    return text if isinstance(text, Markup) else html.escape(str(text), quote=True)


def table(header: Sequence[str] | None, rows: Sequence[Sequence[object]], numeric: Sequence[int] = ()) -> str:
    """An HTML table (no header row when ``header`` is None); columns in ``numeric`` are right-aligned; a
    :class:`Markup` cell goes in as HTML, any other is escaped."""
    head = "" if header is None else "<thead><tr>" + "".join(f"<th>{escape(h)}</th>" for h in header) + "</tr></thead>"
    body = []
    for row in rows:
        cells = "".join(
            f'<td class="num">{escape(cell)}</td>' if i in numeric else f"<td>{escape(cell)}</td>"
            for i, cell in enumerate(row)
        )
        body.append(f"<tr>{cells}</tr>")
    return f"<table>{head}<tbody>{''.join(body)}</tbody></table>"


def figure(entry: FigureEntry) -> str:
    """A ``<figure>`` with the PNG inline (base64) and its caption."""
    data = base64.b64encode(entry.png).decode("ascii")
    return (
        f'<figure id="fig-{escape(entry.key)}" data-figure="{escape(entry.key)}">'
        f'<img src="data:image/png;base64,{data}" alt="{escape(entry.title)}">'
        f"<figcaption><b>{escape(entry.title)}</b>{escape(entry.caption)}</figcaption></figure>"
    )


def page(title: str, body: str, css: str = "") -> str:
    """A complete HTML document around ``body`` (already HTML); ``css`` is added to the common style."""
    return (
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
        "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
        '<link rel="icon" href="data:,">'  # no favicon request: nothing leaves the file
        f"<title>{escape(title)}</title><style>{CSS}{css}</style></head>\n<body>\n{body}\n</body></html>\n"
    )


__all__ = ["FigureEntry", "Markup", "escape", "table", "figure", "page"]
