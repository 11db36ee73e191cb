# One job predicts every member of one configuration: its saved epochs on each of its evaluation sets.
rule predict:
    input:
        unpack(P.evaluation.sets),
        weights=P.evaluation.weights,
    output:
        tables=expand(
            paths.predictions("{{trainset}}", "{{configuration}}{suffix}"),
            suffix=P.study.suffixes,
        ),
    log:
        paths.log_path("predict", "{trainset}", "{configuration}"),
    benchmark:
        paths.bench_path("predict", "{trainset}", "{configuration}")
    wildcard_constraints:
        configuration=P.evaluation.configuration_pattern,
    conda:
        "../../envs/synthval.yaml"
    threads: 1
    resources:
        mem_mb=P.grow(4000),
        runtime=P.grow(30),
    params:
        code=P.evaluation.code("predict.py"),
        accelerator=P.evaluation.accelerator,
        sets=P.evaluation.member_sets,
    script:
        "../scripts/predict.py"


# a classifier trained elsewhere (zoo.imported) is a configuration of one member
use rule predict as predict_imported with:
    output:
        tables=[paths.predictions("{trainset}", "{configuration}-s0")],
    wildcard_constraints:
        configuration=zoo.one_of(P.evaluation.imported_configurations),
