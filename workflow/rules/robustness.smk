# Distribution shift (Yuan et al. 2024 §4.4, App. G.3): shifted copies of the test split and the user's shifted
# test sets, every study run and seed scored on them (one job: loading a model costs more than scoring
# it), and the summary.


rule shift_split:
    input:
        unpack(P.robustness.split_inputs),
    output:
        manifest=paths.shift_manifest("{trainset}", "{shift}"),
    log:
        paths.log_path("shift_split", "{trainset}", "{shift}"),
    wildcard_constraints:
        shift=zoo.one_of(P.study.shifts),
    conda:
        "../../envs/synthval.yaml"
    threads: 1
    resources:
        mem_mb=P.grow(4000),
        runtime=P.grow(30),
    params:
        code=P.robustness.code("shift_split.py"),
        corruption=P.robustness.is_corruption,
        seed=P.robustness.shift_seed,
        shard_size=P.robustness.shard_size,
    script:
        "../scripts/shift_split.py"


rule score_shift:
    input:
        unpack(P.robustness.inputs),
    output:
        scores=paths.shift_scores("{trainset}"),
    log:
        paths.log_path("score_shift", "{trainset}"),
    benchmark:
        paths.bench_path("score_shift", "{trainset}")
    conda:
        "../../envs/synthval.yaml"
    threads: 1
    resources:
        mem_mb=P.grow(4000),
        runtime=P.grow(60),
        gpu=P.robustness.gpu,
    params:
        code=P.robustness.code("score_shift.py"),
        accelerator=P.robustness.accelerator,
        runs=P.robustness.runs,  # the order of the weights (P.robustness.inputs)
        seeds=P.study.training_seeds,
        shifts=P.study.shifts,
        corruptions=P.study.corruptions,
    script:
        "../scripts/score_shift.py"


rule summarize_robustness:
    input:
        scores=paths.shift_scores("{trainset}"),
    output:
        table=paths.robustness_table("{trainset}"),
        plot=report(
            paths.result_plot("{trainset}", "robustness"),
            caption="../../src/synthval/report/templates/captions/robustness.rst",
            category="Robustness",
            subcategory="{trainset}",
            labels={"figure": "accuracy under shift"},
        ),
    log:
        paths.log_path("summarize_robustness", "{trainset}"),
    conda:
        "../../envs/synthval.yaml"
    threads: 1
    resources:
        mem_mb=P.grow(2000),
        runtime=P.grow(10),
    params:
        code=P.robustness.code("summarize_robustness.py"),
        corruptions=P.study.corruptions,
    script:
        "../scripts/summarize_robustness.py"
