rule features:
    input:
        unpack(P.metrics.feature_inputs),
    output:
        features=paths.features_file("{trainset}", "{dataset}"),
    log:
        paths.log_path("features", "{trainset}", "{dataset}"),
    benchmark:
        paths.bench_path("features", "{trainset}", "{dataset}")
    conda:
        "../../envs/synthval.yaml"
    threads: 1
    resources:
        mem_mb=P.grow(4000),
        runtime=P.grow(30),
        gpu=P.metrics.gpu,
    params:
        code=P.metrics.code("features.py"),
        accelerator=P.metrics.accelerator,
        quality=P.metrics.extractor_settings,
        dataset="{dataset}",
    script:
        "../scripts/features.py"


rule quality:
    input:
        real=paths.features_file("{trainset}", "train"),
        fake=paths.features_file("{trainset}", "{generator}"),
    output:
        table=report(
            paths.quality_table("{trainset}", "{generator}"),
            caption="../../src/synthval/report/templates/captions/quality_table.rst",
            category="Synthetic-data quality",
            subcategory="{trainset}",
            labels={"generator": "{generator}", "table": "quality metrics"},
        ),
        curves=paths.quality_curves("{trainset}", "{generator}"),
    log:
        paths.log_path("quality", "{trainset}", "{generator}"),
    benchmark:
        paths.bench_path("quality", "{trainset}", "{generator}")
    conda:
        "../../envs/synthval.yaml"
    threads: 1
    resources:
        mem_mb=P.grow(4000),
        runtime=P.grow(60),
    params:
        code=P.metrics.code("quality.py"),
        quality=P.metrics.settings,
        seed=P.metrics.quality_seed,
        generator="{generator}",
    script:
        "../scripts/quality.py"


# copy detection (Yuan et al. 2024 App. G): each synthetic image's nearest training image, beside the test
# split's (unseen real images) as the reference
# copy detection's own descriptor (privacy.copy_detection.weights): SSCD, in place of the quality features
use rule features as copy_features with:
    input:
        unpack(P.metrics.sscd_inputs),
    output:
        features=paths.sscd_features_file("{trainset}", "{dataset}"),
    log:
        paths.log_path("copy_features", "{trainset}", "{dataset}"),
    benchmark:
        paths.bench_path("copy_features", "{trainset}", "{dataset}")
    params:
        quality=P.metrics.sscd_settings,


rule copy_detection:
    input:
        unpack(P.metrics.copy_detection_inputs),
    output:
        table=paths.copies_table("{trainset}", "{generator}"),
    log:
        paths.log_path("copy_detection", "{trainset}", "{generator}"),
    conda:
        "../../envs/synthval.yaml"
    threads: 1
    resources:
        mem_mb=P.grow(4000),
        runtime=P.grow(30),
    params:
        code=P.metrics.code("copy_detection.py"),
    script:
        "../scripts/copy_detection.py"
