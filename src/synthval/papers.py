"""The papers whose methods synthval implements, named as a reader would cite them.

The report, its figure captions and the command's help name a paper by its authors and year
(:attr:`Paper.cite`), never by an internal number; the BibTeX entries of ``docs/citing.md`` are rendered
from the same records (:func:`bibtex`; a test keeps the page in step). Torch-free.
"""

from __future__ import annotations

from dataclasses import dataclass

#: The proceedings' full names, for BibTeX.
BOOKTITLES = {
    "ICML": "International Conference on Machine Learning (ICML)",
    "WACV": "IEEE/CVF Winter Conference on Applications of Computer Vision (WACV)",
    "ICLR": "International Conference on Learning Representations (ICLR)",
    "IEEE Symposium on Security and Privacy (S&P)": "IEEE Symposium on Security and Privacy (S\\&P)",
}


@dataclass(frozen=True)
class Paper:
    key: str  # the BibTeX key
    cite: str  # how the report names it: "Shoshan et al. 2023"
    title: str
    venue: str
    implements: str  # what synthval takes from it
    authors: tuple[str, ...] = ()  # "Family, Given"
    url: str = ""

    def __str__(self) -> str:
        return self.cite

    @property
    def year(self) -> str:
        return self.cite.rsplit(" ", 1)[-1]

    def bibtex(self) -> str:
        """The paper's BibTeX entry (``@inproceedings``: every paper here appeared at a conference)."""
        fields = {
            "title": "{" + self.title + "}",
            "author": " and ".join(self.authors),
            "booktitle": BOOKTITLES.get(self.venue.rsplit(" ", 1)[0], self.venue.rsplit(" ", 1)[0]),
            "year": self.year,
            "url": self.url,
        }
        body = ",\n".join(f"  {k} = {{{v}}}" for k, v in fields.items() if v)
        return f"@inproceedings{{{self.key},\n{body}\n}}"


PAPERS = {
    p.key: p
    for p in (
        Paper(
            "shoshan2023",
            "Shoshan et al. 2023",
            "Synthetic Data for Model Selection",
            "ICML 2023",
            "rank preservation, selection protocols, calibration, Corollary 3.3, TV from PRD",
            ("Shoshan, Alon", "Bhonker, Nadav", "Kviatkovsky, Igor", "Fintz, Matan", "Medioni, G{\\'e}rard"),
            "https://arxiv.org/abs/2105.00717",
        ),
        Paper(
            "wang2024",
            "Wang et al. 2024",
            "Improving the Effectiveness of Deep Generative Data",
            "WACV 2024",
            "training on synthetic, mixed and two-stage data; Pretrained and Real Guidance; the content gap",
            ("Wang, Ruyu", "Schmedding, Sabrina", "Huber, Marco F."),
            "https://openaccess.thecvf.com/content/WACV2024/html/Wang_Improving_the_Effectiveness_of_Deep_Generative_Data_WACV_2024_paper.html",
        ),
        Paper(
            "sehwag2022",
            "Sehwag et al. 2022",
            "Robust Learning Meets Generative Models: Can Proxy Distributions Improve Adversarial Robustness?",
            "ICLR 2022",
            "adversarial (PGD) training with synthetic data",
            (
                "Sehwag, Vikash",
                "Mahloujifar, Saeed",
                "Handina, Tinashe",
                "Dai, Sihui",
                "Xiang, Chong",
                "Chiang, Mung",
                "Mittal, Prateek",
            ),
            "https://arxiv.org/abs/2104.09425",
        ),
        Paper(
            "yuan2024",
            "Yuan et al. 2024",
            "Real-Fake: Effective Training Data Synthesis Through Distribution Matching",
            "ICLR 2024",
            "Stable Diffusion LoRA synthesis, scaling, copies, robustness under shift, membership inference",
            ("Yuan, Jianhao", "Zhang, Jie", "Sun, Shuyang", "Torr, Philip", "Zhao, Bo"),
            "https://arxiv.org/abs/2310.10402",
        ),
        Paper(
            "carlini2022",
            "Carlini et al. 2022",
            "Membership Inference Attacks From First Principles",
            "IEEE Symposium on Security and Privacy (S&P) 2022",
            "LiRA: the likelihood-ratio membership attack, online and offline, fixed and per-image variance",
            (
                "Carlini, Nicholas",
                "Chien, Steve",
                "Nasr, Milad",
                "Song, Shuang",
                "Terzis, Andreas",
                "Tram{\\`e}r, Florian",
            ),
            "https://arxiv.org/abs/2112.03570",
        ),
    )
}


def bibtex() -> str:
    """Every paper's BibTeX entry, in the order of :data:`PAPERS`."""
    return "\n\n".join(p.bibtex() for p in PAPERS.values())
