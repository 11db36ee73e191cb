# Membership inference with LiRA (Yuan et al. 2024 §4.5, App. G.4; Carlini et al. 2022): LiRA models of the
# study's attacked runs, model k trained on half k of the pool (the train split), its synthetic data
# from a generator trained on half k only; every model is one job, so a cluster trains them in parallel.


rule lira_halves:
    input:
        train=paths.data_manifest("{trainset}", "train"),
    output:
        membership=paths.lira_membership("{trainset}"),
        halves=[paths.lira_half_manifest("{trainset}", h) for h in P.study.lira_halves],
    log:
        paths.log_path("lira_halves", "{trainset}"),
    conda:
        "../../envs/synthval.yaml"
    threads: 1
    resources:
        mem_mb=P.grow(2000),
        runtime=P.grow(10),
    params:
        code=P.privacy.code("lira_halves.py"),
        models=len(P.study.lira_halves),
        seed=P.privacy.global_seed,
        shard_size=P.privacy.shard_size,
    script:
        "../scripts/lira_halves.py"


use rule train_generator as train_lira_generator with:
    input:
        unpack(P.privacy.generator_inputs),
    output:
        weights=paths.lira_generator_weights("{trainset}", "{half}", "{generator}"),
    log:
        paths.log_path("train_lira_generator", "{trainset}", "{generator}", "h{half}"),
    benchmark:
        paths.bench_path("train_lira_generator", "{trainset}", "{generator}", "h{half}")
    wildcard_constraints:
        generator=zoo.one_of(P.study.lira_generators),
        half=r"[0-9]+",
    priority: 5
    params:
        code=P.privacy.code("train_generator.py"),
        spec=P.privacy.train_spec,
        seed=P.privacy.generator_seed,
        resume=P.privacy.generator_resume,


use rule synthesize_shard as synthesize_lira_shard with:
    input:
        unpack(P.privacy.synthesis_inputs),
    output:
        shard=paths.lira_synthetic_shard("{trainset}", "{half}", "{generator}"),
        record=record_path(
            paths.lira_synthetic_shard("{trainset}", "{half}", "{generator}")
        ),
    log:
        paths.log_path("synthesize_lira_shard", "{trainset}", "{generator}", "h{half}"),
    benchmark:
        paths.bench_path(
            "synthesize_lira_shard", "{trainset}", "{generator}", "h{half}"
        )
    wildcard_constraints:
        generator=zoo.one_of(P.study.lira_generators),
        half=r"[0-9]+",
    priority: 5
    params:
        code=P.privacy.code("synthesize_shard.py"),
        accelerator=P.privacy.accelerator,
        per_class=P.privacy.per_class,
        settings=P.privacy.synthesis_settings,
        shards=1,
        index=0,
        seed=P.privacy.shard_seed,
        key_prefix=P.privacy.key_prefix,


use rule index_synthetic as index_lira_synthetic with:
    input:
        shards=P.privacy.shards,
        records=P.privacy.records(P.privacy.shards),
    output:
        manifest=paths.lira_synthetic_manifest("{trainset}", "{half}", "{generator}"),
    log:
        paths.log_path("index_lira_synthetic", "{trainset}", "{generator}", "h{half}"),
    wildcard_constraints:
        generator=zoo.one_of(P.study.lira_generators),
        half=r"[0-9]+",
    params:
        code=P.privacy.code("index_synthetic.py"),


use rule train_recipe as train_lira with:
    input:
        unpack(P.privacy.recipe_inputs),
    output:
        weights=paths.lira_file(
            "{trainset}", "{run}", "{half}", "classifier.safetensors"
        ),
        history=paths.lira_file("{trainset}", "{run}", "{half}", "history.parquet"),
        predictions=paths.lira_file(
            "{trainset}", "{run}", "{half}", "predictions.parquet"
        ),
    log:
        paths.log_path("train_lira", "{trainset}", "{run}", "h{half}"),
    benchmark:
        paths.bench_path("train_lira", "{trainset}", "{run}", "h{half}")
    wildcard_constraints:
        run=zoo.one_of(P.study.lira_runs),
        half=r"[0-9]+",
    params:
        code=P.privacy.code("train_recipe.py"),
        accelerator=P.privacy.accelerator,
        seed=P.privacy.model_seed,
        replicate=P.privacy.replicate,
        gap_sets={},
        workdir=P.privacy.workdir,
        mirror=P.privacy.mirror,


rule lira:
    input:
        membership=paths.lira_membership("{trainset}"),
        predictions=P.privacy.predictions,
    output:
        attacks=paths.lira_table("{trainset}", "attacks"),
        roc=paths.lira_table("{trainset}", "roc"),
        plot=report(
            paths.result_plot("{trainset}", "lira"),
            caption="../../src/synthval/report/templates/captions/lira.rst",
            category="Privacy",
            subcategory="{trainset}",
            labels={"figure": "membership inference"},
        ),
    log:
        paths.log_path("lira", "{trainset}"),
    conda:
        "../../envs/synthval.yaml"
    threads: 1
    resources:
        mem_mb=P.grow(2000),
        runtime=P.grow(10),
    params:
        code=P.privacy.code("lira.py"),
        runs=P.study.lira_runs,
    script:
        "../scripts/lira.py"
