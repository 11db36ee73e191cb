"""What every benchmark prints: the machine it ran on and one Markdown table, optionally saved."""

from __future__ import annotations

import argparse
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


def training_parser(description: str, archs: Sequence[str]) -> argparse.ArgumentParser:
    """The options the training benchmarks share: threads, epochs, images, size, batch size, archs, out."""
    parser = argparse.ArgumentParser(description=description, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--images", type=int, default=1000)
    parser.add_argument("--size", type=int, default=16)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--archs", nargs="*", default=list(archs))
    parser.add_argument("--out", type=Path, default=None)
    return parser


def sgd_step(opt: torch.optim.Optimizer, loss: torch.Tensor) -> None:
    """One plain optimiser step, as the bare loops take it."""
    opt.zero_grad(set_to_none=True)
    loss.backward()
    opt.step()


def best_of(fn, repeats: int = 3) -> float:
    """The shortest of ``repeats`` wall-clock timings of ``fn()`` (CUDA work waited for)."""
    import time

    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        if torch.cuda.is_available():
            torch.cuda.synchronize()
        times.append(time.perf_counter() - t0)
    return min(times)
