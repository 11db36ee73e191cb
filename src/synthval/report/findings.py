"""The report's findings: one record per finding, its verdict decided by its interval against a named
threshold, then worded.

Every verdict follows an interval, never a point estimate alone: a rank correlation is *strong* only
when its whole interval is at or above :data:`STRONG_RHO`; a difference between protocols, or a gain of
synthetic training data, is a difference only when its interval excludes :data:`NO_DIFFERENCE`. The
sets chose; the test split only scored (the tables these records read say which split did what).
"""

from __future__ import annotations

import html
from dataclasses import dataclass

import polars as pl

from synthval.evaluation.robustness import strongest_shift
from synthval.evaluation.study import percent_cell
from synthval.selection.ranking import ALL, FIT_MEMBERS, TRAIN_MEMBERS, pooled_note

#: A ranking is called strong when its whole interval is at or above this Spearman rho.
STRONG_RHO = 0.7
#: A difference (of test errors, of accuracies) is called one when its interval excludes this.
NO_DIFFERENCE = 0.0
#: Calibration is supported when some point of its sweep ranks held-out calibration models above this
#: leave-one-out rho.
LOO_SUPPORT_RHO = 0.0

NAN = float("nan")

#: rank verdicts, from :func:`rank_verdict`, and their wording
RANK_WORDING = {
    "undefined": "undefined rank preservation (too few models, or constant errors)",
    "no interval": "rank preservation without an interval (fewer than 3 configurations)",
    "strong": f"strong rank preservation (the whole interval is at or above {STRONG_RHO})",
    "positive": "positive rank preservation (the interval excludes 0)",
    "reversed": "a reversed ranking (the whole interval is below 0: the set orders models against their test error)",
    "unclear": "no clear rank preservation (the interval includes 0)",
}


@dataclass(frozen=True)
class Finding:
    """One finding: what it is about (``topic``: rank, protocol, calibration, corollary, training; the
    training set; ``subject``: the set, generator or run), its statistic with its interval (NaN where
    there is none), the ``verdict`` the interval supports, and the sentence (HTML) that says so."""

    topic: str
    trainset: str
    subject: str
    estimate: float
    low: float
    high: float
    verdict: str
    text: str


def _nan(x: float | None) -> bool:
    return x is None or x != x


def rank_verdict(rho: float, low: float, high: float) -> str:
    """The verdict on a rank correlation (a key of :data:`RANK_WORDING`), from its interval."""
    if _nan(rho):
        return "undefined"
    if _nan(low):
        return "no interval"
    if low >= STRONG_RHO:
        return "strong"
    if low > 0:
        return "positive"
    if high < 0:
        return "reversed"
    return "unclear"


def difference_verdict(low: float, high: float) -> str:
    """``below``, ``above`` or ``unclear``: where the interval of a difference lies against
    :data:`NO_DIFFERENCE`; ``no interval`` when it has none (one seed, one configuration)."""
    if _nan(low):
        return "no interval"
    if high < NO_DIFFERENCE:
        return "below"
    if low > NO_DIFFERENCE:
        return "above"
    return "unclear"


def set_name(eval_set: str) -> str:
    """How findings name an evaluation set."""
    if eval_set == "augmented":
        return "the <b>augmented training split</b> (Li et al. 2020)"
    return f"the <b>{html.escape(eval_set)}</b> synthetic set"


def _strength(row: dict) -> str:
    return RANK_WORDING[rank_verdict(row["spearman"], row["spearman_low"], row["spearman_high"])]


def _rho(row: dict) -> str:
    interval = "" if _nan(row["spearman_low"]) else f" [{row['spearman_low']:.3f}, {row['spearman_high']:.3f}]"
    return f"rho = {row['spearman']:.3f}{interval}"


def _group_rho(row: dict) -> str:
    name = html.escape(row["group"])
    if _nan(row["spearman"]):
        return f"{name} undefined ({row['n_configs']} configuration{'s' if row['n_configs'] != 1 else ''})"
    if _nan(row["spearman_low"]):
        return f"{name} rho = {row['spearman']:.3f} (no interval: {row['n_configs']} configurations)"
    return f"{name} {_rho(row)} over {row['n_configs']} configurations ({_strength(row)})"


def rank_findings(trainset: str, rank: pl.DataFrame, test_errors: pl.Series | None) -> list[Finding]:
    """Per (set, models ranked): the pooled rank correlation with the test errors, its groups, and a
    note where the pool hides a group (:func:`synthval.selection.ranking.pooled_note`)."""
    found = []
    where = f"On <b>{html.escape(trainset)}</b>, "
    for (eval_set, ranked), rows in rank.group_by("eval_set", "ranked", maintain_order=True):
        pooled = rows.filter(pl.col("group") == ALL).row(0, named=True)
        groups = [r for r in rows.iter_rows(named=True) if r["group"] != ALL]
        per_group = ("; by group: " + ", ".join(_group_rho(r) for r in groups)) if groups else ""
        note = pooled_note(rank, eval_set, ranked)
        note = f". Note: {html.escape(note)}" if note else ""
        unit = f"{pooled['n_models']} models, {pooled['n_configs']} configurations" + (
            "" if _nan(pooled["spearman_low"]) else f"; 95% {pooled['interval']} over {pooled['interval_unit']}"
        )
        strength = _strength(pooled)
        if ranked == TRAIN_MEMBERS:
            span = (
                f"; test errors span {test_errors.min() * 100:.2f}% to {test_errors.max() * 100:.2f}%"
                if test_errors is not None and test_errors.len()
                else ""
            )
            text = (
                f"{where}{set_name(eval_set)} ranks the train members with Spearman {_rho(pooled)} (Kendall tau = "
                f"{pooled['kendall']:.3f}; {unit}): {strength}{span}{per_group}{note}."
            )
        elif ranked == FIT_MEMBERS:
            text = (
                f"{where}the real baseline, the <b>val split</b>, ranks the fit members against their test errors "
                f"with Spearman {_rho(pooled)} ({unit}): {strength}{per_group}{note}."
            )
        else:
            text = (
                f"{where}configurations ranked by their fit members' val error against their train members' test "
                f"error (the architecture shift the standard protocol relies on): Spearman {_rho(pooled)} ({unit}): "
                f"{strength}{per_group}{note}."
            )
        found.append(
            Finding(
                "rank",
                trainset,
                f"{eval_set} ({ranked})",
                pooled["spearman"],
                pooled["spearman_low"],
                pooled["spearman_high"],
                rank_verdict(pooled["spearman"], pooled["spearman_low"], pooled["spearman_high"]),
                text,
            )
        )
    return found


PROTOCOL_WORDING = {
    "below": "chooses better than",
    "above": "chooses worse than",
    "unclear": "is not clearly different from",
    "no interval": "is not clearly different from",
}


def protocol_findings(trainset: str, protocols: pl.DataFrame) -> list[Finding]:
    """Per selection set: its HPS pick against the standard protocol's, as their paired difference in
    test error (negative: the set chose better)."""
    found = []
    hps = protocols.filter(pl.col("group") == ALL)
    for eval_set in hps["eval_set"].unique(maintain_order=True):
        rows = {r["protocol"]: r for r in hps.filter(pl.col("eval_set") == eval_set).iter_rows(named=True)}
        if not {"synthetic protocol", "standard protocol", "synthetic minus standard"} <= rows.keys():
            continue
        syn, std, diff = rows["synthetic protocol"], rows["standard protocol"], rows["synthetic minus standard"]
        verdict = difference_verdict(diff["low"], diff["high"])
        oracle = f"; the oracle reaches {rows['oracle']['test_error'] * 100:.2f}%" if "oracle" in rows else ""
        groups = protocols.filter(
            pl.col("group") != ALL, pl.col("eval_set") == eval_set, pl.col("protocol") == "synthetic minus standard"
        )
        per_group = (
            "; within groups: "
            + ", ".join(
                f"{html.escape(r['group'])} {r['test_error'] * 100:+.2f} [{r['low'] * 100:+.2f}, "
                f"{r['high'] * 100:+.2f}]"
                for r in groups.iter_rows(named=True)
            )
            if groups.height
            else ""
        )
        text = (
            f"On <b>{html.escape(trainset)}</b>, choosing with {set_name(eval_set)} (HPS pick "
            f"{html.escape(syn['chosen'])}, test error {syn['test_error'] * 100:.2f}%) {PROTOCOL_WORDING[verdict]} "
            f"the standard protocol ({std['test_error'] * 100:.2f}%, configuration {html.escape(std['chosen'])} "
            f"chosen on val){oracle}: set minus standard {diff['test_error'] * 100:+.2f} points "
            f"[{diff['low'] * 100:+.2f}, {diff['high'] * 100:+.2f}] (range over configuration resamples, a "
            f"sensitivity, not a confidence interval){per_group}. The sets chose; the test split only scored."
        )
        found.append(
            Finding("protocol", trainset, eval_set, diff["test_error"], diff["low"], diff["high"], verdict, text)
        )
    return found


def calibration_findings(trainset: str, cal: pl.DataFrame) -> list[Finding]:
    """Per generator, at its operating point: rho against test error before and after calibration,
    and whether any point of the sweep ranks held-out calibration models (:data:`LOO_SUPPORT_RHO`)."""
    found = []
    for point in cal.filter(pl.col("chosen"), pl.col("group") == ALL).iter_rows(named=True):
        before, after = point["uncalibrated_spearman"], point["spearman"]
        if _nan(after):  # one calibration model: every model gets the same estimate
            verdict, change = "undefined", "leaves undefined"
            calibrated = "undefined calibrated (every model gets the same estimate)"
        else:
            verdict = "raises" if after > before else "lowers" if after < before else "does not change"
            change, calibrated = verdict, f"{after:.3f} calibrated over {point['evaluation_models']} models"
        groups = cal.filter(pl.col("chosen"), pl.col("group") != ALL, pl.col("generator") == point["generator"])
        per_group = (
            "; by group: "
            + ", ".join(
                f"{html.escape(r['group'])} {r['uncalibrated_spearman']:.3f} -> {r['spearman']:.3f}"
                for r in groups.iter_rows(named=True)
            )
            if groups.height
            else ""
        )
        best_loo = cal.filter(pl.col("generator") == point["generator"])["loo_spearman"].fill_nan(None).max()
        caveat = ""
        if best_loo is not None and best_loo <= LOO_SUPPORT_RHO:
            verdict = "unsupported"
            caveat = (
                f" No point of the sweep ranks held-out calibration models (best leave-one-out rho {best_loo:.3f}), "
                "so the calibration data do not support calibrating this set."
            )
        text = (
            f"Calibrating <b>{html.escape(point['generator'])}</b> on {html.escape(trainset)} at its operating point "
            f"({point['calibration_models']} calibration models, lambda {point['ridge']:g}; chosen by "
            f"{html.escape(point['chosen_by'])}) {change} rho against test error: {before:.3f} uncalibrated, "
            f"{calibrated}{per_group}.{caveat}"
        )
        found.append(Finding("calibration", trainset, point["generator"], after, NAN, NAN, verdict, text))
    return found


def corollary_findings(trainset: str, cor: pl.DataFrame) -> list[Finding]:
    """Per generator: the share of model pairs further apart than TV (and 2 TV) on the synthetic set
    that keep their order on test, which Corollary 3.3 predicts to be all of them."""
    found = []
    for row in cor.iter_rows(named=True):
        name = f"Corollary 3.3 on {html.escape(trainset)}, <b>{html.escape(row['generator'])}</b>"
        if not row["pairs_above_tv"]:
            text = (
                f"{name} (TV {row['tv']:.3f}): no pair of models is further apart than TV on the synthetic set, so "
                f"the corollary guarantees no order; {row['preserved_below_tv'] * 100:.1f}% of the "
                f"{row['pairs_below_tv']} pairs keep their order on test anyway."
            )
            found.append(Finding("corollary", trainset, row["generator"], NAN, NAN, NAN, "vacuous", text))
            continue
        floor = "" if _nan(row.get("tv_floor")) else f", estimator floor {row['tv_floor']:.3f}"
        twice = (
            f"; {row['preserved_above_2tv'] * 100:.1f}% of the {row['pairs_above_2tv']} pairs above 2 TV"
            if row.get("pairs_above_2tv")
            else "; no pair is above 2 TV"
        )
        share = row["preserved_above_tv"]
        text = (
            f"{name} (TV {row['tv']:.3f}{floor}): {share * 100:.1f}% of the {row['pairs_above_tv']} pairs above TV "
            f"keep their order on test{twice} (predicted: 100%)."
        )
        verdict = "holds" if share == 1 else "violated"
        found.append(Finding("corollary", trainset, row["generator"], share, NAN, NAN, verdict, text))
    return found


TRAINING_WORDING = {
    "above": "helps",
    "below": "hurts",
    "unclear": "has no clear effect",
    "no interval": "(one seed: no interval)",
}


ROBUSTNESS_WORDING = {
    "above": "loses more than real-only training",
    "below": "loses less than real-only training",
    "unclear": "loses about as much as real-only training (the interval includes no difference)",
    "no interval": "(one seed: no interval)",
}


def robustness_findings(trainset: str, summary: pl.DataFrame) -> list[Finding]:
    """Per study run, the accuracy drop under the strongest shift, and its excess over real-only
    training's drop, paired by seed; the verdict follows the excess drop's interval."""
    found = []
    for row in strongest_shift(summary).iter_rows(named=True):
        text = (
            f"Under {html.escape(row['shift'])} at severity {row['severity']}, <b>{html.escape(row['run'])}</b> "
            f"drops {row['drop'] * 100:.1f} points [{row['drop_low'] * 100:.1f}, {row['drop_high'] * 100:.1f}] "
            f"from its clean test accuracy (to {row['accuracy'] * 100:.1f}%, {row['seeds']} seeds)"
        )
        if _nan(row["excess_drop"]):
            low, high = row["drop_low"], row["drop_high"]
            found.append(Finding("robustness", trainset, row["run"], row["drop"], low, high, "baseline", text + "."))
            continue
        low, high = row["excess_low"], row["excess_high"]
        verdict = difference_verdict(low, high)
        text += (
            f": it {ROBUSTNESS_WORDING[verdict]}, {row['excess_drop'] * 100:+.1f} points "
            f"[{low * 100:+.1f}, {high * 100:+.1f}] paired by seed."
        )
        found.append(Finding("robustness", trainset, row["run"], row["excess_drop"], low, high, verdict, text))
    return found


def privacy_findings(trainset: str, attacks: pl.DataFrame) -> list[Finding]:
    """Per attacked run, LiRA's TPR at 1% FPR with the online attack (Carlini et al.'s main one; with
    fewer than 6 models, its fixed-variance form), fixed in advance rather than the best of the four on
    these queries; no interval: the numbers of targets and queries are stated instead."""
    found = []
    for (run,), group in attacks.group_by(["run"], maintain_order=True):
        attack = "online" if "online" in set(group["attack"]) else "online_fixed_variance"
        row = group.filter(pl.col("attack") == attack).row(0, named=True)
        text = (
            f"LiRA against <b>{html.escape(run)}</b> ({row['targets']} target models, each with {row['shadows']} "
            f"shadows; {row['members']} member and {row['non_members']} non-member queries): TPR "
            f"{row['tpr_at_1pct_fpr'] * 100:.2f}% at 1% FPR (chance: 1%) and {row['tpr_at_0.1pct_fpr'] * 100:.2f}% "
            f"at 0.1%, AUC {row['auc']:.3f} ({row['attack'].replace('_', ' ')}); the targets reach "
            f"{row['test_accuracy'] * 100:.1f}% test accuracy. No interval."
        )
        found.append(Finding("privacy", trainset, run, row["tpr_at_1pct_fpr"], NAN, NAN, "no interval", text))
    return found


def training_findings(trainset: str, summary: pl.DataFrame) -> list[Finding]:
    """Real-only training's accuracy, then every other run's gain over it, paired by seed."""
    real = summary.filter(pl.col("method") == "real")
    if real.is_empty():
        return []
    base = real.row(0, named=True)
    found = [
        Finding(
            "training",
            trainset,
            base["run"],
            base["accuracy"],
            base["low"],
            base["high"],
            "baseline",
            f"On <b>{html.escape(trainset)}</b>, real-only training reaches "
            f"{percent_cell(base['accuracy'], base['low'], base['high'])}% test accuracy over {base['seeds']} seeds.",
        )
    ]
    for row in summary.filter(pl.col("method") != "real").sort("gain", descending=True).iter_rows(named=True):
        low, high = row["gain_low"], row["gain_high"]
        verdict = difference_verdict(low, high)
        text = (
            f"{html.escape(row['run'])}: {TRAINING_WORDING[verdict]}, {row['gain'] * 100:+.2f} points "
            f"[{low * 100:+.2f}, {high * 100:+.2f}] over real-only training ({row['accuracy'] * 100:.2f}%)."
        )
        found.append(Finding("training", trainset, row["run"], row["gain"], low, high, verdict, text))
    return found
