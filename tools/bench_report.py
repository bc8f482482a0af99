"""The tables ``make bench`` prints and writes to ``docs/benchmarks.md``: shared by ``bench.py`` and ``bench_odoo.py``.

A table is a title, column names, rows of text and notes under it. ``bench_odoo.py`` hands its tables to
``bench.py`` as JSON (it runs in a process of its own, with Odoo loaded); ``bench.py`` writes them all to the
results file, which each run overwrites.
"""

import json
from dataclasses import asdict, dataclass, field


@dataclass
class Table:
    title: str
    columns: list
    rows: list = field(default_factory=list)
    notes: list = field(default_factory=list)

    def add(self, *cells):
        self.rows.append([str(cell) for cell in cells])

    def note(self, text):
        self.notes.append(text)

    def text(self):
        """The table for a terminal: columns padded to their widest cell."""
        widths = [max(len(str(cell)) for cell in column) for column in zip(self.columns, *self.rows, strict=True)]
        header = "  ".join(name.ljust(width) for name, width in zip(self.columns, widths, strict=True))
        lines = [self.title, "  " + header]
        lines += ["  " + "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True))
                  for row in self.rows]
        lines += [f"  ({note})" for note in self.notes]
        return "\n".join(lines)

    def markdown(self):
        lines = [f"### {self.title}", "", "| " + " | ".join(self.columns) + " |",
                 "|" + "|".join("---" for _ in self.columns) + "|"]
        lines += ["| " + " | ".join(cell.replace("|", "\\|") for cell in row) + " |" for row in self.rows]
        if self.notes:
            lines.append("")
            lines += [f"- {note}" for note in self.notes]
        return "\n".join(lines) + "\n"


def dump(tables, path):
    path.write_text(json.dumps([asdict(table) for table in tables], indent=1))


def load(path):
    return [Table(**values) for values in json.loads(path.read_text())]


def ms(seconds):
    return f"{seconds * 1000:.1f} ms"
