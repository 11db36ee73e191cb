rule rank_models:
    input:
        predictions=P.selection.predictions,
    output:
        errors=report(
            paths.errors_table("{trainset}"),
            caption="../../src/synthval/report/templates/captions/errors.rst",
            category="Classifier zoo",
            subcategory="{trainset}",
            labels={"table": "errors per epoch and set"},
        ),
        rank=report(
            paths.rank_table("{trainset}"),
            caption="../../src/synthval/report/templates/captions/rank_correlation.rst",
            category="Rank preservation",
            subcategory="{trainset}",
            labels={"table": "rank correlation"},
        ),
        scatter=report(
            paths.scatter_plot("{trainset}"),
            caption="../../src/synthval/report/templates/captions/scatter.rst",
            category="Rank preservation",
            subcategory="{trainset}",
            labels={"figure": "synthetic vs test error"},
        ),
        worth=paths.worth_table("{trainset}"),
        worth_curve=paths.worth_table("{trainset}", "curve"),
        class_errors=report(
            paths.class_error_plot("{trainset}"),
            caption="../../src/synthval/report/templates/captions/class_errors.rst",
            category="Classifier zoo",
            subcategory="{trainset}",
            labels={"figure": "error per class"},
        ),
    log:
        paths.log_path("rank_models", "{trainset}"),
    conda:
        "../../envs/synthval.yaml"
    threads: 1
    resources:
        mem_mb=P.grow(2000),
        runtime=P.grow(10),
    params:
        code=P.selection.code("rank_models.py"),
        trainset="{trainset}",
        groups=P.selection.groups,
        families=P.selection.families,
        selection_sets=P.study.selection_sets,
        draws=P.selection.worth_draws,
        seed=P.selection.selection_seed,
    script:
        "../scripts/rank_models.py"


rule select_models:
    input:
        unpack(P.selection.inputs),
    output:
        protocols=report(
            paths.selection_table("{trainset}", "protocols"),
            caption="../../src/synthval/report/templates/captions/selection_table.rst",
            category="Selection",
            subcategory="{trainset}",
            labels={"table": "protocols"},
        ),
        calibration=report(
            paths.selection_table("{trainset}", "calibration"),
            caption="../../src/synthval/report/templates/captions/selection_table.rst",
            category="Selection",
            subcategory="{trainset}",
            labels={"table": "calibration"},
        ),
        corollary=report(
            paths.selection_table("{trainset}", "corollary"),
            caption="../../src/synthval/report/templates/captions/selection_table.rst",
            category="Selection",
            subcategory="{trainset}",
            labels={"table": "corollary"},
        ),
    log:
        paths.log_path("select_models", "{trainset}"),
    benchmark:
        paths.bench_path("select_models", "{trainset}")
    conda:
        "../../envs/synthval.yaml"
    threads: 1
    resources:
        mem_mb=P.grow(4000),
        runtime=P.grow(30),
    params:
        code=P.selection.code("select_models.py"),
        settings=P.selection.settings,
        generators=P.study.generators,
        selection_sets=P.study.selection_sets,
        groups=P.selection.groups,
        seed=P.selection.selection_seed,
    script:
        "../scripts/select_models.py"
