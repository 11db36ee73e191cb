rule render_report:
    input:
        summaries=expand(data_summary("{trainset}"), trainset=TRAINSETS),
        generators=expand(
            generator_weights("{trainset}", "{generator}"),
            trainset=TRAINSETS,
            generator=GENERATORS,
        ),
        grids=expand(
            sample_grid("{trainset}", "{generator}"),
            trainset=TRAINSETS,
            generator=GENERATORS,
        ),
        manifests=expand(
            synthetic_manifest("{trainset}", "{generator}"),
            trainset=TRAINSETS,
            generator=GENERATORS,
        ),
        references=expand(reference_history("{trainset}"), trainset=TRAINSETS),
        histories=expand(
            classifier_history("{trainset}", "{model}"),
            trainset=TRAINSETS,
            model=MODELS,
        ),
        errors=expand(errors_table("{trainset}"), trainset=TRAINSETS),
        ranks=expand(rank_table("{trainset}"), trainset=TRAINSETS),
        scatters=expand(scatter_plot("{trainset}"), trainset=TRAINSETS),
        quality_tables=expand(
            quality_table("{trainset}", "{generator}"),
            trainset=TRAINSETS,
            generator=GENERATORS,
        ),
        quality_curves=expand(
            quality_curves("{trainset}", "{generator}"),
            trainset=TRAINSETS,
            generator=GENERATORS,
        ),
        selection=expand(
            selection_table("{trainset}", "{name}"),
            trainset=TRAINSETS,
            name=SELECTION_TABLES,
        ),
    output:
        html=report(
            report_html(),
            caption="../report/report.rst",
            category="Report",
            labels={"page": "synthval report"},
        ),
    log:
        log_path("render_report", "all"),
    conda:
        "../../envs/synthval.yaml"
    threads: 1
    resources:
        mem_mb=grow_with_attempt(2000),
        runtime=grow_with_attempt(10),
    params:
        code=code("render_report.py"),
        config=config,
        trainsets=TRAINSETS,
        generators=GENERATORS,
        tables=SELECTION_TABLES,
    script:
        "../scripts/render_report.py"
