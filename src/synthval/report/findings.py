"""The report's findings: one record per finding, its verdict decided by its interval and its test, then
worded.

A verdict is earned, not printed (:mod:`synthval.inference`, ``bench/results/coverage.md``):

- it needs the size at which the benchmark found its interval to cover: a ranking
  :data:`~synthval.inference.MIN_CONFIGURATIONS` configurations, a mean of paired differences
  :data:`~synthval.inference.MIN_UNITS` units; below that the finding says how many it needs;
- every test of one report is one family, corrected by Holm's method (:func:`settle`): a verdict needs
  its Holm-adjusted p-value at most 0.05 and an interval on the same side of no effect;
- a ranking verdict answers one of three questions over its own unit (:mod:`synthval.questions`: which
  architecture, which hyper-parameters, which trained model) and needs the run's own design to have been
  simulated and the interval to hold there (:func:`synthval.simulation.design_holds`); the rho over
  configurations pooled as if independent is described, never concluded;
- a ranking is *strong* only when its whole interval, Bonferroni-adjusted over the report's tests (as
  strict as Holm's first step), is at or above :data:`STRONG_RHO` (:data:`STRONG_TAU` for a Kendall
  tau); a difference (of test errors, of accuracies, of rhos) is one only when its interval excludes
  :data:`NO_DIFFERENCE`.

The sets chose; the test split only scored (the tables these records read say which split did what).
"""

from __future__ import annotations

import dataclasses
import html
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial

import polars as pl

from synthval.evaluation.robustness import strongest_shift
from synthval.evaluation.study import percent_cell
from synthval.inference import ALPHA, MIN_CONFIGURATIONS, MIN_UNITS, SMALLEST_TESTABLE, holm
from synthval.metrics.membership import PER_IMAGE_VARIANCE_MODELS
from synthval.questions import ASKS, QUESTIONS, SEED, Answer, units_needed
from synthval.selection.ranking import ALL, FIT_MEMBERS, POOLED, TRAIN_MEMBERS, pooled_note
from synthval.selection.ranking import CONFIGURATIONS as CONFIGURATIONS_RANKED

#: A ranking is called strong when its whole (adjusted) interval is at or above this Spearman rho ...
STRONG_RHO = 0.7
#: ... or this Kendall tau (the tau of a bivariate normal whose Spearman rho is 0.7: 2/pi asin(2 sin(0.7 pi/6)))
STRONG_TAU = 0.5
#: A difference (of test errors, of accuracies) is called one when its interval excludes this.
NO_DIFFERENCE = 0.0
#: Calibration is supported when some point of its sweep ranks held-out calibration models above this
#: leave-one-out rho.
LOO_SUPPORT_RHO = 0.0
#: the correction the findings' first line names
MULTIPLICITY = "Holm"

NAN = float("nan")

#: rank verdicts, from :func:`rank_verdict`, and their wording
RANK_WORDING = {
    "undefined": "undefined rank preservation (too few models, or constant errors)",
    "too few": "too few units to conclude",
    "strong": "strong rank preservation (the whole interval, adjusted for the report's tests, is at or above "
    f"{STRONG_RHO} for a rho, {STRONG_TAU} for a tau)",
    "positive": "positive rank preservation (the interval excludes 0)",
    "reversed": "a reversed ranking (the whole interval is below 0: the set orders models against their test error)",
    "unclear": "no clear rank preservation",
    "design fails": "no verdict: at this design the simulation with a known truth does not show the interval to hold",
    "not asked": "not asked: the design cannot ask it",
    "described": "described, not concluded: configurations of one architecture are not independent",
}
#: verdicts that claim something, and so must survive the multiplicity correction
CLAIMS = {"strong", "positive", "reversed", "below", "above", "raises", "lowers"}


@dataclass(frozen=True)
class Finding:
    """One finding: what it is about (``topic``: rank, protocol, calibration, corollary, training; the
    training set; ``subject``: the set, generator or run; ``group``), its statistic with its interval
    (NaN where there is none), the ``verdict``, and the sentence (HTML) that says so. A finding whose
    verdict is a claim carries its ``p_value`` and ``word`` (verdict, adjusted p -> sentence) until
    :func:`settle` corrects the family and words it."""

    topic: str
    trainset: str
    subject: str
    estimate: float
    low: float
    high: float
    verdict: str
    text: str
    group: str = ALL
    p_value: float = NAN
    adjusted_p: float = NAN
    n: int = 0
    needed: int | None = None  # units a verdict needs, where it has too few or is unclear
    #: the finding's text for a settled verdict and adjusted p (and, for a question, the units it needs)
    word: Callable[..., str] | None = dataclasses.field(default=None, compare=False, repr=False)
    question: str = ""  # for rank findings: the question (synthval.questions) or "pooled"
    #: a rank verdict's interval at another level, and the units it would need over m tests (settle uses both)
    bounds: Callable[[float], tuple[float, float]] | None = dataclasses.field(default=None, compare=False, repr=False)
    needs: Callable[[int], int | None] | None = dataclasses.field(default=None, compare=False, repr=False)
    strong_at: float = STRONG_RHO


def settle(findings: list[Finding]) -> list[Finding]:
    """Holm's correction over every finding with a p-value (one report, one family): a claimed verdict
    whose adjusted p-value exceeds 0.05 becomes ``unclear``; a strong one stays strong only if its interval
    at the Bonferroni level 1 - 0.05/m (m tests) is still at or above its threshold; the units a ranking
    needs are worked out at 80% power over the m tests; then each is worded."""
    tested = [i for i, f in enumerate(findings) if f.p_value == f.p_value]
    adjusted = dict(zip(tested, holm([findings[i].p_value for i in tested]), strict=True))
    m = max(len(tested), 1)
    out = []
    for i, f in enumerate(findings):
        p = adjusted.get(i, NAN)
        verdict = f.verdict
        if verdict in CLAIMS and not p <= ALPHA:
            verdict = "unclear"
        if verdict == "strong" and f.bounds is not None and not f.bounds(1 - ALPHA / m)[0] >= f.strong_at:
            verdict = "positive"
        if f.needs is not None:
            needed = f.needs(m) if verdict in ("too few", "unclear") else None
            f = dataclasses.replace(f, needed=needed)
            text = f.word(verdict, p, needed=needed) if f.word else f.text
        else:
            text = f.word(verdict, p) if f.word else f.text
        out.append(dataclasses.replace(f, verdict=verdict, adjusted_p=p, text=text, word=None, bounds=None, needs=None))
    return out


def family_line(findings: list[Finding]) -> str:
    """The findings' first line: how many tests the correction covered and what a verdict needs."""
    tests = sum(1 for f in findings if f.adjusted_p == f.adjusted_p)
    return (
        f"Verdicts are corrected for multiplicity with {MULTIPLICITY}'s method over the {tests} tests of this report "
        "(family-wise error rate 5%). A ranking verdict answers one of three questions over its own unit "
        "(architectures, or configurations for the seed question) and needs this run's own design to have been "
        "simulated and the interval to hold there (bench/results/coverage.md has the designs users build); a rho "
        "over architectures needs at least "
        f"{MIN_CONFIGURATIONS} of them and its exact permutation test cannot reject below {SMALLEST_TESTABLE}; a "
        f"paired difference needs {MIN_UNITS} units. The rho over configurations pooled as if independent is "
        "described, never concluded. Intervals are 95%, unadjusted; 'strong' is read off the interval adjusted for "
        "the report's tests."
    )


def _nan(x: float | None) -> bool:
    return x is None or x != x


def _three(x: float, sign: str = "") -> str:
    """Three decimals, or "undefined" (a rho over constant estimates)."""
    return "undefined" if _nan(x) else f"{x:{sign}.3f}"


def rank_verdict(
    rho: float, low: float, high: float, n_configs: int = MIN_CONFIGURATIONS, strong: float = STRONG_RHO
) -> str:
    """The verdict on a rank correlation (a key of :data:`RANK_WORDING`) from its interval and size,
    before the multiplicity correction."""
    if _nan(rho):
        return "undefined"
    if n_configs < MIN_CONFIGURATIONS or _nan(low):
        return "too few"
    if low >= strong:
        return "strong"
    if low > 0:
        return "positive"
    if high < 0:
        return "reversed"
    return "unclear"


def paired_finding(
    topic: str,
    trainset: str,
    subject: str,
    estimate: float,
    interval: tuple[float, float],
    n: int,
    p_value: float,
    sentence: Callable[[str, str], str],
    group: str = ALL,
) -> Finding:
    """A mean of paired differences as a finding: the verdict from its interval and its ``n`` units
    (:func:`difference_verdict`), a p-value only where a verdict can be drawn, and ``sentence(verdict,
    p-text)`` to word it once :func:`settle` has adjusted the p-value."""
    low, high = interval
    verdict = difference_verdict(low, high, n)

    def word(verdict: str, adjusted: float) -> str:
        return sentence(verdict, _p(p_value, adjusted))

    return Finding(
        topic,
        trainset,
        subject,
        estimate,
        low,
        high,
        verdict,
        word(verdict, NAN),
        group=group,
        p_value=p_value if verdict != "too few" else NAN,
        n=n,
        word=word,
    )


def difference_verdict(low: float, high: float, n: int = MIN_UNITS) -> str:
    """``below``, ``above`` or ``unclear``: where the interval of a difference lies against
    :data:`NO_DIFFERENCE`; ``too few`` below :data:`~synthval.inference.MIN_UNITS` units or without
    an interval (one seed, one configuration)."""
    if _nan(low) or n < MIN_UNITS:
        return "too few"
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


def _rho(row: dict) -> str:
    interval = "" if _nan(row["spearman_low"]) else f" [{row['spearman_low']:.3f}, {row['spearman_high']:.3f}]"
    return f"rho = {row['spearman']:.3f}{interval}"


def _p(raw: float, adjusted: float) -> str:
    if _nan(raw):
        return ""
    return f"p = {raw:.2g}" + ("" if _nan(adjusted) else f", {MULTIPLICITY}-adjusted {adjusted:.2g}")


def rank_wording(verdict: str, row: dict, adjusted: float, needed: int | None = None) -> str:
    """The verdict's words for a rank row, with what would settle it where it is not settled."""
    words = RANK_WORDING[verdict]
    unit = row.get("interval_unit") or "configurations"
    n = row.get("n_units") or row["n_configs"]
    needed = needed if needed is not None else row.get("configs_needed")
    if verdict == "too few":
        return f"{words} (have {n} {unit}" + (f", need about {needed})" if needed else ")")
    if verdict == "unclear":
        why = "the interval includes 0" if row["spearman_low"] <= 0 <= row["spearman_high"] else "not significant"
        more = f"; about {needed} {unit} would settle an effect this size at 80% power" if needed and needed > n else ""
        return f"{words} ({why} after the {MULTIPLICITY} correction{more})" if not _nan(adjusted) else words
    return words


def _answer_of(row: dict) -> Answer:
    return Answer(
        row["question"],
        row["spearman"],
        row["spearman_low"],
        row["spearman_high"],
        row["p_value"],
        row["n_units"] or 0,
        row["interval"],
        NAN if row["se"] is None else row["se"],
        row["scale"] or "fisher",
        row["df"] or 0,
        bool(row["disjoint"]),
        False,
        row["pairs"] or 0,
    )


def question_verdict(row: dict) -> str:
    """The verdict of a question row (:mod:`synthval.questions`) before the multiplicity correction: not
    asked where the design cannot ask it, too few without an interval, no verdict where the run's own
    design did not hold in the simulation, else from its interval."""
    if not row["n_units"]:
        return "not asked"
    if _nan(row["spearman"]):
        return "undefined"
    if _nan(row["spearman_low"]):
        return "too few"
    if row["design_holds"] is not True:
        return "design fails"
    strong = STRONG_RHO if row["scale"] == "fisher" else STRONG_TAU
    return rank_verdict(row["spearman"], row["spearman_low"], row["spearman_high"], MIN_CONFIGURATIONS, strong)


NOT_ASKED = {
    SEED: "one seed a configuration: a set cannot be asked to tell seeds apart",
    "hyper-parameters": "no architecture has two variants (crossed variants need three)",
    "architecture": "fewer than three architectures",
}


def _design_words(row: dict) -> str:
    luck = ""
    if row["question"] != SEED:
        luck = (
            "; the set's and the test errors from disjoint seeds"
            if row["disjoint"]
            else "; one seed a configuration, so seed luck shared by the set and test counts"
        )
    holds = {True: "holds", False: "does not hold", None: "not simulated (no interval)"}[row["design_holds"]]
    return f"design {row['design']}{luck}; the simulation of this design {holds}"


def _span(errors: pl.Series) -> str:
    """The lowest and highest of ``errors``, in percent."""
    values = errors.to_numpy()
    return f"{values.min() * 100:.2f}% to {values.max() * 100:.2f}%"


def rank_findings(trainset: str, rank: pl.DataFrame, test_errors: pl.Series | None) -> list[Finding]:
    """Per (set, models ranked, group): the three questions' answers, each over its own unit, and the
    rank correlation over configurations pooled as if independent, described only, with a note where the
    pool hides a group (:func:`synthval.selection.ranking.pooled_note`)."""
    found = []
    where = f"On <b>{html.escape(trainset)}</b>, "
    for (eval_set, ranked), rows in rank.group_by("eval_set", "ranked", maintain_order=True):
        note = pooled_note(rank, eval_set, ranked)
        order = {POOLED: 0, **{q: i + 1 for i, q in enumerate(QUESTIONS)}}
        ordered = sorted(
            rows.iter_rows(named=True), key=lambda r: (r["group"] != ALL, r["group"], order.get(r["question"], 9))
        )
        for row in ordered:
            group = "" if row["group"] == ALL else f" (group <b>{html.escape(row['group'])}</b>)"
            if ranked == TRAIN_MEMBERS:
                span = (
                    f"; test errors span {_span(test_errors)}"
                    if row["group"] == ALL and test_errors is not None and test_errors.len()
                    else ""
                )
                who, what = f"{set_name(eval_set)}{group}", "the train members"
            elif ranked == FIT_MEMBERS:
                span = ""
                who, what = f"the real baseline, the <b>val split</b>{group},", "the fit members"
            else:
                span = ""
                who, what = f"configurations{group}", ""
            if row["question"] == POOLED:
                found.append(_pooled_finding(trainset, where, who, what, ranked, eval_set, row, span, note))
                continue
            question = row["question"]
            verdict = question_verdict(row)
            a = _answer_of(row)

            def word(verdict: str, adjusted: float, row=row, who=who, what=what, needed=None) -> str:
                p = _p(row["p_value"], adjusted)
                lead = f"{where}{who} answers <b>{ASKS[row['question']]}</b> for {what}"
                if verdict == "not asked":
                    return f"{lead}: {RANK_WORDING[verdict]} ({NOT_ASKED[row['question']]})."
                estimate = (
                    "undefined"
                    if _nan(row["spearman"])
                    else f"{row['spearman']:.3f}"
                    + ("" if _nan(row["spearman_low"]) else f" [{row['spearman_low']:.3f}, {row['spearman_high']:.3f}]")
                )
                method = "" if _nan(row["spearman_low"]) else f"95% {row['interval']}; "
                return (
                    f"{lead} with {row['statistic']} = {estimate} ({method}{row['n_units']} "
                    f"{row['interval_unit']}, {row['n_models']} models; {_design_words(row)}"
                    f"{'; ' + p if p else ''}): {rank_wording(verdict, row, adjusted, needed)}."
                )

            claims = verdict in CLAIMS or verdict == "unclear"
            found.append(
                Finding(
                    "rank",
                    trainset,
                    f"{eval_set} ({ranked})",
                    row["spearman"],
                    row["spearman_low"],
                    row["spearman_high"],
                    verdict,
                    word(verdict, NAN),
                    group=row["group"],
                    p_value=row["p_value"] if claims else NAN,
                    n=row["n_units"] or 0,
                    question=question,
                    bounds=a.bounds,
                    needs=partial(units_needed, a),
                    strong_at=STRONG_RHO if row["scale"] == "fisher" else STRONG_TAU,
                    word=word,
                )
            )
    return found


def _pooled_finding(
    trainset: str, where: str, who: str, what: str, ranked: str, eval_set: str, row: dict, span: str, note: str | None
) -> Finding:
    """The rho over configurations pooled as if independent: described, never concluded."""
    unit = f"{row['n_models']} models, {row['n_configs']} configurations" + (
        "" if _nan(row["spearman_low"]) else f"; 95% {row['interval']} over {row['interval_unit']}, as if independent"
    )
    if ranked == CONFIGURATIONS_RANKED:
        lead = (
            f"{where}{who} ranked by their fit members' val error against their train members' test error (the "
            "architecture shift the standard protocol relies on)"
        )
    else:
        lead = f"{where}{who} ranks {what}' configurations, pooled,"
    extra = f". Note: {html.escape(note)}" if note and row["group"] == ALL else ""
    text = (
        f"{lead} with Spearman {_rho(row)} (Kendall tau = {row['kendall']:.3f}; {unit}): "
        f"{RANK_WORDING['described']}; the three questions' rows conclude{span}{extra}."
    )
    return Finding(
        "rank",
        trainset,
        f"{eval_set} ({ranked})",
        row["spearman"],
        row["spearman_low"],
        row["spearman_high"],
        "described",
        text,
        group=row["group"],
        n=row["n_configs"],
        question=POOLED,
    )


PAIRED_WORDING = {
    "below": "picks models with lower test error than",
    "above": "picks models with higher test error than",
    "unclear": "is not clearly different from",
    "too few": "gets no verdict (too few architectures) against",
}


def _difference(verdict: str, wording: dict[str, str], needed: str) -> str:
    return wording[verdict] + (f" ({needed})" if verdict == "too few" else "")


def protocol_findings(trainset: str, protocols: pl.DataFrame) -> list[Finding]:
    """Per selection set and group: ES, RSS and ES + RSS against the last-epoch baseline as paired
    differences over configurations (a verdict each), then the HPS pick against the standard protocol's,
    described without a verdict: one zoo holds one replicate of a pick from the whole pool."""
    found = []
    where = f"On <b>{html.escape(trainset)}</b>, "
    for (eval_set,), table in protocols.group_by(["eval_set"], maintain_order=True):
        groups = sorted(table["group"].unique().to_list(), key=lambda g: (g != ALL, g))
        for group in groups:
            rows = {r["protocol"]: r for r in table.filter(pl.col("group") == group).iter_rows(named=True)}
            label = "" if group == ALL else f" (group <b>{html.escape(group)}</b>)"
            for name in ("ES", "RSS", "ES + RSS"):
                diff = rows.get(f"{name} minus baseline")
                if diff is None:
                    continue
                n = int(diff["units"])

                def sentence(verdict: str, p: str, diff=diff, name=name, n=n, label=label, eval_set=eval_set) -> str:
                    needed = f"have {n}, need {MIN_UNITS}; the interval is a description"
                    return (
                        f"{where}{name} with {set_name(eval_set)}{label} "
                        f"{_difference(verdict, PAIRED_WORDING, needed)} the last epoch of every run: "
                        f"{diff['test_error'] * 100:+.2f} points [{diff['low'] * 100:+.2f}, {diff['high'] * 100:+.2f}] "
                        f"of test error, paired over {n} {html.escape(diff['interval_unit'])}"
                        f"{'; ' + p if p else ''}."
                    )

                found.append(
                    paired_finding(
                        "protocol",
                        trainset,
                        f"{eval_set} ({name})",
                        diff["test_error"],
                        (diff["low"], diff["high"]),
                        n,
                        diff.get("p_value", NAN),
                        sentence,
                        group=group,
                    )
                )
            if group == ALL and {"synthetic protocol", "standard protocol", "synthetic minus standard"} <= rows.keys():
                found.append(_hps_finding(trainset, eval_set, rows, table))
    return found


def _hps_finding(trainset: str, eval_set: str, rows: dict, table: pl.DataFrame) -> Finding:
    syn, std, diff = rows["synthetic protocol"], rows["standard protocol"], rows["synthetic minus standard"]
    oracle = f"; the oracle reaches {rows['oracle']['test_error'] * 100:.2f}%" if "oracle" in rows else ""
    groups = table.filter(pl.col("group") != ALL, pl.col("protocol") == "synthetic minus standard")
    per_group = (
        "; within groups: "
        + ", ".join(
            f"{html.escape(r['group'])} {r['test_error'] * 100:+.2f} [{r['low'] * 100:+.2f}, {r['high'] * 100:+.2f}]"
            for r in groups.iter_rows(named=True)
        )
        if groups.height
        else ""
    )
    text = (
        f"On <b>{html.escape(trainset)}</b>, HPS with {set_name(eval_set)} picks {html.escape(syn['chosen'])} (test "
        f"error {syn['test_error'] * 100:.2f}%), the standard protocol configuration {html.escape(std['chosen'])} "
        f"chosen on val ({std['test_error'] * 100:.2f}%){oracle}: set minus standard {diff['test_error'] * 100:+.2f} "
        f"points [{diff['low'] * 100:+.2f}, {diff['high'] * 100:+.2f}] (range over configuration resamples, a "
        f"sensitivity, not a confidence interval){per_group}. No verdict: one zoo is one replicate of a pick from the "
        "whole pool. The sets chose; the test split only scored."
    )
    return Finding(
        "protocol", trainset, f"{eval_set} (HPS)", diff["test_error"], diff["low"], diff["high"], "no verdict", text
    )


def calibration_findings(trainset: str, cal: pl.DataFrame) -> list[Finding]:
    """Per generator and group, at its operating point: rho over configurations against test error
    before and after calibration, and their difference paired on the same configurations with Zou's
    interval (a verdict from :data:`~synthval.inference.MIN_CONFIGURATIONS` configurations); and whether
    any point of the sweep ranks held-out calibration models (:data:`LOO_SUPPORT_RHO`)."""
    found = []
    chosen = cal.filter(pl.col("chosen"))
    for point in sorted(chosen.iter_rows(named=True), key=lambda r: (r["generator"], r["group"] != ALL, r["group"])):
        before, after = point["uncalibrated_spearman"], point["spearman"]
        n = point.get("evaluation_architectures", point["evaluation_configs"])
        label = "" if point["group"] == ALL else f", group <b>{html.escape(point['group'])}</b>"
        loo = cal.filter(pl.col("generator") == point["generator"])["loo_spearman"].fill_nan(None).drop_nulls()
        best_loo = float(loo.to_numpy().max()) if len(loo) else None
        caveat = ""
        if best_loo is not None and best_loo <= LOO_SUPPORT_RHO:
            caveat = (
                f" No point of the sweep ranks held-out calibration models (best leave-one-out rho {best_loo:.3f}), "
                "so the calibration data do not support calibrating this set."
            )
        if _nan(after) or _nan(before):
            verdict = "undefined"
        elif n < MIN_CONFIGURATIONS or _nan(point["change_low"]):
            verdict = "too few"
        else:
            verdict = {"below": "lowers", "above": "raises"}.get(
                difference_verdict(point["change_low"], point["change_high"]), "unclear"
            )

        def word(verdict: str, adjusted: float, point=point, label=label, caveat=caveat, n=n) -> str:
            change = {
                "raises": "raises",
                "lowers": "lowers",
                "unclear": "does not clearly change",
                "too few": f"cannot be judged (too few architectures: have {n}, need {MIN_CONFIGURATIONS}) on",
                "undefined": "leaves undefined",
            }[verdict]
            interval = (
                ""
                if _nan(point["change_low"])
                else f" [{point['change_low']:+.3f}, {point['change_high']:+.3f}], {point['interval']}"
            )
            p = _p(point["p_value"], adjusted)
            return (
                f"Calibrating <b>{html.escape(point['generator'])}</b> on {html.escape(trainset)}{label} at its "
                f"operating point ({point['calibration_models']} calibration models, lambda {point['ridge']:g}; "
                f"chosen by {html.escape(point['chosen_by'])}) {change} rho against test error over "
                f"{point['evaluation_configs']} configurations: {_three(point['uncalibrated_spearman'])} uncalibrated, "
                f"{_three(point['spearman'])} calibrated; over {n} architecture means (configurations of one "
                f"architecture are not independent) a change of {_three(point['change'], '+')}{interval}"
                f"{'; ' + p if p else ''}.{caveat}"
            )

        found.append(
            Finding(
                "calibration",
                trainset,
                point["generator"],
                point["change"],
                point["change_low"],
                point["change_high"],
                verdict,
                word(verdict, NAN),
                group=point["group"],
                p_value=point["p_value"] if verdict in ("raises", "lowers", "unclear") else NAN,
                n=n,
                word=word,
            )
        )
    return found


def corollary_findings(trainset: str, cor: pl.DataFrame) -> list[Finding]:
    """Per generator: the share of model pairs further apart than TV (and 2 TV) on the synthetic set
    that keep their order on test, which Corollary 3.3 predicts to be all of them, with the number of
    pairs. Described, never concluded: pairs share models (they are not independent evidence), TV is an
    estimate, and each pair's test order carries test-image noise."""
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
            f"keep their order on test{twice} (predicted: 100%). Described, not concluded: the pairs share models, "
            "so they are not independent evidence."
        )
        found.append(Finding("corollary", trainset, row["generator"], share, NAN, NAN, "described", text))
    return found


TRAINING_WORDING = {
    "above": "helps",
    "below": "hurts",
    "unclear": "has no clear effect",
    "too few": f"no verdict (fewer than {MIN_UNITS} seeds; the interval is a description)",
}


ROBUSTNESS_WORDING = {
    "above": "loses more than real-only training",
    "below": "loses less than real-only training",
    "unclear": "loses about as much as real-only training (no clear difference)",
    "too few": f"gets no verdict against real-only training (fewer than {MIN_UNITS} seeds)",
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

        def sentence(verdict: str, p: str, row=row, text=text) -> str:
            return text + (
                f": it {ROBUSTNESS_WORDING[verdict]}, {row['excess_drop'] * 100:+.1f} points "
                f"[{row['excess_low'] * 100:+.1f}, {row['excess_high'] * 100:+.1f}] paired by seed"
                f"{'; ' + p if p else ''}."
            )

        found.append(
            paired_finding(
                "robustness",
                trainset,
                row["run"],
                row["excess_drop"],
                (row["excess_low"], row["excess_high"]),
                row["seeds"],
                row.get("excess_p", NAN),
                sentence,
            )
        )
    return found


#: A run's LiRA targets are strong enough for their leakage to be compared once their test accuracy has
#: covered this share of the real-only targets' margin over chance (or, with no real-only run attacked, is
#: this many points above chance): weaker models memorise little because they learnt little.
WEAK_TARGETS_SHARE, WEAK_TARGETS_POINTS = 0.5, 0.10


def weak_targets(run: str, accuracy: float, attacks: pl.DataFrame, num_classes: int | None) -> str:
    """Why a run's LiRA targets are too weak for their leakage to be compared with other runs' ('' when
    they are not): test accuracy near chance, or far below the real-only targets'."""
    if not num_classes:
        return ""
    chance = 1 / num_classes
    real = attacks.filter(pl.col("run") == "real")
    if run != "real" and real.height:
        reference = float(real["test_accuracy"][0])
        if accuracy < chance + WEAK_TARGETS_SHARE * (reference - chance):
            return (
                f"they reach {accuracy * 100:.1f}% test accuracy against the real-only targets' "
                f"{reference * 100:.1f}% (chance {chance * 100:.0f}%): less than {WEAK_TARGETS_SHARE:.0%} of their "
                "margin over chance"
            )
        return ""
    if accuracy < chance + WEAK_TARGETS_POINTS:
        return (
            f"they reach {accuracy * 100:.1f}% test accuracy, within {WEAK_TARGETS_POINTS * 100:.0f} points of chance"
        )
    return ""


def privacy_findings(trainset: str, attacks: pl.DataFrame, num_classes: int | None = None) -> list[Finding]:
    """Per attacked run, LiRA's TPR at 1% FPR with the online attack (Carlini et al.'s main one) in its
    fixed-variance form below :data:`PER_IMAGE_VARIANCE_MODELS` models and with per-image variances from
    there (where a simulation shows each is the stronger), fixed in advance rather than the best of the
    four on these queries; no interval: the numbers of targets and queries are stated instead. Where the
    targets are too weak to compare (:func:`weak_targets`), the finding says so instead of reading their
    low leakage as privacy."""
    found = []
    for (run,), group in attacks.group_by(["run"], maintain_order=True):
        enough = int(group["targets"].to_numpy().max()) >= PER_IMAGE_VARIANCE_MODELS and "online" in set(
            group["attack"]
        )
        attack = "online" if enough else "online_fixed_variance"
        row = group.filter(pl.col("attack") == attack).row(0, named=True)
        text = (
            f"LiRA against <b>{html.escape(run)}</b> ({row['targets']} target models, each with {row['shadows']} "
            f"shadows; {row['members']} member and {row['non_members']} non-member queries): TPR "
            f"{row['tpr_at_1pct_fpr'] * 100:.2f}% at 1% FPR (chance: 1%) and {row['tpr_at_0.1pct_fpr'] * 100:.2f}% "
            f"at 0.1%, AUC {row['auc']:.3f} ({row['attack'].replace('_', ' ')}); the targets reach "
            f"{row['test_accuracy'] * 100:.1f}% test accuracy. No interval."
        )
        verdict = "no interval"
        if why := weak_targets(run, row["test_accuracy"], attacks, num_classes):
            verdict = "uninformative"
            text += (
                f" <b>Not comparable</b>: {why}, so a low TPR says these models learnt little, not that training "
                "them this way protects the training images."
            )
        found.append(Finding("privacy", trainset, run, row["tpr_at_1pct_fpr"], NAN, NAN, verdict, text))
    return found


def unmeasured_privacy_finding(trainset: str, accuracy: pl.DataFrame, num_classes: int | None) -> Finding | None:
    """Where the training study ran without LiRA: the privacy finding says leakage was not measured, and
    whether targets trained as the study's runs are would be strong enough for LiRA to compare them
    (:func:`weak_targets`' rule on each run's mean test accuracy over seeds). The study's runs train on the
    whole training set, LiRA's targets on half of it, so theirs would be somewhat lower."""
    test = accuracy.filter(pl.col("eval_set") == "test")
    if test.is_empty() or not num_classes:
        return None
    means = test.group_by("run", maintain_order=True).agg(test_accuracy=pl.col("accuracy").mean()).sort("test_accuracy")
    weak = [
        (r["run"], why)
        for r in means.iter_rows(named=True)
        if (why := weak_targets(r["run"], r["test_accuracy"], means, num_classes))
    ]
    weakest = means.filter(pl.col("run") != "real").head(1)
    text = (
        f"Membership leakage was not measured on <b>{html.escape(trainset)}</b> (<code>privacy.lira.enabled</code> "
        "is false), so this report says nothing about it. "
    )
    if weak:
        text += "Had LiRA run, targets trained as these study runs are would be too weak to compare: " + "; ".join(
            f"{html.escape(run)}: {why}" for run, why in weak
        )
    elif weakest.height:
        row = weakest.row(0, named=True)
        text += (
            f"Had LiRA run, targets trained as the study's runs are would be strong enough to compare: the weakest, "
            f"{html.escape(row['run'])}, reaches {row['test_accuracy'] * 100:.1f}% test accuracy, "
            + (
                f"more than {WEAK_TARGETS_SHARE:.0%} of real-only training's margin over chance"
                if "real" in means["run"]
                else f"more than {WEAK_TARGETS_POINTS * 100:.0f} points above chance"
            )
        )
    else:
        return None
    text += " (the study's runs train on the whole training set, LiRA's targets on half of it)."
    return Finding("privacy", trainset, "not measured", NAN, NAN, NAN, "not measured", text)


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

        def sentence(verdict: str, p: str, row=row) -> str:
            return (
                f"{html.escape(row['run'])}: {TRAINING_WORDING[verdict]}, {row['gain'] * 100:+.2f} points "
                f"[{row['gain_low'] * 100:+.2f}, {row['gain_high'] * 100:+.2f}] over real-only training "
                f"({row['accuracy'] * 100:.2f}%), paired by seed{'; ' + p if p else ''}."
            )

        found.append(
            paired_finding(
                "training",
                trainset,
                row["run"],
                row["gain"],
                (row["gain_low"], row["gain_high"]),
                row["seeds"],
                row.get("gain_p", NAN),
                sentence,
            )
        )
    return found
