"""Membership inference with the Likelihood Ratio Attack (LiRA; Carlini et al., 2022), the privacy
audit of Yuan et al. 2024 §4.5 and App. G.4: does a classifier reveal which real images its training saw?

``M`` models are trained by one recipe, model ``k`` on half ``k`` of a pool of real images, with the
halves drawn so that every pool image is in exactly ``M/2`` of them (:func:`balanced_halves`). Each
model in turn is the *target*; the other ``M - 1`` are its shadow models. For a pool image ``(x, y)``
the attack observes the logit-scaled confidence ``phi = log(p_y / (1 - p_y))`` of the true class
(:func:`logit_confidence`, Carlini et al. §IV-B), and compares the target's ``phi`` with the shadows'
``phi`` on the same image:

* **online** (§IV-C, Algorithm 1): Gaussians fitted to the shadows that trained on ``x`` (IN) and to
  those that did not (OUT); the score is the log likelihood ratio ``log N(phi; mu_in, s_in) - log
  N(phi; mu_out, s_out)``;
* **offline** (§VI-C): only the OUT Gaussian; the one-sided score ``log Pr[Z < phi]``, Z ~ N(mu_out,
  s_out).

Every image's IN and OUT Gaussians are fitted to the same number of shadows, ``M/2 - 1`` each, drawn
at random: with balanced halves a member of the target has one IN shadow fewer than a non-member, and
Gaussians fitted to unequal counts bias the likelihood ratio towards non-members whenever the models
barely differ (the noisier mean pulls the midpoint; with Carlini et al.'s 64-256 shadows the effect
vanishes, with 4 it puts the AUC of a leak-free model near 0.42). With few shadows the per-image
variances are unreliable, so the *fixed-variance* variants use one variance for all images (Carlini et
al. §VI-B: "for small numbers of shadow models"); per-image variances are computed only when every image
has at least two IN and two OUT shadows (M >= 6), and are the headline attack only from
:data:`PER_IMAGE_VARIANCE_MODELS` models: on a simulation with a known truth (``bench/lira_crossover.py``)
the per-image attack finds fewer members at 1% FPR than the fixed-variance one below 20 models (at 6 models
0.013 against 0.035; the true likelihood ratio 0.13), and more from 20 on. The ROC curve pools every
target's scores over the pool (members: the target's half). The attack's success is read at low
false-positive rates (TPR at 0.1% and 1% FPR, §III-B), where an attack that reliably identifies even a few
members matters; AUC is given alongside.
"""

from __future__ import annotations

import numpy as np
import polars as pl

from synthval.seeding import derive_seed

#: the false-positive rates the attack's true-positive rate is read at (Carlini et al. §III-B)
LOW_FPRS = (0.001, 0.01)
ATTACKS = ("online", "online_fixed_variance", "offline", "offline_fixed_variance")
MIN_SHADOWS = 4  # each image then has at least one IN and one OUT shadow per target
#: models from which the headline attack uses per-image variances (bench/lira_crossover.py finds it)
PER_IMAGE_VARIANCE_MODELS = 20


def balanced_halves(n: int, models: int, seed: int) -> np.ndarray:
    """A bool (models, n) membership matrix: image ``i`` is in the training half of exactly
    ``models / 2`` models, chosen by a seeded permutation per image (Carlini et al.'s balanced
    sampling, so every image has as many IN as OUT models)."""
    if models < MIN_SHADOWS or models % 2:
        raise ValueError(f"LiRA needs an even number of models, at least {MIN_SHADOWS}; got {models}")
    rng = np.random.default_rng(derive_seed(seed, "lira-halves", n, models))
    order = np.argsort(rng.random((n, models)), axis=1)
    member = np.zeros((models, n), dtype=bool)
    member[order[:, : models // 2].T, np.arange(n)[None, :]] = True
    return member


def logit_confidence(logits: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """``log p_y - log(1 - p_y)`` of the softmax of ``logits`` (N, C), computed stably as the true
    class's logit minus the log-sum-exp of the others."""
    z = np.asarray(logits, dtype=np.float64)
    rows = np.arange(len(z))
    true = z[rows, labels]
    others = z.copy()
    others[rows, labels] = -np.inf
    return true - np.logaddexp.reduce(others, axis=1)


def _moments(values: np.ndarray, mask: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per-image mean, variance (ddof 1) and count of ``values`` (models, n) where ``mask``."""
    count = mask.sum(0)
    safe = np.maximum(count, 1)
    mean = np.where(mask, values, 0.0).sum(0) / safe
    dev = np.where(mask, values - mean, 0.0)
    var = (dev**2).sum(0) / np.maximum(count - 1, 1)
    return mean, var, count


def _pooled_variance(values: np.ndarray, mask: np.ndarray) -> float:
    """One variance for all images: the squared deviations from each image's own mean, pooled."""
    mean, _, count = _moments(values, mask)
    dev = np.where(mask, values - mean, 0.0)
    dof = (count - 1).clip(min=0).sum()
    return float((dev**2).sum() / dof) if dof > 0 else float("nan")


def lira_scores(phi: np.ndarray, member: np.ndarray, target: int) -> dict[str, np.ndarray]:
    """The attacks' scores (higher: more likely a member) of every pool image against model
    ``target``, from ``phi`` (models, n) and the membership matrix ``member`` (models, n). The
    per-image-variance attacks are left out unless every image has two IN and two OUT shadows.

    ``phi`` (models, n, queries) holds several queries of each image (the image and its mirror, as the
    reference's ``inference.py`` with ``reflect=True``): each query is attacked with the same shadows and
    each attack's score is the mean over queries, as the reference's ``score.py`` averages them."""
    phi = np.asarray(phi)
    if phi.ndim == 3:
        per_query = [lira_scores(phi[..., q], member, target) for q in range(phi.shape[2])]
        return {a: np.mean([scores[a] for scores in per_query], axis=0) for a in per_query[0]}
    from scipy import stats  # here: every LiRA model's job imports logit_confidence, not the attack

    shadows = np.arange(len(phi)) != target
    values, inside = phi[shadows], member[shadows]
    outside = ~inside
    # one variance for all images, from every shadow (under a common variance it only scales the scores)
    fixed = np.sqrt(np.nanmean([_pooled_variance(values, inside), _pooled_variance(values, outside)]))
    # the same number of IN and OUT shadows for every image, ``per_side`` of each drawn at random (seeded by
    # the target): taking the first in model order would make which models serve as a member's shadows
    # differ from a non-member's, and models that differ (one always favours a class) would then score
    # members apart from non-members with nothing learnt from them
    per_side = int(min(inside.sum(0).min(), outside.sum(0).min()))
    draw = np.random.default_rng(derive_seed("lira-shadows", len(phi), target)).random(values.shape)
    inside &= draw <= np.sort(np.where(inside, draw, np.inf), axis=0)[per_side - 1]
    outside &= draw <= np.sort(np.where(outside, draw, np.inf), axis=0)[per_side - 1]
    observed = phi[target]
    mu_in, var_in, n_in = _moments(values, inside)
    mu_out, var_out, n_out = _moments(values, outside)
    if n_in.min() < 1 or n_out.min() < 1:
        raise ValueError("every pool image needs an IN and an OUT shadow model")
    scores = {
        "online_fixed_variance": stats.norm.logpdf(observed, mu_in, fixed) - stats.norm.logpdf(observed, mu_out, fixed),
        "offline_fixed_variance": stats.norm.logcdf(observed, mu_out, fixed),
    }
    if n_in.min() >= 2 and n_out.min() >= 2:
        s_in, s_out = np.sqrt(var_in) + 1e-30, np.sqrt(var_out) + 1e-30
        scores["online"] = stats.norm.logpdf(observed, mu_in, s_in) - stats.norm.logpdf(observed, mu_out, s_out)
        scores["offline"] = stats.norm.logcdf(observed, mu_out, s_out)
    return {a: scores[a] for a in ATTACKS if a in scores}


def roc_curve(scores: np.ndarray, labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(FPR, TPR) at every threshold, from the highest score down (ties counted together)."""
    order = np.argsort(-scores, kind="stable")
    s, y = scores[order], labels[order].astype(bool)
    last = np.r_[np.nonzero(np.diff(s))[0], len(s) - 1]  # the last index of each run of equal scores
    tp, fp = np.cumsum(y)[last], np.cumsum(~y)[last]
    return np.r_[0.0, fp / max(fp[-1], 1)], np.r_[0.0, tp / max(tp[-1], 1)]


def tpr_at(fpr: np.ndarray, tpr: np.ndarray, at: float) -> float:
    """The highest TPR whose FPR does not exceed ``at`` (no interpolation: an attack is only credited
    with thresholds it can set)."""
    return float(tpr[fpr <= at].max())


def auc(fpr: np.ndarray, tpr: np.ndarray) -> float:
    return float(np.trapezoid(tpr, fpr))


def evaluate(phi: np.ndarray, member: np.ndarray) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Every model as the target in turn; the scores pooled over targets. Returns the summary (one row
    per attack: AUC, TPR at each low FPR, members, non-members, targets, shadows) and the ROC curves."""
    per_attack: dict[str, list[tuple[np.ndarray, np.ndarray]]] = {}
    for target in range(len(phi)):
        for attack, score in lira_scores(phi, member, target).items():
            per_attack.setdefault(attack, []).append((score, member[target]))
    rows, curves = [], []
    for attack, parts in per_attack.items():
        scores = np.concatenate([s for s, _ in parts])
        labels = np.concatenate([m for _, m in parts])
        fpr, tpr = roc_curve(scores, labels)
        row = {
            "attack": attack,
            "auc": auc(fpr, tpr),
            **{f"tpr_at_{100 * a:g}pct_fpr": tpr_at(fpr, tpr, a) for a in LOW_FPRS},
            "members": int(labels.sum()),
            "non_members": int((~labels).sum()),
            "targets": len(phi),
            "shadows": len(phi) - 1,
        }
        rows.append(row)
        curves.append(pl.DataFrame({"attack": attack, "fpr": fpr, "tpr": tpr}))
    return pl.DataFrame(rows), pl.concat(curves)
