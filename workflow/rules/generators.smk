rule train_generator:
    input:
        unpack(P.generators.train_inputs),
    output:
        weights=paths.generator_weights("{trainset}", "{generator}"),
    log:
        paths.log_path("train_generator", "{trainset}", "{generator}"),
    benchmark:
        paths.bench_path("train_generator", "{trainset}", "{generator}")
    wildcard_constraints:
        generator=zoo.one_of(P.study.whole),
    priority: 10
    conda:
        "../../envs/synthval.yaml"
    threads: P.generators.ranks("train_generator")
    resources:
        mem_mb=P.grow(4000),
        runtime=P.grow(120),
        gpu=P.generators.gpus("train_generator"),
    params:
        code=P.generators.code("train_generator.py"),
        spec=P.generators.train_spec,
        seed=P.generators.train_seed,
        resume=P.generators.resume,
        ranks=P.generators.ranks("train_generator"),
        loading=P.generators.loading,
    script:
        "../scripts/train_generator.py"


# per_class generators: one generator per class, each trained as a one-class generator
use rule train_generator as train_class_generator with:
    output:
        weights=paths.class_generator_weights("{trainset}", "{generator}", "{cls}"),
    log:
        paths.log_path("train_class_generator", "{trainset}", "{generator}", "{cls}"),
    benchmark:
        paths.bench_path("train_class_generator", "{trainset}", "{generator}", "{cls}")
    wildcard_constraints:
        generator=zoo.one_of(P.study.per_class),
    params:
        cls=P.generators.class_index,


rule assemble_class_generators:
    input:
        members=P.generators.class_generators,
    output:
        weights=paths.generator_weights("{trainset}", "{generator}"),
    log:
        paths.log_path("assemble_class_generators", "{trainset}", "{generator}"),
    wildcard_constraints:
        generator=zoo.one_of(P.study.per_class),
    conda:
        "../../envs/synthval.yaml"
    threads: 1
    resources:
        mem_mb=P.grow(2000),
        runtime=P.grow(10),
    params:
        code=P.generators.code("assemble_class_generators.py"),
    script:
        "../scripts/assemble_class_generators.py"


rule synthesize_shard:
    input:
        unpack(P.generators.synthesis_inputs),
    output:
        shard=paths.synthetic_shard("{trainset}", "{generator}", "{shard}"),
        record=record_path(
            paths.synthetic_shard("{trainset}", "{generator}", "{shard}")
        ),
    log:
        paths.log_path("synthesize_shard", "{trainset}", "{generator}", "{shard}"),
    benchmark:
        paths.bench_path("synthesize_shard", "{trainset}", "{generator}", "{shard}")
    wildcard_constraints:
        generator=zoo.one_of(P.study.sampled),
    priority: 10
    conda:
        "../../envs/synthval.yaml"
    threads: 1
    resources:
        mem_mb=P.grow(4000),
        runtime=P.grow(60),
        gpu=P.generators.gpu,
    params:
        code=P.generators.code("synthesize_shard.py"),
        accelerator=P.generators.accelerator,
        per_class=P.generators.per_class,
        settings=P.generators.synthesis_settings,
        shards=len(P.study.shards),
        index=P.generators.shard_index,
        seed=P.generators.shard_seed,
        batch_size=P.generators.synthesis_batch_size,
        key_prefix=P.generators.key_prefix,
        prior_seed=P.generators.prior_seed,
    script:
        "../scripts/synthesize_shard.py"


# samples made elsewhere (family imported): checked, brought to the data's size, and sharded like a
# sampled set; each shard job takes every N-th image of the label-sorted set
rule import_shard:
    input:
        source=P.generators.imported_source,
        summary=paths.data_summary("{trainset}"),
    output:
        shard=paths.synthetic_shard("{trainset}", "{generator}", "{shard}"),
        record=record_path(
            paths.synthetic_shard("{trainset}", "{generator}", "{shard}")
        ),
    log:
        paths.log_path("import_shard", "{trainset}", "{generator}", "{shard}"),
    wildcard_constraints:
        generator=zoo.one_of(P.study.imported),
    conda:
        "../../envs/synthval.yaml"
    threads: 1
    resources:
        mem_mb=P.grow(4000),
        runtime=P.grow(30),
    params:
        code=P.generators.code("import_shard.py"),
        shards=len(P.study.shards),
        index=P.generators.shard_index,
        key_prefix=P.generators.key_prefix,
    script:
        "../scripts/import_shard.py"


rule index_synthetic:
    input:
        shards=P.generators.shards,
        records=P.generators.records(P.generators.shards),
    output:
        manifest=paths.synthetic_manifest("{trainset}", "{generator}"),
    log:
        paths.log_path("index_synthetic", "{trainset}", "{generator}"),
    conda:
        "../../envs/synthval.yaml"
    threads: 1
    resources:
        mem_mb=P.grow(1000),
        runtime=P.grow(10),
    params:
        code=P.generators.code("index_synthetic.py"),
    script:
        "../scripts/index_synthetic.py"


rule convert_webdataset:
    input:
        shard=P.generators.shard,
        record=P.generators.records(P.generators.shard),
    output:
        tar=paths.webdataset_shard("{trainset}", "{generator}", "{shard}"),
        record=record_path(
            paths.webdataset_shard("{trainset}", "{generator}", "{shard}")
        ),
    log:
        paths.log_path("convert_webdataset", "{trainset}", "{generator}", "{shard}"),
    conda:
        "../../envs/synthval.yaml"
    threads: 1
    resources:
        mem_mb=P.grow(2000),
        runtime=P.grow(10),
    params:
        code=P.generators.code("convert_webdataset.py"),
    script:
        "../scripts/convert_webdataset.py"


rule index_webdataset:
    input:
        shards=P.generators.webdataset_shards,
        records=P.generators.records(P.generators.webdataset_shards),
    output:
        manifest=paths.webdataset_manifest("{trainset}", "{generator}"),
    log:
        paths.log_path("index_webdataset", "{trainset}", "{generator}"),
    conda:
        "../../envs/synthval.yaml"
    threads: 1
    resources:
        mem_mb=P.grow(1000),
        runtime=P.grow(10),
    params:
        code=P.generators.code("index_synthetic.py"),
    script:
        "../scripts/index_synthetic.py"


rule plot_samples:
    input:
        manifest=paths.synthetic_manifest("{trainset}", "{generator}"),
        weights=paths.generator_weights("{trainset}", "{generator}"),
    output:
        history=report(
            paths.generator_history_plot("{trainset}", "{generator}"),
            caption="../../src/synthval/report/templates/captions/history.rst",
            category="Generators",
            subcategory="{trainset}",
            labels={"generator": "{generator}", "figure": "training history"},
        ),
        grid=report(
            paths.sample_grid("{trainset}", "{generator}"),
            caption="../../src/synthval/report/templates/captions/samples.rst",
            category="Generators",
            subcategory="{trainset}",
            labels={"generator": "{generator}", "figure": "samples per class"},
        ),
    log:
        paths.log_path("plot_samples", "{trainset}", "{generator}"),
    wildcard_constraints:
        generator=zoo.one_of(P.study.sampled),
    conda:
        "../../envs/synthval.yaml"
    threads: 1
    resources:
        mem_mb=P.grow(2000),
        runtime=P.grow(10),
    params:
        code=P.generators.code("plot_samples.py"),
    script:
        "../scripts/plot_samples.py"


# imported samples have no training history: their grid only
use rule plot_samples as plot_imported_samples with:
    input:
        manifest=paths.synthetic_manifest("{trainset}", "{generator}"),
    output:
        grid=paths.sample_grid("{trainset}", "{generator}"),
    wildcard_constraints:
        generator=zoo.one_of(P.study.imported),
