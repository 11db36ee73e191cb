rule prepare_data:
    output:
        manifests=expand(data_manifest("{{trainset}}", "{split}"), split=SPLITS),
        summary=data_summary("{trainset}"),
    log:
        log_path("prepare_data", "{trainset}"),
    benchmark:
        bench_path("prepare_data", "{trainset}")
    conda:
        "../../envs/synthval.yaml"
    threads: 1
    resources:
        mem_mb=grow_with_attempt(4000),
        runtime=grow_with_attempt(30),
    params:
        code=code("prepare_data.py"),
        data=get_data_settings,
        seed=config["seed"],
    script:
        "../scripts/prepare_data.py"


rule augment_split:
    input:
        split=data_manifest("{trainset}", "{split}"),
    output:
        manifest=augmented_manifest("{trainset}", "{split}"),
    log:
        log_path("augment_split", "{trainset}", "{split}"),
    benchmark:
        bench_path("augment_split", "{trainset}", "{split}")
    conda:
        "../../envs/synthval.yaml"
    threads: 1
    resources:
        mem_mb=grow_with_attempt(4000),
        runtime=grow_with_attempt(30),
    params:
        code=code("augment_split.py"),
        settings=get_augmented_settings,
        seed=augmented_seed,
        shard_size=config["data"]["shard_size"],
    script:
        "../scripts/augment_split.py"
