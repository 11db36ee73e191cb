from snakemake.utils import min_version

import os
import sys

from synthval.config import check_data, validate_config
from synthval.plan.summary import plan_summary, rules_to_run, run_cores

min_version("9.0")


# A --configfile replaces the embedded default instead of being merged into it, so a study's named
# training sets and generators are exactly the ones it lists; missing keys take the schema defaults.
if not workflow.config_settings.configfiles:

    configfile: f"{workflow.basedir}/config/config.yaml"


# every key and default: the schema synthval ships (workflow/schemas/config.schema.yaml links to it)
validate_config(config)
# the data on disk, once, by the run's main process (synthval run has checked it already); a dry run
# plans without the data (a paper-scale config on a laptop), saying what a real run would stop on
if workflow.is_main_process and not os.environ.get("SYNTHVAL_DATA_CHECKED"):
    check_data(config, warn_only=getattr(workflow.output_settings, "dryrun", False))


include: "workflow/rules/common.smk"
include: "workflow/rules/data.smk"
include: "workflow/rules/generators.smk"
include: "workflow/rules/classifiers.smk"
include: "workflow/rules/evaluation.smk"
include: "workflow/rules/metrics.smk"
include: "workflow/rules/selection.smk"
include: "workflow/rules/training.smk"
include: "workflow/rules/privacy.smk"
include: "workflow/rules/robustness.smk"
include: "workflow/rules/report.smk"


rule all:
    default_target: True
    input:
        P.all_outputs(),


# jobs run on this machine start as forks of one process that has imported torch (synthval.forkserver),
# where the run has enough of them to repay its imports
onstart:
    if (counts := rules_to_run(workflow)) is not None:
        print(plan_summary(config, counts, run_cores(workflow)), file=sys.stderr)
    scripts = forkserver.scripts_to_run(workflow)
    forkserver.start(
        local=workflow.local_exec and workflow.is_main_process,
        preload=P.warm_modules(scripts),
        jobs=None if scripts is None else len(scripts),
    )


onsuccess:
    forkserver.stop()
    leave_partial_report(log)


onerror:
    forkserver.stop()
    leave_partial_report(log)
    summarize_failures(log)
