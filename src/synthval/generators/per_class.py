"""Per-class generators: one unconditional model per class, each trained on that class's images in its
own job and assembled into one :class:`Generator` afterwards (Shoshan et al.'s "-10" datasets)."""

from __future__ import annotations

from typing import Any, cast

import torch
from torch import nn

from synthval.generators.base import Generator, create_generator, register


@register("per_class", None)
class PerClassGenerator(Generator):
    """``num_classes`` generators of family ``member`` (each with one class); label ``c`` is drawn from
    member ``c``. Members sample in class order from the one random generator, so the result is
    deterministic for a given seed and label sequence."""

    def __init__(
        self,
        num_classes: int,
        in_chans: int,
        image_size: int,
        member: str = "wgan_gp",
        member_hparams: dict[str, Any] | None = None,
    ):
        member_hparams = dict(member_hparams or {})
        super().__init__(num_classes, in_chans, image_size, member=member, member_hparams=member_hparams)
        self.members = nn.ModuleList(
            create_generator(member, 1, in_chans, image_size, **member_hparams) for _ in range(num_classes)
        )

    @classmethod
    def assemble(cls, members: list[Generator]) -> PerClassGenerator:
        first = members[0]
        if any(m.family != first.family or m.hparams != first.hparams or m.num_classes != 1 for m in members):
            raise ValueError("per-class members must be one-class generators of one family with equal hyper-parameters")
        model = cls(len(members), first.in_chans, first.image_size, member=first.family, member_hparams=first.hparams)
        for slot, trained in zip(model.members, members, strict=True):
            slot.load_state_dict(trained.state_dict())
        return model.eval()

    def rewind(self) -> None:
        for member in self.members:
            cast(Generator, member).rewind()

    def sample_tensor(self, labels: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        out = torch.empty(len(labels), self.in_chans, self.image_size, self.image_size, device=labels.device)
        for c in torch.unique(labels).tolist():
            idx = (labels == c).nonzero().squeeze(1)
            out[idx] = self.members[c].sample_tensor(torch.zeros_like(idx), generator).to(out.dtype)
        return out
