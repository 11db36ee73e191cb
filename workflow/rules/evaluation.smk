# One job predicts every member of one configuration: its saved epochs on each of its evaluation sets.
rule predict:
    input:
        unpack(configuration_eval_sets),
        weights=configuration_weights,
    output:
        tables=expand(
            predictions("{{trainset}}", "{{configuration}}{suffix}"), suffix=SUFFIXES
        ),
    log:
        log_path("predict", "{trainset}", "{configuration}"),
    benchmark:
        bench_path("predict", "{trainset}", "{configuration}")
    wildcard_constraints:
        configuration=configuration_pattern(config["zoo"]["variants"]),
    conda:
        "../../envs/synthval.yaml"
    threads: 1
    resources:
        mem_mb=grow_with_attempt(4000),
        runtime=grow_with_attempt(30),
    params:
        code=code("predict.py"),
        sets=member_eval_sets,
    script:
        "../scripts/predict.py"


# a classifier trained elsewhere (zoo.imported) is a configuration of one member
use rule predict as predict_imported with:
    output:
        tables=[predictions("{trainset}", "{configuration}-s0")],
    wildcard_constraints:
        configuration=one_of(IMPORTED_CONFIGURATIONS),
