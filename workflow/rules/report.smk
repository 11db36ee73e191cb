rule plot_results:
    input:
        curves=P.report.quality_curves,
        protocols=paths.selection_table("{trainset}", "protocols"),
        calibration=paths.selection_table("{trainset}", "calibration"),
    output:
        quality=report(
            paths.result_plot("{trainset}", "quality"),
            caption="../../src/synthval/report/templates/captions/quality.rst",
            category="Synthetic-data quality",
            subcategory="{trainset}",
            labels={"figure": "PRD and ARC curves"},
        ),
        protocols=report(
            paths.result_plot("{trainset}", "protocols"),
            caption="../../src/synthval/report/templates/captions/protocols.rst",
            category="Selection",
            subcategory="{trainset}",
            labels={"figure": "selection protocols"},
        ),
        calibration=report(
            paths.result_plot("{trainset}", "calibration"),
            caption="../../src/synthval/report/templates/captions/calibration.rst",
            category="Selection",
            subcategory="{trainset}",
            labels={"figure": "calibration sweep"},
        ),
    log:
        paths.log_path("plot_results", "{trainset}"),
    conda:
        "../../envs/synthval.yaml"
    threads: 1
    resources:
        mem_mb=P.grow(2000),
        runtime=P.grow(10),
    params:
        code=P.report.code("plot_results.py"),
    script:
        "../scripts/plot_results.py"


rule plot_copies:
    input:
        tables=P.report.copies_tables,
        train=paths.data_manifest("{trainset}", "train"),
        synthetic=P.report.synthetic_manifests,
    output:
        copies=report(
            paths.result_plot("{trainset}", "copies"),
            caption="../../src/synthval/report/templates/captions/copies.rst",
            category="Synthetic-data quality",
            subcategory="{trainset}",
            labels={"figure": "copy detection"},
        ),
        pairs=report(
            paths.result_plot("{trainset}", "copy_pairs"),
            caption="../../src/synthval/report/templates/captions/copies.rst",
            category="Synthetic-data quality",
            subcategory="{trainset}",
            labels={"figure": "closest pairs"},
        ),
    log:
        paths.log_path("plot_copies", "{trainset}"),
    conda:
        "../../envs/synthval.yaml"
    threads: 1
    resources:
        mem_mb=P.grow(2000),
        runtime=P.grow(10),
    params:
        code=P.report.code("plot_copies.py"),
    script:
        "../scripts/plot_copies.py"


rule render_report:
    input:
        P.report.input_files(),
    output:
        html=report(
            paths.report_html(),
            caption="../../src/synthval/report/templates/captions/report.rst",
            category="Report",
            labels={"page": "synthval report"},
        ),
    log:
        paths.log_path("render_report", "all"),
    benchmark:
        paths.bench_path("render_report", "all")
    conda:
        "../../envs/synthval.yaml"
    threads: 1
    resources:
        mem_mb=P.grow(2000),
        runtime=P.grow(10),
    params:
        code=P.report.code("render_report.py"),
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
        html=paths.partial_report_html(),
    log:
        paths.log_path("partial_report", "all"),
    benchmark:
        paths.bench_path("partial_report", "all")
    params:
        code=P.report.code("render_report.py"),
        config=config,
        partial=True,
