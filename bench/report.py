"""What every benchmark prints: the machine it ran on and one Markdown table, optionally saved."""

from __future__ import annotations

import platform
from collections.abc import Sequence
from pathlib import Path

import torch


def machine(threads: int) -> str:
    """The GPU's name, or the CPU model and the thread count the benchmark used."""
    if torch.cuda.is_available():
        return torch.cuda.get_device_name()
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as fh:
            cpu = next(line.split(":", 1)[1].strip() for line in fh if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    return f"{cpu}, {threads} thread(s)"


def emit(setting: str, header: Sequence[str], rows: Sequence[Sequence[str]], out: Path | None) -> str:
    """Print ``setting`` (one line naming the machine and workload) and the table; write it to ``out``."""
    lines = [f"Machine: {setting}", "", "| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    text = "\n".join(lines) + "\n"
    print(text)
    if out:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(text)
    return text
