"""The report: figures (figures.py), HTML building blocks (html.py), its sections' prose and tables
(sections.py), findings with the thresholds behind their verdicts (findings.py), and the assembled page
(build.py), which reads the files synthval.plan.report.report_inputs names."""
