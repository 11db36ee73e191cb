rule prepare_data:
    output:
        manifests=expand(data_manifest("{trainset}", "{split}"), trainset=TRAINSETS, split=SPLITS),
        summary=data_summary(),
    params:
        data=config["data"],
        seed=config["seed"],
    log:
        log_path("prepare_data", "all"),
    benchmark:
        bench_path("prepare_data", "all")
    threads: 1
    resources:
        mem_mb=4000,
        runtime=30,
    script:
        "../scripts/prepare_data.py"
