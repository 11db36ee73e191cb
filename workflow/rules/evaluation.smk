rule predict:
    input:
        unpack(eval_sets),
        weights=weights_of,
    output:
        table=predictions("{trainset}", "{model}"),
    params:
        model_id="{model}",
    log:
        log_path("predict", "{trainset}", "{model}"),
    benchmark:
        bench_path("predict", "{trainset}", "{model}")
    threads: 1
    resources:
        mem_mb=4000,
        runtime=30,
    script:
        "../scripts/predict.py"
