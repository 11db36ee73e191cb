import numpy as np
import polars as pl
import pytest

from synthval.data.images import ImageSet
from synthval.evaluation.predict import prediction_table
from synthval.selection import model_errors, rank_correlation


def _errors(test, synth):
    rows = []
    for i, (t, s) in enumerate(zip(test, synth, strict=True)):
        m = f"arch{i}-base-s0"  # one model per configuration
        rows += [
            {"model": m, "epoch": 5, "eval_set": "test", "error": t},
            {"model": m, "epoch": 5, "eval_set": "gan", "error": s},
        ]
        rows += [
            {"model": m, "epoch": 1, "eval_set": "test", "error": 0.9},
            {"model": m, "epoch": 1, "eval_set": "gan", "error": 0.1 * i},
        ]
    return pl.DataFrame(rows)


def test_model_errors_count_mistakes():
    images = ImageSet(["a", "b", "c", "d"], np.zeros((4, 2, 2, 1), np.uint8), np.array([0, 1, 2, 3]))
    table = pl.concat(
        [
            prediction_table("m", 1, "test", images, np.array([0, 1, 0, 0]), np.ones(4, np.float32)),
            prediction_table("m", 2, "test", images, np.array([0, 1, 2, 3]), np.ones(4, np.float32)),
        ]
    )
    errors = model_errors(table).sort("epoch")
    assert errors["error"].to_list() == [0.5, 0.0]
    assert errors["n"].to_list() == [4, 4]


def _spearman_by_hand(x, y):
    rx, ry = np.argsort(np.argsort(x)), np.argsort(np.argsort(y))
    n = len(x)
    return 1 - 6 * np.sum((rx - ry) ** 2) / (n * (n**2 - 1))


def test_rank_correlation_matches_the_closed_form_on_the_last_epoch():
    test = np.array([0.10, 0.20, 0.15, 0.40, 0.30, 0.05])
    synth = np.array([0.12, 0.35, 0.11, 0.50, 0.33, 0.02])
    rank = rank_correlation(_errors(test, synth)).row(0, named=True)
    assert rank["eval_set"] == "gan"
    assert rank["n_models"] == 6
    assert rank["spearman"] == pytest.approx(_spearman_by_hand(synth, test))
    concordant = sum(
        np.sign(synth[i] - synth[j]) * np.sign(test[i] - test[j]) for i in range(6) for j in range(i + 1, 6)
    )
    assert rank["kendall"] == pytest.approx(concordant / 15)


def test_perfect_and_reversed_rankings():
    test = np.linspace(0.1, 0.5, 5)
    assert rank_correlation(_errors(test, test * 2))["spearman"][0] == pytest.approx(1.0)
    assert rank_correlation(_errors(test, -test))["spearman"][0] == pytest.approx(-1.0)


def test_missing_reference_is_an_error():
    with pytest.raises(ValueError, match="reference set 'test'"):
        rank_correlation(_errors([0.1, 0.2, 0.3], [0.1, 0.2, 0.3]).filter(pl.col("eval_set") != "test"))


def test_imported_models_of_one_family_count_as_one_architecture():
    """zoo.imported's family key: the architecture question ranks family means, and the hyper-parameter
    question orders the models within each family (synthval.questions, synthval.zoo.families)."""
    from synthval.questions import Layout, answer

    rng = np.random.default_rng(0)
    names = [f"m{i}" for i in range(12)]
    family = {n: f"f{i // 3}" for i, n in enumerate(names)}  # 4 families of 3
    test, synth = rng.uniform(0.05, 0.3, 12), rng.uniform(0.05, 0.3, 12)
    rows = [
        {"model": f"{n}-imported-s0", "epoch": 1, "eval_set": s, "error": float(e), "n": 100}
        for n, t, y in zip(names, test, synth, strict=True)
        for s, e in (("test", t), ("syn", y))
    ]
    rank = rank_correlation(pl.DataFrame(rows), {n: "imported" for n in names}, families=family)
    arch = rank.filter(pl.col("question") == "architecture", pl.col("group") == "all").row(0, named=True)
    hp = rank.filter(pl.col("question") == "hyper-parameters", pl.col("group") == "all").row(0, named=True)
    expected = answer(synth, test, Layout.of([family[n] for n in names], names, [0] * 12))
    assert arch["n_units"] == 4
    assert arch["spearman"] == pytest.approx(expected["architecture"].estimate)
    assert hp["n_units"] == 4
    assert hp["spearman"] == pytest.approx(expected["hyper-parameters"].estimate)
    # without families, every model is an architecture of its own and there are no variants to order
    alone = rank_correlation(pl.DataFrame(rows), {n: "imported" for n in names})
    assert alone.filter(pl.col("question") == "architecture", pl.col("group") == "all")["n_units"][0] == 12
    assert alone.filter(pl.col("question") == "hyper-parameters", pl.col("group") == "all")["n_units"][0] == 0
