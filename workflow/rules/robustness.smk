# Distribution shift (seed 003 §4.4, App. G.3): shifted copies of the test split and the user's shifted
# test sets, every study run and seed scored on them (one job: loading a model costs more than scoring
# it), and the summary.


rule shift_split:
    input:
        unpack(shift_split_inputs),
    output:
        manifest=shift_manifest("{trainset}", "{shift}"),
    log:
        log_path("shift_split", "{trainset}", "{shift}"),
    wildcard_constraints:
        shift=one_of(SHIFTS),
    conda:
        "../../envs/synthval.yaml"
    threads: 1
    resources:
        mem_mb=grow_with_attempt(4000),
        runtime=grow_with_attempt(30),
    params:
        code=code("shift_split.py"),
        corruption=lambda wildcards: wildcards.shift in CORRUPTIONS,
        seed=shift_seed,
        shard_size=config["data"]["shard_size"],
    script:
        "../scripts/shift_split.py"


rule score_shift:
    input:
        unpack(shift_inputs),
    output:
        scores=shift_scores("{trainset}"),
    log:
        log_path("score_shift", "{trainset}"),
    benchmark:
        bench_path("score_shift", "{trainset}")
    conda:
        "../../envs/synthval.yaml"
    threads: 1
    resources:
        mem_mb=grow_with_attempt(4000),
        runtime=grow_with_attempt(60),
        gpu=config["gpus"],
    params:
        code=code("score_shift.py"),
        runs=sorted(RUNS),  # the order of the weights (synthval.layout.shift_inputs)
        seeds=TRAINING["seeds"],
        shifts=SHIFTS,
        corruptions=CORRUPTIONS,
    script:
        "../scripts/score_shift.py"


rule summarize_robustness:
    input:
        scores=shift_scores("{trainset}"),
    output:
        table=robustness_table("{trainset}"),
        plot=report(
            result_plot("{trainset}", "robustness"),
            caption="../report/robustness.rst",
            category="Robustness",
            subcategory="{trainset}",
            labels={"figure": "accuracy under shift"},
        ),
    log:
        log_path("summarize_robustness", "{trainset}"),
    conda:
        "../../envs/synthval.yaml"
    threads: 1
    resources:
        mem_mb=grow_with_attempt(2000),
        runtime=grow_with_attempt(10),
    params:
        code=code("summarize_robustness.py"),
        corruptions=CORRUPTIONS,
    script:
        "../scripts/summarize_robustness.py"
