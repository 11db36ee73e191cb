rule prepare_data:
    output:
        manifests=expand(
            data_manifest("{trainset}", "{split}"), trainset=TRAINSETS, split=SPLITS
        ),
        summary=data_summary(),
    log:
        log_path("prepare_data", "all"),
    benchmark:
        bench_path("prepare_data", "all")
    conda:
        "../../envs/synthval.yaml"
    threads: 1
    resources:
        mem_mb=4000,
        runtime=30,
    params:
        data=config["data"],
        seed=config["seed"],
    script:
        "../scripts/prepare_data.py"
