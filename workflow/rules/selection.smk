rule rank_models:
    input:
        predictions=all_predictions_of,
    output:
        errors=report(
            errors_table("{trainset}"),
            caption="../report/errors.rst",
            category="Classifier zoo",
            subcategory="{trainset}",
            labels={"table": "errors per epoch and set"},
        ),
        rank=report(
            rank_table("{trainset}"),
            caption="../report/rank_correlation.rst",
            category="Rank preservation",
            subcategory="{trainset}",
            labels={"table": "rank correlation"},
        ),
        scatter=report(
            scatter_plot("{trainset}"),
            caption="../report/scatter.rst",
            category="Rank preservation",
            subcategory="{trainset}",
            labels={"figure": "synthetic vs test error"},
        ),
        worth=worth_table("{trainset}"),
        worth_curve=worth_table("{trainset}", "curve"),
        class_errors=report(
            class_error_plot("{trainset}"),
            caption="../report/class_errors.rst",
            category="Classifier zoo",
            subcategory="{trainset}",
            labels={"figure": "error per class"},
        ),
    log:
        log_path("rank_models", "{trainset}"),
    conda:
        "../../envs/synthval.yaml"
    threads: 1
    resources:
        mem_mb=grow_with_attempt(2000),
        runtime=grow_with_attempt(10),
    params:
        code=code("rank_models.py"),
        trainset="{trainset}",
        groups=get_groups,
        selection_sets=SELECTION_SETS,
        draws=get_worth_draws,
        seed=get_selection_seed,
    script:
        "../scripts/rank_models.py"


rule select_models:
    input:
        unpack(selection_inputs),
    output:
        protocols=report(
            selection_table("{trainset}", "protocols"),
            caption="../report/selection_table.rst",
            category="Selection",
            subcategory="{trainset}",
            labels={"table": "protocols"},
        ),
        calibration=report(
            selection_table("{trainset}", "calibration"),
            caption="../report/selection_table.rst",
            category="Selection",
            subcategory="{trainset}",
            labels={"table": "calibration"},
        ),
        corollary=report(
            selection_table("{trainset}", "corollary"),
            caption="../report/selection_table.rst",
            category="Selection",
            subcategory="{trainset}",
            labels={"table": "corollary"},
        ),
    log:
        log_path("select_models", "{trainset}"),
    benchmark:
        bench_path("select_models", "{trainset}")
    conda:
        "../../envs/synthval.yaml"
    threads: 1
    resources:
        mem_mb=grow_with_attempt(4000),
        runtime=grow_with_attempt(30),
    params:
        code=code("select_models.py"),
        settings=get_selection_settings,
        generators=GENERATORS,
        selection_sets=SELECTION_SETS,
        groups=get_groups,
        seed=get_selection_seed,
    script:
        "../scripts/select_models.py"
