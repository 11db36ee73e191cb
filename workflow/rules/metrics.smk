rule features:
    input:
        unpack(feature_inputs),
    output:
        features=features_file("{trainset}", "{dataset}"),
    log:
        log_path("features", "{trainset}", "{dataset}"),
    benchmark:
        bench_path("features", "{trainset}", "{dataset}")
    conda:
        "../../envs/synthval.yaml"
    threads: 1
    resources:
        mem_mb=grow_with_attempt(4000),
        runtime=grow_with_attempt(30),
        gpu=config["gpus"],
    params:
        code=code("features.py"),
        quality=get_extractor_settings,
        dataset="{dataset}",
    script:
        "../scripts/features.py"


rule quality:
    input:
        real=features_file("{trainset}", "train"),
        fake=features_file("{trainset}", "{generator}"),
    output:
        table=report(
            quality_table("{trainset}", "{generator}"),
            caption="../report/quality_table.rst",
            category="Synthetic-data quality",
            subcategory="{trainset}",
            labels={"generator": "{generator}", "table": "quality metrics"},
        ),
        curves=quality_curves("{trainset}", "{generator}"),
    log:
        log_path("quality", "{trainset}", "{generator}"),
    benchmark:
        bench_path("quality", "{trainset}", "{generator}")
    conda:
        "../../envs/synthval.yaml"
    threads: 1
    resources:
        mem_mb=grow_with_attempt(4000),
        runtime=grow_with_attempt(60),
    params:
        code=code("quality.py"),
        quality=metric_settings,
        seed=quality_seed,
        generator="{generator}",
    script:
        "../scripts/quality.py"
