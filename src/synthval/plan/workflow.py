"""The whole plan, as the Snakefile holds it: ``P = Plan.from_config(config, scripts)``, then
``P.<stage>.<decision>`` in the rules (workflow/rules/<stage>.smk reads ``P.<stage>``)."""

from __future__ import annotations

from dataclasses import dataclass, fields
from pathlib import Path

from synthval.families import family_of
from synthval.plan import paths
from synthval.plan.classifiers import Classifiers
from synthval.plan.data import Data
from synthval.plan.evaluation import Evaluation
from synthval.plan.generators import Generators
from synthval.plan.metrics import Metrics
from synthval.plan.privacy import Privacy
from synthval.plan.report import Report
from synthval.plan.robustness import Robustness
from synthval.plan.selection import Selection
from synthval.plan.stage import Stage, grow_with_attempt
from synthval.plan.study import Study
from synthval.plan.training import Training

#: The job scripts that build a generator of the config's families (and so import its libraries).
GENERATOR_SCRIPTS = frozenset({"train_generator.py", "assemble_class_generators.py", "synthesize_shard.py"})


@dataclass(frozen=True)
class Plan:
    """What a config implies (:attr:`study`) and one stage object per rules file."""

    study: Study
    data: Data
    generators: Generators
    classifiers: Classifiers
    evaluation: Evaluation
    metrics: Metrics
    selection: Selection
    training: Training
    privacy: Privacy
    robustness: Robustness
    report: Report

    @classmethod
    def from_config(cls, config: dict, scripts: str | Path) -> Plan:
        """The plan of a validated config; ``scripts`` is the folder of the workflow's scripts (whose
        library code each job's ``code`` digests)."""
        study = Study.from_config(config)
        return cls(
            study=study,
            data=Data(study, scripts),
            generators=Generators(study, scripts),
            classifiers=Classifiers(study, scripts),
            evaluation=Evaluation(study, scripts),
            metrics=Metrics(study, scripts),
            selection=Selection(study, scripts),
            training=Training(study, scripts),
            privacy=Privacy(study, scripts),
            robustness=Robustness(study, scripts),
            report=Report(study, scripts),
        )

    def stages(self) -> list[Stage]:
        """The stage objects, in the order of the DAG."""
        return [getattr(self, f.name) for f in fields(self) if f.name != "study"]

    def all_outputs(self) -> list[str]:
        """Every artifact, not just the report (rule all's inputs), as each stage lists its own: Snakemake
        does not remake a deleted intermediate file whose consumers are up to date, but it does remake a
        missing target and then reruns every job downstream of it. Listing them all makes "delete a file,
        rerun" redo exactly its dependents."""
        outputs = [paths.report_html()]
        for t in self.study.trainsets:
            for stage in self.stages():
                outputs += stage.outputs(t)
        return list(dict.fromkeys(outputs))  # a study run at 1x asks for the manifest the content gap needs too

    def warm_modules(self, scripts: list[str] | None = None) -> list[str]:
        """What the local jobs' warm process imports beside torch (synthval.forkserver): the libraries of
        the config's generator families (diffusers' UNet and schedulers: ~6 CPU-s a DDPM job saves), where
        one of the run's ``scripts`` (the jobs' script file names; None: unknown) builds a generator."""
        if scripts is not None and not GENERATOR_SCRIPTS & set(scripts):
            return []
        sections = self.study.config["generators"].values()
        return list(dict.fromkeys(m for section in sections for m in family_of(section).libraries))

    @staticmethod
    def grow(base: int):
        """A resource that grows with each retry of a failed job (synthval.plan.stage.grow_with_attempt)."""
        return grow_with_attempt(base)
