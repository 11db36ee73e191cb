# One training rule per group of variants that keep the same epochs (a rule's outputs are fixed):
# train_classifier for the zoo-wide epochs, train_classifier_<N>ep for variants training N epochs.
for _tags, _variants in EPOCH_GROUPS.items():

    rule:
        name:
            training_rule_name(_tags)
        input:
            train=model_split,
        output:
            weights=expand(
                classifier_weights("{{trainset}}", "{{model}}", "{epoch}"),
                epoch=_tags,
            ),
            history=classifier_history("{trainset}", "{model}"),
        log:
            log_path("train_classifier", "{trainset}", "{model}"),
        benchmark:
            bench_path("train_classifier", "{trainset}", "{model}")
        wildcard_constraints:
            model=member_pattern(_variants),
        conda:
            "../../envs/synthval.yaml"
        threads: 1
        resources:
            mem_mb=grow_with_attempt(4000),
            runtime=grow_with_attempt(60),
            gpu=config["gpus"],
        params:
            code=code("train_classifier.py"),
            name=lambda wildcards: wildcards.model,
            spec=model_spec,
            seed=model_seed,
            save_epochs=[int(tag) for tag in _tags],
            workdir=classifier_workdir,
        script:
            "../scripts/train_classifier.py"
