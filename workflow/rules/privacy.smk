# Membership inference with LiRA (seed 003 §4.5, App. G.4; Carlini et al. 2022): LiRA models of the
# study's attacked runs, model k trained on half k of the pool (the train split), its synthetic data
# from a generator trained on half k only; every model is one job, so a cluster trains them in parallel.


rule lira_halves:
    input:
        train=data_manifest("{trainset}", "train"),
    output:
        membership=lira_membership("{trainset}"),
        halves=[lira_half_manifest("{trainset}", h) for h in LIRA_HALVES],
    log:
        log_path("lira_halves", "{trainset}"),
    conda:
        "../../envs/synthval.yaml"
    threads: 1
    resources:
        mem_mb=grow_with_attempt(2000),
        runtime=grow_with_attempt(10),
    params:
        code=code("lira_halves.py"),
        models=len(LIRA_HALVES),
        seed=config["seed"],
        shard_size=config["data"]["shard_size"],
    script:
        "../scripts/lira_halves.py"


use rule train_generator as train_lira_generator with:
    input:
        unpack(lira_generator_inputs),
    output:
        weights=lira_generator_weights("{trainset}", "{half}", "{generator}"),
    log:
        log_path("train_lira_generator", "{trainset}", "{generator}", "h{half}"),
    benchmark:
        bench_path("train_lira_generator", "{trainset}", "{generator}", "h{half}")
    wildcard_constraints:
        generator=one_of(LIRA_GENERATORS),
        half=r"[0-9]+",
    priority: 5
    params:
        settings=lira_generator_settings,
        seed=lira_generator_seed,
        resume=lira_generator_resume,


use rule synthesize_shard as synthesize_lira_shard with:
    input:
        unpack(lira_synthesis_inputs),
    output:
        shard=lira_synthetic_shard("{trainset}", "{half}", "{generator}"),
        record=record_path(lira_synthetic_shard("{trainset}", "{half}", "{generator}")),
    log:
        log_path("synthesize_lira_shard", "{trainset}", "{generator}", "h{half}"),
    benchmark:
        bench_path("synthesize_lira_shard", "{trainset}", "{generator}", "h{half}")
    wildcard_constraints:
        generator=one_of(LIRA_GENERATORS),
        half=r"[0-9]+",
    priority: 5
    params:
        per_class=lira_per_class,
        settings=lira_synthesis_settings,
        shards=1,
        index=0,
        seed=lira_shard_seed,
        key_prefix=lira_key_prefix,


use rule index_synthetic as index_lira_synthetic with:
    input:
        shards=lira_shards_of,
        records=records_of(lira_shards_of),
    output:
        manifest=lira_synthetic_manifest("{trainset}", "{half}", "{generator}"),
    log:
        log_path("index_lira_synthetic", "{trainset}", "{generator}", "h{half}"),
    wildcard_constraints:
        generator=one_of(LIRA_GENERATORS),
        half=r"[0-9]+",


use rule train_recipe as train_lira with:
    input:
        unpack(lira_recipe_inputs),
    output:
        weights=lira_file("{trainset}", "{run}", "{half}", "classifier.safetensors"),
        history=lira_file("{trainset}", "{run}", "{half}", "history.parquet"),
        predictions=lira_file("{trainset}", "{run}", "{half}", "predictions.parquet"),
    log:
        log_path("train_lira", "{trainset}", "{run}", "h{half}"),
    benchmark:
        bench_path("train_lira", "{trainset}", "{run}", "h{half}")
    wildcard_constraints:
        run=one_of(LIRA_RUNS),
        half=r"[0-9]+",
    params:
        seed=lira_model_seed,
        replicate=lambda wildcards: int(wildcards.half),
        gap_sets={},
        workdir=lira_workdir,


rule lira:
    input:
        membership=lira_membership("{trainset}"),
        predictions=lira_predictions_of,
    output:
        attacks=lira_table("{trainset}", "attacks"),
        roc=lira_table("{trainset}", "roc"),
        plot=report(
            result_plot("{trainset}", "lira"),
            caption="../report/lira.rst",
            category="Privacy",
            subcategory="{trainset}",
            labels={"figure": "membership inference"},
        ),
    log:
        log_path("lira", "{trainset}"),
    conda:
        "../../envs/synthval.yaml"
    threads: 1
    resources:
        mem_mb=grow_with_attempt(2000),
        runtime=grow_with_attempt(10),
    params:
        code=code("lira.py"),
        runs=LIRA_RUNS,
    script:
        "../scripts/lira.py"
