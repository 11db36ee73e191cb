rule plot_results:
    input:
        curves=quality_curves_of,
        protocols=selection_table("{trainset}", "protocols"),
        calibration=selection_table("{trainset}", "calibration"),
    output:
        quality=report(
            result_plot("{trainset}", "quality"),
            caption="../report/quality.rst",
            category="Synthetic-data quality",
            subcategory="{trainset}",
            labels={"figure": "PRD and ARC curves"},
        ),
        protocols=report(
            result_plot("{trainset}", "protocols"),
            caption="../report/protocols.rst",
            category="Selection",
            subcategory="{trainset}",
            labels={"figure": "selection protocols"},
        ),
        calibration=report(
            result_plot("{trainset}", "calibration"),
            caption="../report/calibration.rst",
            category="Selection",
            subcategory="{trainset}",
            labels={"figure": "calibration sweep"},
        ),
    log:
        log_path("plot_results", "{trainset}"),
    conda:
        "../../envs/synthval.yaml"
    threads: 1
    resources:
        mem_mb=grow_with_attempt(2000),
        runtime=grow_with_attempt(10),
    params:
        code=code("plot_results.py"),
    script:
        "../scripts/plot_results.py"


rule plot_copies:
    input:
        tables=copies_tables_of,
        train=data_manifest("{trainset}", "train"),
        synthetic=synthetic_manifests_of,
    output:
        copies=report(
            result_plot("{trainset}", "copies"),
            caption="../report/copies.rst",
            category="Synthetic-data quality",
            subcategory="{trainset}",
            labels={"figure": "copy detection"},
        ),
        pairs=report(
            result_plot("{trainset}", "copy_pairs"),
            caption="../report/copies.rst",
            category="Synthetic-data quality",
            subcategory="{trainset}",
            labels={"figure": "closest pairs"},
        ),
    log:
        log_path("plot_copies", "{trainset}"),
    conda:
        "../../envs/synthval.yaml"
    threads: 1
    resources:
        mem_mb=grow_with_attempt(2000),
        runtime=grow_with_attempt(10),
    params:
        code=code("plot_copies.py"),
    script:
        "../scripts/plot_copies.py"


rule render_report:
    input:
        report_input_files(),
    output:
        html=report(
            report_html(),
            caption="../report/report.rst",
            category="Report",
            labels={"page": "synthval report"},
        ),
    log:
        log_path("render_report", "all"),
    benchmark:
        bench_path("render_report", "all")
    conda:
        "../../envs/synthval.yaml"
    threads: 1
    resources:
        mem_mb=grow_with_attempt(2000),
        runtime=grow_with_attempt(10),
    params:
        code=code("render_report.py"),
        config=config,
        partial=False,
    script:
        "../scripts/render_report.py"


# The report of whatever exists (a partial or failed run): `snakemake -f partial_report`. It declares
# no inputs, so it never starts another job; the workflow's onerror hook writes it too.
use rule render_report as partial_report with:
    input:
        [],
    output:
        html=partial_report_html(),
    log:
        log_path("partial_report", "all"),
    benchmark:
        bench_path("partial_report", "all")
    params:
        code=code("render_report.py"),
        config=config,
        partial=True,
