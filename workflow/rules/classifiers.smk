# The reference classifier: it scores generator checkpoints, labels pseudo-labelled samples and can be the
# quality metrics' feature extractor.
rule train_reference:
    input:
        train=paths.data_manifest("{trainset}", "train"),
    output:
        weights=[paths.reference_weights("{trainset}")],
        histories=[paths.reference_history("{trainset}")],
    log:
        paths.log_path("train_reference", "{trainset}"),
    benchmark:
        paths.bench_path("train_reference", "{trainset}")
    priority: 10  # on the critical path: every prediction waits for the synthetic sets
    conda:
        "../../envs/synthval.yaml"
    threads: P.classifiers.training_threads(P.classifiers.ranks("train_reference"))
    resources:
        mem_mb=P.grow(4000),
        runtime=P.grow(60),
        gpu=P.classifiers.gpus("train_reference"),
    params:
        code=P.classifiers.code("train_classifier.py"),
        accelerator=P.classifiers.accelerator,
        members=P.classifiers.reference_members,
        spec=P.classifiers.reference_spec,
        save_epochs=P.classifiers.reference_save_epochs,
        workdir=P.classifiers.reference_workdir,
        loading=P.classifiers.loading,
        ranks=P.classifiers.ranks("train_reference"),
    script:
        "../scripts/train_classifier.py"


# One job trains every member of one configuration (<arch>-<variant>: its seeds on train and on fit),
# the members of each split batched on one device; one training rule per group of variants that keep
# the same epochs (a rule's outputs are fixed): train_classifier for the zoo-wide epochs,
# train_classifier_<N>ep for variants training N epochs. Outputs are flagged update: the job keeps a
# member whose files carry its training key, so adding a seed trains the new member only.
for _tags, _variants in P.study.epoch_groups.items():

    rule:
        name:
            P.classifiers.rule_name(_tags)
        input:
            unpack(P.classifiers.splits),
        output:
            weights=update(
                expand(
                    paths.classifier_weights(
                        "{{trainset}}", "{{configuration}}{suffix}", "{epoch}"
                    ),
                    suffix=P.study.suffixes,
                    epoch=_tags,
                )
            ),
            histories=update(
                expand(
                    paths.classifier_history(
                        "{{trainset}}", "{{configuration}}{suffix}"
                    ),
                    suffix=P.study.suffixes,
                )
            ),
        log:
            paths.log_path("train_classifier", "{trainset}", "{configuration}"),
        benchmark:
            paths.bench_path("train_classifier", "{trainset}", "{configuration}")
        wildcard_constraints:
            configuration=zoo.configuration_pattern(_variants),
        conda:
            "../../envs/synthval.yaml"
        threads: P.classifiers.training_threads(P.classifiers.ranks("train_classifier"))
        resources:
            mem_mb=P.grow(4000),
            runtime=P.grow(60 * len(P.study.suffixes)),
            gpu=P.classifiers.gpus("train_classifier"),
        params:
            code=P.classifiers.code("train_classifier.py"),
            accelerator=P.classifiers.accelerator,
            members=P.classifiers.members,
            spec=P.classifiers.spec,
            save_epochs=[int(tag) for tag in _tags],
            workdir=P.classifiers.workdir,
            loading=P.classifiers.loading,
            ranks=P.classifiers.ranks("train_classifier"),
        script:
            "../scripts/train_classifier.py"


# classifiers trained elsewhere (zoo.imported): their weights checked and saved as a member's
rule import_classifier:
    input:
        weights=P.classifiers.imported_weights,
        summary=paths.data_summary("{trainset}"),
    output:
        weights=paths.classifier_weights("{trainset}", "{model}", "001"),
        history=paths.classifier_history("{trainset}", "{model}"),
    log:
        paths.log_path("import_classifier", "{trainset}", "{model}"),
    wildcard_constraints:
        model=zoo.one_of(P.study.imported_models),
    conda:
        "../../envs/synthval.yaml"
    threads: 1
    resources:
        mem_mb=P.grow(4000),
        runtime=P.grow(10),
    params:
        code=P.classifiers.code("import_classifier.py"),
        entry=P.classifiers.imported_entry,
    script:
        "../scripts/import_classifier.py"
