"""The terms the report and the documentation use, each defined once: the report's last section and
``docs/glossary.md`` are both rendered from :data:`TERMS` (a test keeps the page in step)."""

from __future__ import annotations

import html
import re

#: (term, definition): Markdown-light definitions (``code`` only), in reading order of the report.
TERMS: tuple[tuple[str, str], ...] = (
    (
        "training set",
        "A named number of real images drawn from the data (`data.train_sizes`, e.g. `train1000`: 1,000 images, "
        "the paper's Train10K/30K/50K): its train split. Everything of one study is trained on it: the "
        "generators, the zoo and the reference classifier. The rest of the data is its test split.",
    ),
    (
        "split",
        "A fixed part of the data. `train`: the training set, what generators and classifiers learn from; "
        "`fit` and `val`: 75% and 25% of it, for the standard protocol; `test`: everything else, which only "
        "scores: it never chooses, trains or calibrates anything.",
    ),
    (
        "selection set",
        "The images a set of models is ranked on to choose one: a synthetic set (a generator's samples), the "
        "augmented set, or the real `val` split (the baseline). Its errors choose; the test split's errors score.",
    ),
    (
        "augmented set",
        "Augmented copies of the train split's own images (a random affine warp and a brightness and contrast "
        "change each): Li et al. (2020)'s validation set, the baseline a generator has to beat (Shoshan et al. "
        "2023, §2).",
    ),
    (
        "zoo",
        "The classifiers being chosen among: architectures x hyper-parameter variants x seeds, trained on the "
        "whole train split.",
    ),
    (
        "configuration",
        "One architecture with one hyper-parameter variant (e.g. `resnet8-base`). Its seeds are averaged. "
        "Configurations of one architecture err alike, so they are not independent units: the questions count "
        "architectures (or configurations, for the seed question), never images.",
    ),
    (
        "member",
        "One trained network of the zoo: a configuration and a seed, named `<arch>-<variant>-s<seed>`.",
    ),
    (
        "fit member",
        "A member trained on the `fit` sub-split (75% of the train split) instead of the whole train split, "
        "named with `-fit`; its `val` error is what the standard protocol chooses by.",
    ),
    (
        "group",
        "Models that are alike, ranked among themselves: the standard architectures, the randomly wired "
        "networks (Shoshan et al. 2023, §4.1-4.2), imported classifiers, or groups the config names. `all` "
        "pools them; a pooled figure is read with its groups, never alone.",
    ),
    (
        "rank preservation",
        "Whether errors on a selection set order the configurations as errors on the test split do, measured "
        "by Spearman's rho between the two (Shoshan et al. 2023, §4.1).",
    ),
    (
        "the three questions",
        "What a selection set can be asked to choose, each answered over its own unit: *which architecture?* "
        "(Spearman's rho over architecture means, n = architectures), *which hyper-parameters?* (Kendall's tau "
        "over each architecture's variants, averaged over architectures) and *which trained model (seed)?* "
        "(Kendall's tau over each configuration's seeds, the question random seed selection asks). A design "
        "that cannot ask one (one seed a configuration, one variant an architecture) says so.",
    ),
    (
        "disjoint seeds",
        "For the architecture and hyper-parameter questions, where every configuration has two seeds or more, "
        "the set's errors come from one half of each configuration's seeds and the test errors from the other "
        "(both ways round, averaged): the luck a trained model carries onto both sets then does not count as "
        "agreement. With one seed a configuration it counts, and the row says so.",
    ),
    (
        "design check",
        "Every question row simulates this run's own design (its architectures, variants, seeds and groups) "
        "from the generating model of `bench/coverage.py`, with truths 0 and 0.5, and says whether the interval "
        "held there (coverage at least 93%, intervals excluding 0 under no association at most 5%, each within "
        "two Monte Carlo errors of 200 replicates). A verdict needs it to hold.",
    ),
    (
        "pooled over configurations",
        "Spearman's rho over every configuration as if they were independent. Under no association at all its "
        "interval excludes 0 in 35-37% of zoos of 8 architectures x 8 variants (`bench/results/coverage.md`), so "
        "it is described, never concluded.",
    ),
    (
        "Kendall's tau",
        "Over pairs: the share of pairs two lists order the same way less the share they order oppositely (tau-a; "
        "ties count 0). Its interval in the report is Wilson's, for the concordant share, with the effective "
        "number of pairs a jackknife over architectures implies.",
    ),
    (
        "Spearman's rho",
        "The rank correlation of two lists of errors: 1 when they order the configurations the same way, 0 when "
        "unrelated, -1 when reversed.",
    ),
    (
        "Fisher-z interval",
        "The report's 95% interval for rho over n units (architectures for the architecture question): "
        "tanh(atanh(rho) +- 1.96 x sqrt((1 + rho^2 / 2) / (n - 3))), Bonett and Wright's variance. A simulation "
        "with a known truth (`bench/results/coverage.md`) shows from how many units it covers; the report draws "
        "verdicts only from there.",
    ),
    (
        "Holm correction",
        "Holm's step-down adjustment of the p-values of all the report's tests together, so that the chance of "
        "any false verdict in the report stays at 5%.",
    ),
    (
        "can it choose?",
        "The answer's verdict on a selection set, one per question: yes (the interval excludes 0 and the "
        "permutation test survives Holm), yes strongly (the interval adjusted for the report's tests lies above "
        "0.7 for a rho, 0.5 for a tau), no: reversed, not shown (the interval includes 0), too few units, no "
        "verdict (the design check did not hold), or not asked at this design.",
    ),
    (
        "to settle it",
        "How many units (architectures, or configurations for the seed question) would give 80% power to tell "
        "an effect the size of the present estimate from none, with the interval Bonferroni-adjusted over the "
        "report's tests (as strict as Holm's first step): from the Fisher-z width for a rho, from the jackknife's "
        "standard error scaled as 1 / sqrt(units) for a tau.",
    ),
    (
        "worth in real images",
        "How many labelled real images, drawn from one half of the test split and scored on the other, rank the "
        "configurations as well as the selection set does; an interval over resampled draws.",
    ),
    (
        "selection protocol",
        "A rule that picks one model: the standard protocol (train on `fit`, choose by `val` error), the "
        "synthetic protocol (train on the whole train split, choose by the synthetic set's error), and the "
        "oracle (choose by test error: the best any rule could do, shown only as a bound).",
    ),
    (
        "HPS",
        "Hyper-parameter search: choosing among variants of one architecture, as in Shoshan et al. 2023, §4.2.",
    ),
    (
        "calibration",
        "Re-weighting a synthetic set's images, class by class, so that a few calibration models get on it the "
        "errors they have on real data (a ridge regression, Shoshan et al. 2023, §4.4, eq. 1); the calibration "
        "models are never among the models then scored.",
    ),
    (
        "TV",
        "Total variation between the real and synthetic feature distributions, 1 - sum of min(P, Q) over the PRD "
        "histograms. The TV floor is the TV between two halves of the real train split: what sampling alone "
        "gives.",
    ),
    (
        "Corollary 3.3",
        "Shoshan et al. 2023's guarantee: two models whose errors on the synthetic set differ by more than the "
        "TV between the synthetic and real distributions (2 TV in the half-L1 convention used here) keep their "
        "order on real data. The report counts the pairs it settles.",
    ),
    (
        "FID, KID",
        "Frechet and kernel inception distances between real and synthetic features (lower is better); in the "
        "reference classifier's features by default, in Inception-v3's with `quality.extractor: inception`.",
    ),
    (
        "precision, recall, density, coverage",
        "Whether synthetic images lie near real ones (precision, density) and whether the real data is covered "
        "by synthetic images (recall, coverage), from k-nearest-neighbour balls in feature space.",
    ),
    (
        "PRD",
        "Precision-recall for distributions (Sajjadi et al. 2018), from k-means histograms of both sets.",
    ),
    (
        "ARC",
        "Adversarial robustness of a real-vs-synthetic classifier (Sehwag et al. 2022): the area under its "
        "accuracy as its inputs may move by epsilon; low when the sets are hard to tell apart.",
    ),
    (
        "MMD",
        "Maximum mean discrepancy between real and synthetic features, with RBF kernels (Yuan et al. 2024, §3.1).",
    ),
    (
        "method",
        "One way of training a classifier in the training study: real only, synthetic only, real + synthetic, "
        "two stages, or with Real or Pretrained Guidance (Wang et al. 2024, Table 4).",
    ),
    (
        "CAS",
        "Classification accuracy score: the test accuracy of a classifier trained on synthetic data only, at the "
        "training set's size (1x).",
    ),
    (
        "scale",
        "The synthetic set's size as a multiple of the real training set's (1x, 2x, 4x).",
    ),
    (
        "compute-matched control",
        "Real-only training for as many optimiser steps as a real + synthetic run takes: tells extra data from "
        "extra steps.",
    ),
    (
        "paired gain",
        "A method's test accuracy minus real-only training's, seed by seed (both start from the same weights "
        "and see the real data in the same order); a t-interval over seeds.",
    ),
    (
        "content gap",
        "Wang et al. 2024's Observation 3, that synthetic data lacks content real data has: the median loss of "
        "synthetic training images under real-trained classifiers beside that of real training images under "
        "synthetic-trained ones.",
    ),
    (
        "Real Guidance, Pretrained Guidance",
        "Wang et al. 2024's regularisers for training on generated data: a consistency term towards real "
        "images' predictions, and a distillation term from a classifier trained on real data.",
    ),
    (
        "LiRA",
        "The likelihood-ratio membership attack (Carlini et al. 2022): models trained on random halves of a "
        "pool tell, for each image, how a model's confidence on it changes when it was trained on.",
    ),
    (
        "shadow models",
        "The models LiRA trains on random halves of the pool; each image is in (and out of) about half of them.",
    ),
    (
        "fixed variance, per-image variance",
        "Two ways LiRA models the confidences: one variance for all images (better with few shadow models) or "
        "each image's own (better with many). The report heads with the one a simulation shows is better at "
        "its number of models (`bench/results/lira_crossover.md`).",
    ),
    (
        "TPR at low FPR",
        "The share of members an attack finds while wrongly flagging at most 0.1% or 1% of non-members: LiRA's "
        "headline, since an average over all thresholds hides the confident cases.",
    ),
    (
        "operating point",
        "The calibration setting the findings quote: how many calibration models and which ridge strength "
        "(`selection.calibration_point`; `auto` takes the one with the best leave-one-model-out score on the "
        "calibration models themselves, never on the test split).",
    ),
    (
        "near-copy",
        "A synthetic image more similar to its nearest training image than 99% of unseen real images are to "
        "theirs (Yuan et al. 2024, App. G).",
    ),
    (
        "corruption severity",
        "The strength (1-5) of a CIFAR-10-C-style corruption of the test split, for accuracy under shift.",
    ),
    (
        "reference classifier",
        "A classifier trained on the train split only, whose penultimate layer is the default feature space of "
        "the quality metrics and copy detection.",
    ),
)


def anchor(term: str) -> str:
    """The term's fragment id: ``glossary-`` and its words joined by hyphens."""
    return "glossary-" + "-".join(re.findall(r"[a-z0-9]+", term.lower()))


def _code(text: str, html_out: bool) -> str:
    return re.sub(r"`([^`]+)`", r"<code>\1</code>", html.escape(text)) if html_out else text


def glossary_html() -> str:
    """The report's glossary section: a definition list whose entries other sections can link to."""
    items = "".join(f'<dt id="{anchor(t)}">{html.escape(t)}</dt><dd>{_code(d, True)}</dd>' for t, d in TERMS)
    return f'<dl class="glossary">{items}</dl>'


def glossary_markdown() -> str:
    """``docs/glossary.md``."""
    lines = [
        "# Glossary",
        "",
        "Every term the report and these pages use. The report's last section holds the same definitions",
        "(both come from `src/synthval/report/glossary.py`).",
        "",
    ]
    for term, definition in TERMS:
        lines += [f"**{term}** — {definition}", ""]
    return "\n".join(lines)
