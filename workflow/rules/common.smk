"""The plan of this run (synthval.plan): ``P.<stage>`` holds what the jobs of workflow/rules/<stage>.smk
read and how they are set; ``paths`` where every result lives. Then the wildcard constraints and the
workflow's hooks. No rules here."""

from pathlib import Path

from snakemake.logging import logger

from synthval import forkserver, zoo
from synthval.io import record_path
from synthval.plan import paths
from synthval.plan.workflow import Plan

P = Plan.from_config(config, scripts=Path(workflow.basedir) / "workflow" / "scripts")


wildcard_constraints:
    trainset=zoo.one_of(P.study.trainsets),
    generator=zoo.one_of(P.study.generators),
    model=zoo.MODEL_PATTERN,
    configuration=zoo.CONFIGURATION_PATTERN,
    shard=r"[0-9]{5}",
    split=zoo.one_of(paths.SPLITS),
    cls=r"[0-9]{3}",
    dataset=zoo.one_of(["train", "test", *P.study.generators]),


def summarize_failures(log):
    """The workflow's onerror hook: one line per failed job, with what its own log says went wrong
    (synthval.runtime.failure_summary), so the terminal shows the cause beside Snakemake's error blocks.
    """
    from synthval.runtime import failure_summary

    try:
        failures = failure_summary(log)
    except Exception as err:  # noqa: BLE001 - a hook must not replace the run's error
        logger.warning(f"Could not summarise the failures: {err}")
        return
    for failure in failures:
        logger.error(f"Failed: {failure}")


def leave_partial_report(log):
    """The workflow's onsuccess/onerror hook (synthval.report.build.leave_partial_report), then the
    answer table of what exists (synthval.report.build.answer_of); it never masks the run's own outcome.
    Neither with ``report.partial: false`` (nor their imports' second or two)."""
    if not config["report"]["partial"]:
        return
    from synthval.report.build import answer_of
    from synthval.report.build import leave_partial_report as leave

    try:
        if written := leave(config):
            logger.info(f"Partial report of what exists: {written}")
        if answer := answer_of(config):
            logger.info(answer)
    except Exception as err:  # noqa: BLE001 - a hook must not replace the run's error
        logger.warning(f"Could not write the partial report or the answer: {err}")
