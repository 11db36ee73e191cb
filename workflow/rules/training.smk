# Training with generated data (seeds 001-003): synthetic training images in shards of one training-set
# size each, one job per (run, seed) of the study, and one summary per training set.


# the study's training images: validation synthesis with its own shards, seeds and keys
use rule synthesize_shard as synthesize_train_shard with:
    output:
        shard=train_pool_shard("{trainset}", "{generator}", "{shard}"),
        record=record_path(train_pool_shard("{trainset}", "{generator}", "{shard}")),
    log:
        log_path("synthesize_train_shard", "{trainset}", "{generator}", "{shard}"),
    benchmark:
        bench_path("synthesize_train_shard", "{trainset}", "{generator}", "{shard}")
    priority: 0
    params:
        per_class=pool_per_class,
        shards=TRAINING["shards_per_x"],
        index=pool_shard_index,
        seed=train_shard_seed,
        key_prefix=train_shard_key_prefix,


rule index_train_pool:
    input:
        shards=pool_shards_of,
        records=records_of(pool_shards_of),
    output:
        manifest=train_pool_manifest("{trainset}", "{generator}", "{scale}"),
    log:
        log_path("index_train_pool", "{trainset}", "{generator}", "x{scale}"),
    wildcard_constraints:
        scale=r"[0-9]+",
    conda:
        "../../envs/synthval.yaml"
    threads: 1
    resources:
        mem_mb=grow_with_attempt(2000),
        runtime=grow_with_attempt(10),
    params:
        code=code("index_synthetic.py"),
    script:
        "../scripts/index_synthetic.py"


rule train_recipe:
    input:
        unpack(recipe_inputs),
    output:
        weights=recipe_file("{trainset}", "{run}", "{seed}", "classifier.safetensors"),
        history=recipe_file("{trainset}", "{run}", "{seed}", "history.parquet"),
        predictions=recipe_file("{trainset}", "{run}", "{seed}", "predictions.parquet"),
    log:
        log_path("train_recipe", "{trainset}", "{run}", "s{seed}"),
    benchmark:
        bench_path("train_recipe", "{trainset}", "{run}", "s{seed}")
    wildcard_constraints:
        run=one_of(RUNS),
        seed=r"[0-9]+",
    conda:
        "../../envs/synthval.yaml"
    threads: 1
    resources:
        mem_mb=grow_with_attempt(4000),
        runtime=grow_with_attempt(120),
        gpu=config["gpus"],
    params:
        code=code("train_recipe.py"),
        run=run_settings,
        spec=recipe_spec,
        seed=get_run_seed,
        replicate=lambda wildcards: int(wildcards.seed),
        gap_sets=gap_set_names,
        pretrained_guidance=canonical(TRAINING["pretrained_guidance"]),
        real_guidance=canonical(TRAINING["real_guidance"]),
        robust=canonical(TRAINING["robust"]),
        workdir=recipe_workdir,
    script:
        "../scripts/train_recipe.py"


rule summarize_training:
    input:
        predictions=recipe_predictions_of,
    output:
        accuracy=report(
            training_table("{trainset}", "accuracy"),
            caption="../report/training_table.rst",
            category="Training with synthetic data",
            subcategory="{trainset}",
            labels={"table": "accuracy per run and seed"},
        ),
        content_gap=training_table("{trainset}", "content_gap"),
        scaling=report(
            result_plot("{trainset}", "scaling"),
            caption="../report/scaling.rst",
            category="Training with synthetic data",
            subcategory="{trainset}",
            labels={"figure": "scaling"},
        ),
        content_gap_plot=report(
            result_plot("{trainset}", "content_gap"),
            caption="../report/content_gap.rst",
            category="Training with synthetic data",
            subcategory="{trainset}",
            labels={"figure": "content gap"},
        ),
    log:
        log_path("summarize_training", "{trainset}"),
    conda:
        "../../envs/synthval.yaml"
    threads: 1
    resources:
        mem_mb=grow_with_attempt(2000),
        runtime=grow_with_attempt(10),
    params:
        code=code("summarize_training.py"),
        runs=study_runs,
    script:
        "../scripts/summarize_training.py"
