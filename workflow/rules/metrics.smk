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


# copy detection (seed 003 App. G): each synthetic image's nearest training image, beside the test
# split's (unseen real images) as the reference
# copy detection's own descriptor (privacy.copy_detection.weights): SSCD, in place of the quality features
use rule features as copy_features with:
    input:
        unpack(sscd_feature_inputs),
    output:
        features=sscd_features_file("{trainset}", "{dataset}"),
    log:
        log_path("copy_features", "{trainset}", "{dataset}"),
    benchmark:
        bench_path("copy_features", "{trainset}", "{dataset}")
    params:
        quality=sscd_settings,


rule copy_detection:
    input:
        unpack(copy_detection_inputs),
    output:
        table=copies_table("{trainset}", "{generator}"),
    log:
        log_path("copy_detection", "{trainset}", "{generator}"),
    conda:
        "../../envs/synthval.yaml"
    threads: 1
    resources:
        mem_mb=grow_with_attempt(4000),
        runtime=grow_with_attempt(30),
    params:
        code=code("copy_detection.py"),
    script:
        "../scripts/copy_detection.py"
