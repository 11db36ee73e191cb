rule prepare_data:
    output:
        manifests=expand(
            paths.data_manifest("{{trainset}}", "{split}"), split=paths.SPLITS
        ),
        summary=paths.data_summary("{trainset}"),
    log:
        paths.log_path("prepare_data", "{trainset}"),
    benchmark:
        paths.bench_path("prepare_data", "{trainset}")
    conda:
        "../../envs/synthval.yaml"
    threads: 1
    resources:
        mem_mb=P.grow(4000),
        runtime=P.grow(30),
    params:
        code=P.data.code("prepare_data.py"),
        data=P.data.settings,
        seed=P.data.global_seed,
    script:
        "../scripts/prepare_data.py"


rule augment_split:
    input:
        split=paths.data_manifest("{trainset}", "{split}"),
    output:
        manifest=paths.augmented_manifest("{trainset}", "{split}"),
    log:
        paths.log_path("augment_split", "{trainset}", "{split}"),
    benchmark:
        paths.bench_path("augment_split", "{trainset}", "{split}")
    conda:
        "../../envs/synthval.yaml"
    threads: 1
    resources:
        mem_mb=P.grow(4000),
        runtime=P.grow(30),
    params:
        code=P.data.code("augment_split.py"),
        settings=P.data.augmented_settings,
        seed=P.data.augmented_seed,
        shard_size=P.data.shard_size,
    script:
        "../scripts/augment_split.py"
