"""The papers whose methods synthval implements, named as a reader would cite them.

The report, its figure captions and the command's help name a paper by its authors and year
(:attr:`Paper.cite`), never by an internal number; the README's table of methods and its BibTeX entries
come from the same records. Torch-free.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Paper:
    key: str  # the BibTeX key
    cite: str  # how the report names it: "Shoshan et al. 2023"
    title: str
    venue: str
    implements: str  # what synthval takes from it

    def __str__(self) -> str:
        return self.cite


PAPERS = {
    p.key: p
    for p in (
        Paper(
            "shoshan2023",
            "Shoshan et al. 2023",
            "Synthetic Data for Model Selection",
            "ICML 2023",
            "rank preservation, selection protocols, calibration, Corollary 3.3, TV from PRD",
        ),
        Paper(
            "wang2024",
            "Wang et al. 2024",
            "Improving the Effectiveness of Deep Generative Data",
            "WACV 2024",
            "training on synthetic, mixed and two-stage data; Pretrained and Real Guidance; the content gap",
        ),
        Paper(
            "sehwag2022",
            "Sehwag et al. 2022",
            "Robust Learning Meets Generative Models: Can Proxy Distributions Improve Adversarial Robustness?",
            "ICLR 2022",
            "adversarial (PGD) training with synthetic data",
        ),
        Paper(
            "yuan2024",
            "Yuan et al. 2024",
            "Real-Fake: Effective Training Data Synthesis Through Distribution Matching",
            "ICLR 2024",
            "Stable Diffusion LoRA synthesis, scaling, copies, robustness under shift, membership inference",
        ),
    )
}
