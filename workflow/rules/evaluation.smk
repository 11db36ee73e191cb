rule predict:
    input:
        unpack(eval_sets),
        weights=weights_of,
    output:
        table=predictions("{trainset}", "{model}"),
    log:
        log_path("predict", "{trainset}", "{model}"),
    benchmark:
        bench_path("predict", "{trainset}", "{model}")
    conda:
        "../../envs/synthval.yaml"
    threads: 1
    resources:
        mem_mb=grow_with_attempt(4000),
        runtime=grow_with_attempt(30),
    params:
        code=code("predict.py"),
        model_id="{model}",
    script:
        "../scripts/predict.py"
