rule train_classifier:
    input:
        train=model_split,
    output:
        weights=expand(
            classifier_weights("{{trainset}}", "{{model}}", "{epoch}"),
            epoch=EPOCH_TAGS,
        ),
        history=classifier_history("{trainset}", "{model}"),
    log:
        log_path("train_classifier", "{trainset}", "{model}"),
    benchmark:
        bench_path("train_classifier", "{trainset}", "{model}")
    conda:
        "../../envs/synthval.yaml"
    threads: 1
    resources:
        mem_mb=grow_with_attempt(4000),
        runtime=grow_with_attempt(60),
        gpu=1,
    params:
        name=lambda wildcards: wildcards.model,
        spec=model_spec,
        seed=model_seed,
        save_epochs=SAVE_EPOCHS,
        workdir=classifier_workdir,
    script:
        "../scripts/train_classifier.py"
