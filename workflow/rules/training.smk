# Training with generated data (Wang et al. 2024; Sehwag et al. 2022; Yuan et al. 2024): synthetic training images in shards of one training-set
# size each, one job per (run, seed) of the study, and one summary per training set.


# the study's training images: validation synthesis with its own shards, seeds and keys
use rule synthesize_shard as synthesize_train_shard with:
    output:
        shard=paths.train_pool_shard("{trainset}", "{generator}", "{shard}"),
        record=record_path(
            paths.train_pool_shard("{trainset}", "{generator}", "{shard}")
        ),
    log:
        paths.log_path("synthesize_train_shard", "{trainset}", "{generator}", "{shard}"),
    benchmark:
        paths.bench_path(
            "synthesize_train_shard", "{trainset}", "{generator}", "{shard}"
        )
    priority: 0
    params:
        code=P.training.code("synthesize_shard.py"),
        accelerator=P.training.accelerator,
        per_class=P.training.pool_per_class,
        shards=P.training.shards_per_x,
        index=P.training.pool_shard_index,
        seed=P.training.pool_shard_seed,
        key_prefix=P.training.pool_key_prefix,
        prior_seed=P.training.pool_prior_seed,


rule index_train_pool:
    input:
        shards=P.training.pool_shards,
        records=P.training.records(P.training.pool_shards),
    output:
        manifest=paths.train_pool_manifest("{trainset}", "{generator}", "{scale}"),
    log:
        paths.log_path("index_train_pool", "{trainset}", "{generator}", "x{scale}"),
    wildcard_constraints:
        scale=r"[0-9]+",
    conda:
        "../../envs/synthval.yaml"
    threads: 1
    resources:
        mem_mb=P.grow(2000),
        runtime=P.grow(10),
    params:
        code=P.training.code("index_synthetic.py"),
    script:
        "../scripts/index_synthetic.py"


rule train_recipe:
    input:
        unpack(P.training.inputs),
    output:
        weights=paths.recipe_file(
            "{trainset}", "{run}", "{seed}", "classifier.safetensors"
        ),
        history=paths.recipe_file("{trainset}", "{run}", "{seed}", "history.parquet"),
        predictions=paths.recipe_file(
            "{trainset}", "{run}", "{seed}", "predictions.parquet"
        ),
    log:
        paths.log_path("train_recipe", "{trainset}", "{run}", "s{seed}"),
    benchmark:
        paths.bench_path("train_recipe", "{trainset}", "{run}", "s{seed}")
    wildcard_constraints:
        run=zoo.one_of(P.study.runs),
        seed=r"[0-9]+",
    conda:
        "../../envs/synthval.yaml"
    threads: P.training.run_threads
    resources:
        mem_mb=P.grow(4000),
        runtime=P.grow(120),
        gpu=P.training.run_gpus,
    params:
        ranks=P.training.run_ranks,
        code=P.training.code("train_recipe.py"),
        accelerator=P.training.accelerator,
        run=P.training.run,
        spec=P.training.spec,
        seed=P.training.run_seed,
        replicate=P.training.replicate,
        gap_sets=P.training.gap_names,
        pretrained_guidance=P.training.guidance("pretrained_guidance"),
        real_guidance=P.training.guidance("real_guidance"),
        robust=P.training.guidance("robust"),
        workdir=P.training.workdir,
        loading=P.training.loading,
        mirror=False,  # a LiRA model's second query (train_lira sets it)
    script:
        "../scripts/train_recipe.py"


rule summarize_training:
    input:
        predictions=P.training.predictions,
    output:
        accuracy=report(
            paths.training_table("{trainset}", "accuracy"),
            caption="../../src/synthval/report/templates/captions/training_table.rst",
            category="Training with synthetic data",
            subcategory="{trainset}",
            labels={"table": "accuracy per run and seed"},
        ),
        content_gap=paths.training_table("{trainset}", "content_gap"),
        scaling=report(
            paths.result_plot("{trainset}", "scaling"),
            caption="../../src/synthval/report/templates/captions/scaling.rst",
            category="Training with synthetic data",
            subcategory="{trainset}",
            labels={"figure": "scaling"},
        ),
        content_gap_plot=report(
            paths.result_plot("{trainset}", "content_gap"),
            caption="../../src/synthval/report/templates/captions/content_gap.rst",
            category="Training with synthetic data",
            subcategory="{trainset}",
            labels={"figure": "content gap"},
        ),
    log:
        paths.log_path("summarize_training", "{trainset}"),
    conda:
        "../../envs/synthval.yaml"
    threads: 1
    resources:
        mem_mb=P.grow(2000),
        runtime=P.grow(10),
    params:
        code=P.training.code("summarize_training.py"),
        runs=P.training.runs,
    script:
        "../scripts/summarize_training.py"
