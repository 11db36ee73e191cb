# One job trains every member of one configuration (<arch>-<variant>: its seeds on train and on fit),
# the members of each split batched on one device; one training rule per group of variants that keep
# the same epochs (a rule's outputs are fixed): train_classifier for the zoo-wide epochs,
# train_classifier_<N>ep for variants training N epochs. Outputs are flagged update: the job keeps a
# member whose files carry its training key, so adding a seed trains the new member only.
for _tags, _variants in EPOCH_GROUPS.items():

    rule:
        name:
            training_rule_name(_tags)
        input:
            unpack(configuration_splits),
        output:
            weights=update(
                expand(
                    classifier_weights(
                        "{{trainset}}", "{{configuration}}{suffix}", "{epoch}"
                    ),
                    suffix=SUFFIXES,
                    epoch=_tags,
                )
            ),
            histories=update(
                expand(
                    classifier_history("{{trainset}}", "{{configuration}}{suffix}"),
                    suffix=SUFFIXES,
                )
            ),
        log:
            log_path("train_classifier", "{trainset}", "{configuration}"),
        benchmark:
            bench_path("train_classifier", "{trainset}", "{configuration}")
        wildcard_constraints:
            configuration=configuration_pattern(_variants),
        conda:
            "../../envs/synthval.yaml"
        threads: 1
        resources:
            mem_mb=grow_with_attempt(4000),
            runtime=grow_with_attempt(60 * len(SUFFIXES)),
            gpu=config["gpus"],
        params:
            code=code("train_classifier.py"),
            members=configuration_members,
            spec=configuration_spec,
            save_epochs=[int(tag) for tag in _tags],
            workdir=classifier_workdir,
        script:
            "../scripts/train_classifier.py"


# classifiers trained elsewhere (zoo.imported): their weights checked and saved as a member's
rule import_classifier:
    input:
        weights=imported_weights,
        summary=data_summary("{trainset}"),
    output:
        weights=classifier_weights("{trainset}", "{model}", "001"),
        history=classifier_history("{trainset}", "{model}"),
    log:
        log_path("import_classifier", "{trainset}", "{model}"),
    wildcard_constraints:
        model=one_of(IMPORTED_MODELS),
    conda:
        "../../envs/synthval.yaml"
    threads: 1
    resources:
        mem_mb=grow_with_attempt(4000),
        runtime=grow_with_attempt(10),
    params:
        code=code("import_classifier.py"),
        entry=imported_entry,
    script:
        "../scripts/import_classifier.py"
