rule train_reference:
    input:
        train=train_split,
    output:
        weights=[reference_weights("{trainset}")],
        histories=[reference_history("{trainset}")],
    log:
        log_path("train_reference", "{trainset}"),
    benchmark:
        bench_path("train_reference", "{trainset}")
    priority: 10  # on the critical path: every prediction waits for the synthetic sets
    conda:
        "../../envs/synthval.yaml"
    threads: 1
    resources:
        mem_mb=grow_with_attempt(4000),
        runtime=grow_with_attempt(60),
        gpu=config["gpus"],
    params:
        code=code("train_classifier.py"),
        members=reference_members,
        spec=reference_spec,
        save_epochs=[config["reference"]["epochs"]],
        workdir=reference_workdir,
    script:
        "../scripts/train_classifier.py"


rule train_generator:
    input:
        unpack(generator_inputs),
    output:
        weights=generator_weights("{trainset}", "{generator}"),
    log:
        log_path("train_generator", "{trainset}", "{generator}"),
    benchmark:
        bench_path("train_generator", "{trainset}", "{generator}")
    wildcard_constraints:
        generator=one_of(WHOLE),
    priority: 10
    conda:
        "../../envs/synthval.yaml"
    threads: 1
    resources:
        mem_mb=grow_with_attempt(4000),
        runtime=grow_with_attempt(120),
        gpu=config["gpus"],
    params:
        code=code("train_generator.py"),
        settings=generator_settings,
        seed=generator_seed,
        resume=generator_resume,
    script:
        "../scripts/train_generator.py"


# per_class generators: one generator per class, each trained as a one-class generator
use rule train_generator as train_class_generator with:
    output:
        weights=class_generator_weights("{trainset}", "{generator}", "{cls}"),
    log:
        log_path("train_class_generator", "{trainset}", "{generator}", "{cls}"),
    benchmark:
        bench_path("train_class_generator", "{trainset}", "{generator}", "{cls}")
    wildcard_constraints:
        generator=one_of(PER_CLASS),
    params:
        cls=class_index,


rule assemble_class_generators:
    input:
        members=class_generators_of,
    output:
        weights=generator_weights("{trainset}", "{generator}"),
    log:
        log_path("assemble_class_generators", "{trainset}", "{generator}"),
    wildcard_constraints:
        generator=one_of(PER_CLASS),
    conda:
        "../../envs/synthval.yaml"
    threads: 1
    resources:
        mem_mb=grow_with_attempt(2000),
        runtime=grow_with_attempt(10),
    params:
        code=code("assemble_class_generators.py"),
    script:
        "../scripts/assemble_class_generators.py"


rule synthesize_shard:
    input:
        unpack(synthesis_inputs),
    output:
        shard=synthetic_shard("{trainset}", "{generator}", "{shard}"),
        record=record_path(synthetic_shard("{trainset}", "{generator}", "{shard}")),
    log:
        log_path("synthesize_shard", "{trainset}", "{generator}", "{shard}"),
    benchmark:
        bench_path("synthesize_shard", "{trainset}", "{generator}", "{shard}")
    wildcard_constraints:
        generator=one_of(SAMPLED),
    priority: 10
    conda:
        "../../envs/synthval.yaml"
    threads: 1
    resources:
        mem_mb=grow_with_attempt(4000),
        runtime=grow_with_attempt(60),
        gpu=config["gpus"],
    params:
        code=code("synthesize_shard.py"),
        per_class=config["synthesis"]["per_class"],
        settings=synthesis_settings,
        shards=len(SHARDS),
        index=shard_index,
        seed=shard_seed,
        batch_size=config["synthesis"]["batch_size"],
        key_prefix=get_shard_key_prefix,
    script:
        "../scripts/synthesize_shard.py"


# samples made elsewhere (family imported): checked, brought to the data's size, and sharded like a
# sampled set; each shard job takes every N-th image of the label-sorted set
rule import_shard:
    input:
        source=imported_source,
        summary=data_summary("{trainset}"),
    output:
        shard=synthetic_shard("{trainset}", "{generator}", "{shard}"),
        record=record_path(synthetic_shard("{trainset}", "{generator}", "{shard}")),
    log:
        log_path("import_shard", "{trainset}", "{generator}", "{shard}"),
    wildcard_constraints:
        generator=one_of(IMPORTED_SETS),
    conda:
        "../../envs/synthval.yaml"
    threads: 1
    resources:
        mem_mb=grow_with_attempt(4000),
        runtime=grow_with_attempt(30),
    params:
        code=code("import_shard.py"),
        shards=len(SHARDS),
        index=shard_index,
        key_prefix=get_shard_key_prefix,
    script:
        "../scripts/import_shard.py"


rule index_synthetic:
    input:
        shards=shards_of,
        records=records_of(shards_of),
    output:
        manifest=synthetic_manifest("{trainset}", "{generator}"),
    log:
        log_path("index_synthetic", "{trainset}", "{generator}"),
    conda:
        "../../envs/synthval.yaml"
    threads: 1
    resources:
        mem_mb=grow_with_attempt(1000),
        runtime=grow_with_attempt(10),
    params:
        code=code("index_synthetic.py"),
    script:
        "../scripts/index_synthetic.py"


rule convert_webdataset:
    input:
        shard=parquet_shard_of,
        record=records_of(parquet_shard_of),
    output:
        tar=webdataset_shard("{trainset}", "{generator}", "{shard}"),
        record=record_path(webdataset_shard("{trainset}", "{generator}", "{shard}")),
    log:
        log_path("convert_webdataset", "{trainset}", "{generator}", "{shard}"),
    conda:
        "../../envs/synthval.yaml"
    threads: 1
    resources:
        mem_mb=grow_with_attempt(2000),
        runtime=grow_with_attempt(10),
    params:
        code=code("convert_webdataset.py"),
    script:
        "../scripts/convert_webdataset.py"


rule index_webdataset:
    input:
        shards=webdataset_shards_of,
        records=records_of(webdataset_shards_of),
    output:
        manifest=webdataset_manifest("{trainset}", "{generator}"),
    log:
        log_path("index_webdataset", "{trainset}", "{generator}"),
    conda:
        "../../envs/synthval.yaml"
    threads: 1
    resources:
        mem_mb=grow_with_attempt(1000),
        runtime=grow_with_attempt(10),
    params:
        code=code("index_synthetic.py"),
    script:
        "../scripts/index_synthetic.py"


rule plot_samples:
    input:
        manifest=synthetic_manifest("{trainset}", "{generator}"),
        weights=generator_weights("{trainset}", "{generator}"),
    output:
        history=report(
            generator_history_plot("{trainset}", "{generator}"),
            caption="../report/history.rst",
            category="Generators",
            subcategory="{trainset}",
            labels={"generator": "{generator}", "figure": "training history"},
        ),
        grid=report(
            sample_grid("{trainset}", "{generator}"),
            caption="../report/samples.rst",
            category="Generators",
            subcategory="{trainset}",
            labels={"generator": "{generator}", "figure": "samples per class"},
        ),
    log:
        log_path("plot_samples", "{trainset}", "{generator}"),
    wildcard_constraints:
        generator=one_of(SAMPLED),
    conda:
        "../../envs/synthval.yaml"
    threads: 1
    resources:
        mem_mb=grow_with_attempt(2000),
        runtime=grow_with_attempt(10),
    params:
        code=code("plot_samples.py"),
    script:
        "../scripts/plot_samples.py"


# imported samples have no training history: their grid only
use rule plot_samples as plot_imported_samples with:
    input:
        manifest=synthetic_manifest("{trainset}", "{generator}"),
    output:
        grid=sample_grid("{trainset}", "{generator}"),
    wildcard_constraints:
        generator=one_of(IMPORTED_SETS),
