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
        mem_mb=4000,
        runtime=30,
    params:
        data=data_settings,
        seed=config["seed"],
    script:
        "../scripts/prepare_data.py"
