"""Resumable training state as safetensors, with no pickle anywhere.

Nested state (module and optimizer ``state_dict``s, scheduler state, RNG states) is split into a flat
tensor dict and a JSON skeleton that points at it. The state lives outside Snakemake's declared
outputs (Snakemake deletes those before rerunning a job) and carries a fingerprint of the job's
settings, so a rerun with other settings starts afresh instead of resuming someone else's run.

Beside the state, a :class:`~synthval.live.LiveLog` takes each metric as it is computed.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import torch

from synthval.io import IntegrityError, load_tensors, save_tensors

log = logging.getLogger("synthval.checkpoint")


def flatten(obj: Any, tensors: dict[str, torch.Tensor], prefix: str = "s") -> Any:
    """Move every tensor of ``obj`` into ``tensors``; return a JSON-able skeleton referring to them."""
    if isinstance(obj, torch.Tensor):
        tensors[prefix] = obj.detach().cpu().contiguous()
        return {"__tensor__": prefix}
    if isinstance(obj, dict):
        return {"__dict__": [[_key(k), flatten(v, tensors, f"{prefix}.{k}")] for k, v in obj.items()]}
    if isinstance(obj, list | tuple):
        return {
            "__list__": [flatten(v, tensors, f"{prefix}.{i}") for i, v in enumerate(obj)],
            "tuple": isinstance(obj, tuple),
        }
    if obj is None or isinstance(obj, bool | int | float | str):
        return obj
    raise TypeError(f"cannot checkpoint a {type(obj).__name__} at {prefix}")


def unflatten(skeleton: Any, tensors: dict[str, torch.Tensor]) -> Any:
    if isinstance(skeleton, dict):
        if "__tensor__" in skeleton:
            return tensors[skeleton["__tensor__"]]
        if "__dict__" in skeleton:
            return {_unkey(k): unflatten(v, tensors) for k, v in skeleton["__dict__"]}
        if "__list__" in skeleton:
            items = [unflatten(v, tensors) for v in skeleton["__list__"]]
            return tuple(items) if skeleton["tuple"] else items
    return skeleton


def _key(k: Any) -> Any:
    # Optimizer state is keyed by int parameter index; JSON would turn those keys into strings.
    return {"int": k} if isinstance(k, int) else k


def _unkey(k: Any) -> Any:
    return k["int"] if isinstance(k, dict) else k


class ResumeState:
    """Save and restore one job's full training state at ``path`` (a ``.safetensors`` file)."""

    def __init__(self, path: str | Path, fingerprint: dict[str, Any]):
        self.path = Path(path)
        self.fingerprint = fingerprint

    def load(self) -> dict[str, Any] | None:
        if not self.path.exists():
            return None
        try:
            tensors, meta = load_tensors(self.path)
        except IntegrityError as err:
            log.warning("resume state %s is damaged, so this job starts from the beginning: %s", self.path, err)
            return None
        if meta.get("fingerprint") != self.fingerprint:
            log.info("resume state %s belongs to other settings; starting afresh", self.path)
            return None
        return unflatten(meta["state"], tensors)

    def save(self, state: dict[str, Any]) -> None:
        tensors: dict[str, torch.Tensor] = {}
        skeleton = flatten(state, tensors)
        save_tensors(self.path, tensors, {"fingerprint": self.fingerprint, "state": skeleton})

    def clear(self) -> None:
        self.path.unlink(missing_ok=True)


def rng_state(generator: torch.Generator) -> dict[str, torch.Tensor]:
    return {"torch": torch.get_rng_state(), "data": generator.get_state()}


def set_rng_state(state: dict[str, torch.Tensor], generator: torch.Generator) -> None:
    torch.set_rng_state(state["torch"])
    generator.set_state(state["data"])
