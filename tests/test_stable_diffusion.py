"""The stable_diffusion family (Yuan et al. 2024 §3) on a tiny randomly initialised pipeline: what is saved,
the MMD term of eq. 7, visual guidance and the latent prior, each on its own."""

import numpy as np
import pytest
import torch

from synthval.generators import (
    create_generator,
    load_generator,
    sample_images,
    sample_with,
    save_generator,
    train_generator,
)
from synthval.io import load_tensors


def sd(pipeline, **hparams):
    torch.manual_seed(0)
    settings = {"resolution": 32, "sampling_steps": 3, "lora_rank": 2, "latent_prior": False, **hparams}
    return create_generator("stable_diffusion", 4, 1, 8, pipeline=str(pipeline), **settings)


def fit(model, tiny_images, tmp_path, **settings):
    images, labels = tiny_images
    return train_generator(
        model,
        images,
        labels,
        iterations=3,
        batch_size=8,
        seed=0,
        resume_path=tmp_path / "state.safetensors",
        **{"lr": 1e-3, **settings},
    )


def test_the_weights_hold_only_what_fine_tuning_learnt(sd_pipeline, tiny_images, tmp_path):
    model = sd(sd_pipeline, visual_guidance=True)
    record = fit(model, tiny_images, tmp_path, visual_samples=3)
    save_generator(tmp_path / "g.safetensors", model, record)
    tensors, meta = load_tensors(tmp_path / "g.safetensors")
    assert meta["hparams"]["pipeline"] == str(sd_pipeline)
    assert meta["family"] == "stable_diffusion"
    assert tensors
    assert all("lora_" in k or k.startswith(("vg_proj.", "vg_embeds")) for k in tensors)
    assert sum(t.numel() for t in tensors.values()) < sum(p.numel() for p in model.parameters()) / 10
    # fine-tuning changed the LoRA (B starts at 0 and moves), and only it
    assert any(t.abs().sum() > 0 for k, t in tensors.items() if "lora_B" in k)
    other = sd(sd_pipeline, lora_rank=4, visual_guidance=True)
    with pytest.raises(RuntimeError, match="another lora_rank or visual_guidance"):
        other.load_state_dict(tensors)
    with pytest.raises(FileNotFoundError, match="no diffusers pipeline"):
        sd(tmp_path / "nowhere")


def _one_step(model, tiny_images, **settings):
    """One fine-tuning step on the first 8 images, with what the UNet saw and returned: the metrics, the
    drawn noise and timesteps, the UNet's prediction, and the LoRA gradients."""
    from synthval.generators.base import to_unit
    from synthval.generators.stable_diffusion import StableDiffusionTrainer

    trainer = StableDiffusionTrainer(model, torch.device("cpu"), torch.Generator().manual_seed(0), **settings)
    seen, add_noise = {}, trainer.noise_scheduler.add_noise

    def spy(z0, noise, t):
        seen.update(noise=noise.double().numpy(), t=t.numpy())
        return add_noise(z0, noise, t)

    trainer.noise_scheduler.add_noise = spy
    hook = model.unet.register_forward_hook(lambda m, a, out: seen.update(eps=out.sample.detach().double().numpy()))
    images, labels = tiny_images
    metrics = trainer.step(lambda: (to_unit(images[:8]), torch.as_tensor(labels[:8])))
    hook.remove()
    grads = [p.grad.clone() for p in trainer.params if p.grad is not None]
    return metrics, seen, trainer.noise_scheduler.alphas_cumprod.double().numpy(), grads


def test_the_distribution_matching_term_recomputed_from_the_unets_own_outputs(sd_pipeline, tiny_images):
    """The authors' objective (finetune/train_text_to_image_lora.py), recomputed here from the noise drawn
    and the UNet's prediction: Min-SNR-5 weights w = min(SNR, 5) / SNR on each image's mean squared residual,
    plus 0.003 x the mean over latent elements of the squared batch SUM of w x residual. The squared mean,
    the sum over another axis, or unweighted residuals would each give other numbers."""
    metrics, seen, alpha_bar, _ = _one_step(sd(sd_pipeline), tiny_images, mmd_weight=0.003)
    residual = seen["noise"] - seen["eps"]
    snr = alpha_bar[seen["t"]] / (1 - alpha_bar[seen["t"]])
    w = np.minimum(snr, 5.0) / snr
    diffusion = np.mean(w * (residual**2).reshape(8, -1).mean(1))
    dist = np.mean((w[:, None, None, None] * residual).sum(0) ** 2)
    assert metrics["diffusion"] == pytest.approx(diffusion, rel=1e-5)
    assert metrics["mmd"] == pytest.approx(dist, rel=1e-5)
    assert metrics["loss"] == pytest.approx(diffusion + 0.003 * dist, rel=1e-5)
    wrong = {
        "squared mean": np.mean((w[:, None, None, None] * residual).mean(0) ** 2),
        "sum over channels": np.mean((w[:, None, None, None] * residual).sum(1) ** 2),
    }
    if w.min() < 0.5:  # a timestep of SNR above 10 drawn: the weights matter
        wrong["unweighted sum"] = np.mean(residual.sum(0) ** 2)
    assert all(abs(metrics["mmd"] - value) > 1e-3 * dist for value in wrong.values()), (dist, w, wrong)
    # the weights at chosen timesteps: small t (little noise, SNR far above 5) are weighted down
    from synthval.generators.stable_diffusion import StableDiffusionTrainer

    trainer = StableDiffusionTrainer(sd(sd_pipeline), torch.device("cpu"), torch.Generator())
    t = np.array([0, 10, 100, 500, 999])
    snr = alpha_bar[t] / (1 - alpha_bar[t])
    np.testing.assert_allclose(trainer.snr_weights(torch.as_tensor(t)).numpy(), np.minimum(snr, 5) / snr, rtol=1e-6)
    assert trainer.snr_weights(torch.as_tensor(t))[0] < 0.1
    # eq. 7 as the paper writes it: no weights, the squared batch mean
    metrics, seen, _, _ = _one_step(sd(sd_pipeline), tiny_images, mmd_weight=1.0, snr_gamma=None, mmd_reduction="mean")
    residual = seen["noise"] - seen["eps"]
    assert metrics["diffusion"] == pytest.approx(np.mean(residual**2), rel=1e-5)
    assert metrics["mmd"] == pytest.approx(np.mean(residual.mean(0) ** 2), rel=1e-5)


def test_the_distribution_matching_gradient_reaches_the_lora_weights(sd_pipeline, tiny_images):
    """Its weight changes the LoRA gradients of the same step (a detached term would leave them alone)."""
    _, _, _, plain = _one_step(sd(sd_pipeline), tiny_images, mmd_weight=0.0)
    _, _, _, matched = _one_step(sd(sd_pipeline), tiny_images, mmd_weight=0.5)
    assert plain
    assert len(plain) == len(matched)
    assert any(not torch.allclose(a, b, rtol=1e-4, atol=1e-7) for a, b in zip(plain, matched, strict=True))


def test_visual_guidance_is_the_mean_clip_embedding_of_each_class(sd_pipeline, tiny_images, tmp_path):
    import transformers

    from synthval.generators.stable_diffusion import CLIP_MEAN, CLIP_STD

    model = sd(sd_pipeline, visual_guidance=True, lora_rank=0)
    fit(model, tiny_images, tmp_path, visual_samples=40)  # more than a class has: every image of it
    images, labels = tiny_images
    encoder = transformers.CLIPVisionModelWithProjection.from_pretrained(sd_pipeline / "image_encoder").eval()
    x = torch.as_tensor(images).permute(0, 3, 1, 2).float() / 255
    x = torch.nn.functional.interpolate(x.expand(-1, 3, -1, -1), size=32, mode="bilinear", antialias=True)
    mean, std = torch.tensor(CLIP_MEAN)[:, None, None], torch.tensor(CLIP_STD)[:, None, None]
    with torch.no_grad():
        embeds = encoder(pixel_values=(x - mean) / std).image_embeds
    for c in range(4):
        torch.testing.assert_close(model.vg_embeds[c], embeds[torch.as_tensor(labels == c)].mean(0))
    # the class's embedding takes the place of the prompt's last token (the image encoder is as wide as a
    # token here, so it goes in as it is, as in the authors' code); the rest is the prompt's
    cond = model.condition(torch.tensor([0, 1]))
    assert cond.shape[1] == model.tokenizer.model_max_length
    assert not torch.equal(cond[0, -1], cond[1, -1])
    torch.testing.assert_close(cond[1, -1], model.vg_embeds[1])
    plain = model._embed(model.prompt.format(classname=model.class_names[1]))
    torch.testing.assert_close(cond[1, :-1], plain[:-1])


def _hooked_conditions(model):
    """The cross-attention states of every UNet call, as a list the hook fills."""
    seen = []
    hook = model.unet.register_forward_pre_hook(
        lambda m, args, kwargs: seen.append(kwargs["encoder_hidden_states"].detach().clone()), with_kwargs=True
    )
    return seen, hook


def test_per_image_guidance_is_each_images_own_clip_embedding(sd_pipeline, tiny_images):
    """The authors' code: in fine-tuning each image's own CLIP embedding in the prompt's last token, so
    images of one class get different tokens; in sampling the embedding of the real image that starts the
    sample. Fine-tuning mirrors half the images (random_flip), and the token is the image as the batch
    shows it."""
    from synthval.generators.base import to_unit
    from synthval.generators.stable_diffusion import StableDiffusionTrainer

    images, labels = tiny_images
    model = sd(sd_pipeline, visual_guidance="per_image", lora_rank=2)
    assert not hasattr(model, "vg_embeds")
    assert not list(model.vg_proj.parameters())
    x = to_unit(images[:8])
    y = torch.as_tensor(labels[:8])
    for flip in (False, True):
        trainer = StableDiffusionTrainer(model, torch.device("cpu"), torch.Generator().manual_seed(4), random_flip=flip)
        shown, encode = [], model.encode

        def spy(batch, noise, shown=shown, encode=encode):
            shown.append(batch.clone())
            return encode(batch, noise)

        model.encode = spy
        seen, hook = _hooked_conditions(model)
        trainer.step(lambda: (x, y))
        hook.remove()
        del model.encode
        tokens = seen[0][:, -1]
        torch.testing.assert_close(tokens, model.clip_embeds(shown[0]))
        same_class = [i for i in range(8) if y[i] == y[0]]
        assert len(same_class) > 1
        assert not torch.equal(tokens[same_class[0]], tokens[same_class[1]])
        mirrored = [torch.equal(shown[0][i], x[i].flip(-1)) and not torch.equal(x[i], x[i].flip(-1)) for i in range(8)]
        assert any(mirrored) and not all(mirrored) if flip else not any(mirrored)
    # sampling: the token of each sample's real image (the latent prior's), classifier-free guidance
    # against the negative prompt as the pipeline encodes it
    keys = [f"real-{i}" for i in range(len(labels))]
    model.eval().set_prior(images, labels, keys, seed=2)
    seen, hook = _hooked_conditions(model)
    sample_images(model, np.array([0, 0, 1]), seed=0)
    hook.remove()
    picked = [keys.index(k) for k in model.take_prior_keys()]
    uncond, cond = seen[0].chunk(2)
    torch.testing.assert_close(cond[:, -1], model.clip_embeds(to_unit(images[picked])))
    torch.testing.assert_close(uncond[0], model._embed(model.negative_prompt))
    with pytest.raises(ValueError, match="per_image, per_class or false"):
        sd(sd_pipeline, visual_guidance="per_batch")


def test_the_latent_prior_starts_from_recorded_real_images_of_the_class(sd_pipeline, tiny_images):
    images, labels = tiny_images
    keys = [f"real-{i}" for i in range(len(labels))]
    model = sd(sd_pipeline, latent_prior=True, lora_rank=0).eval()
    y = np.array([0, 1, 2, 3, 3])
    with pytest.raises(ValueError, match="set_prior"):
        sample_images(model, y, seed=1)
    model.set_prior(images, labels, keys)
    a = sample_images(model, y, seed=1)
    first = model.take_prior_keys()
    assert [labels[keys.index(k)] for k in first] == y.tolist()
    assert model.prior_keys == []
    np.testing.assert_array_equal(sample_images(model, y, seed=1), a)
    assert model.take_prior_keys() == first  # the same seed starts from the same real images
    assert not np.array_equal(sample_images(model, y, seed=2), a)  # another seed: other noise ...
    assert model.take_prior_keys() == first  # ... from the same walk through the real images
    drawn = sd(sd_pipeline, latent_prior=True, lora_rank=0, prior_draws="replacement").eval()
    drawn.set_prior(images, labels, keys)
    sample_images(drawn, y, seed=1)
    by_seed_1 = drawn.take_prior_keys()
    sample_images(drawn, y, seed=2)
    assert drawn.take_prior_keys() != by_seed_1  # drawn with the sampling generator: the seed picks them
    # in batches, the keys of every batch, in sample order
    sample_with(model, y, torch.Generator().manual_seed(1), batch_size=2)
    assert len(model.take_prior_keys()) == len(y)
    weaker = sd(sd_pipeline, latent_prior=True, lora_rank=0, strength=0.34).eval()
    weaker.set_prior(images, labels, keys)
    assert not np.array_equal(sample_images(weaker, y, seed=1), a)  # less noise: closer to the real image
    plain = sd(sd_pipeline, lora_rank=0).eval()
    assert not np.array_equal(sample_images(plain, y, seed=1), a)
    assert plain.take_prior_keys() == []


def test_a_prior_decoded_where_drawn_samples_what_the_held_prior_samples(sd_pipeline, tiny_images, tmp_path):
    """synthesize_shard's latent prior reads the real images it draws from their shards (ManifestImages):
    the same samples, from the same real images, as the split held in memory."""
    from synthval.data import write_sharded
    from synthval.data.stream import ManifestImages

    images, labels = tiny_images
    keys = [f"real-{i}" for i in range(len(labels))]
    write_sharded(tmp_path / "set", keys, images, labels, 15, "unit")
    model, y = sd(sd_pipeline, latent_prior=True, lora_rank=0).eval(), np.array([0, 1, 2, 3, 3, 0])
    model.set_prior(images, labels, keys)
    held, held_keys = sample_images(model, y, seed=1), model.take_prior_keys()
    lazy = ManifestImages(tmp_path / "set" / "manifest.json")
    model.set_prior(lazy, lazy.labels, lazy.keys)
    np.testing.assert_array_equal(sample_images(model, y, seed=1), held)
    assert model.take_prior_keys() == held_keys


def test_a_reloaded_generator_samples_the_same_images(sd_pipeline, tiny_images, tmp_path):
    model = sd(sd_pipeline, visual_guidance=True, latent_prior=True)
    record = fit(model, tiny_images, tmp_path, visual_samples=3, mmd_weight=1.0)
    save_generator(tmp_path / "g.safetensors", model, record)
    images, labels = tiny_images
    keys = [f"real-{i}" for i in range(len(labels))]
    reloaded = load_generator(tmp_path / "g.safetensors")
    for m in (model.eval(), reloaded):
        m.set_prior(images, labels, keys)
    y = np.array([0, 1, 2, 3])
    np.testing.assert_array_equal(sample_images(model, y, seed=3), sample_images(reloaded, y, seed=3))
    assert model.take_prior_keys() == reloaded.take_prior_keys()


def test_stable_diffusion_is_conditioned_by_class_prompts_only():
    from synthval.config import ConfigError, validate_config

    config = {"generators": {"sd": {"family": "stable_diffusion", "pipeline": "p", "conditioning": "per_class"}}}
    with pytest.raises(ConfigError, match="stable_diffusion is conditioned by class prompts"):
        validate_config(config)
    with pytest.raises(ConfigError, match="pipeline"):
        validate_config({"generators": {"sd": {"family": "stable_diffusion"}}})
    filled = validate_config({"generators": {"sd": {"family": "stable_diffusion", "pipeline": "p"}}})["generators"]
    # Yuan et al. 2024 App. E: 30 UniPC steps, guidance 2.0, strength 0.75; LoRA rank 8 at 1e-4
    assert {k: filled["sd"][k] for k in ("sampling_steps", "scheduler", "guidance_scale", "strength", "lora_rank")} == {
        "sampling_steps": 30,
        "scheduler": "unipc",
        "guidance_scale": 2.0,
        "strength": 0.75,
        "lora_rank": 8,
    }


@pytest.mark.integration
def test_real_fake_synthesis_runs_through_the_workflow(sd_run):
    """tests/configs/sd.yaml end to end (started beside the unit tests: tests/snakemake_runs.py)."""
    from synthval.data import read_image_set
    from synthval.data.shards import read_shard_metadata
    from synthval.io import read_json, read_metadata
    from synthval.plan.paths import (
        data_manifest,
        data_summary,
        errors_table,
        generator_weights,
        rank_table,
        report_html,
        synthetic_manifest,
        synthetic_shard,
        training_table,
    )

    tmp_path = sd_run
    meta = read_metadata(tmp_path / generator_weights("train200", "sd"))
    assert meta["family"] == "stable_diffusion"
    assert meta["hparams"]["visual_guidance"] == "per_image"
    assert meta["hparams"]["captions"] == "captions.json"
    assert meta["hparams"]["class_names"] == read_json(tmp_path / data_summary("train200"))["class_names"]
    record = meta["record"]
    assert record["history"][-1]["mmd"] > 0
    assert [s["step"] for s in record["scores"]] == [2, 4]
    # every sample names the real training image of its class it started from
    train = read_image_set(tmp_path / data_manifest("train200", "train"))
    label_of = dict(zip(train.keys, train.labels.tolist(), strict=True))
    synthetic = read_image_set(tmp_path / synthetic_manifest("train200", "sd"))
    assert len(synthetic) == 60
    assert synthetic.images.shape[1:] == (8, 8, 1)
    sources = {}
    for shard in ("00000", "00001"):
        prior = read_shard_metadata(tmp_path / synthetic_shard("train200", "sd", shard))["latent_prior"]
        assert prior["strength"] == 0.75
        sources |= prior["sources"]
    assert [label_of[sources[k]] for k in synthetic.keys] == synthetic.labels.tolist()
    # ranked, selected, trained on and reported like any other synthetic set (the imported one too)
    import polars as pl

    assert {"sd", "theirs"} <= set(pl.read_parquet(tmp_path / rank_table("train200"))["eval_set"].to_list())
    assert "synthetic-sd" in pl.read_parquet(tmp_path / training_table("train200", "accuracy"))["run"].to_list()
    html = (tmp_path / report_html()).read_text()
    assert "family <b>stable_diffusion</b>" in html
    assert "Complete: all" in html
    # the imported set: checked, converted to the data's 8x8 grey, and shown like the sampled one
    imported = read_image_set(tmp_path / synthetic_manifest("train200", "theirs"))
    assert len(imported) == 50
    assert imported.images.shape[1:] == (8, 8, 1)
    assert np.bincount(imported.labels).tolist() == [5] * 10
    assert "Imported samples" in html
    assert "converted from 16x16x3" in html
    assert 'alt="samples of theirs"' in html
    # the classifier trained elsewhere: scored on the test split and every synthetic set (not on augmented
    # copies of a split it was not trained on), ranked with the train members in a group of its own
    errors = pl.read_parquet(tmp_path / errors_table("train200")).filter(
        pl.col("model") == "pretrained_mlp-imported-s0"
    )
    assert sorted(errors["eval_set"].unique().to_list()) == ["sd", "test", "theirs"]
    rank = pl.read_parquet(tmp_path / rank_table("train200")).filter(pl.col("ranked") == "train members")
    pooled = dict(rank.filter(pl.col("group") == "all").select("eval_set", "n_models").iter_rows())
    assert pooled == {"augmented": 4, "sd": 5, "theirs": 5}  # 2 x 2 trained + 1 imported (no augmented split)
    assert "imported" in rank["group"].to_list()
    assert "<td>pretrained_mlp-imported-s0</td>" in html
    assert "imported from pretrained-mlp.safetensors" in html


def test_samples_weigh_the_lora_by_lora_scale(sd_pipeline, tiny_images, tmp_path):
    """The authors sample with the LoRA at half weight (generate.py, cross_attention_scale 0.5): scale 0
    samples as the pretrained UNet, 1 as the fine-tuned one, and 0.5 lies between them."""
    model = sd(sd_pipeline, lora_rank=2)
    fit(model, tiny_images, tmp_path, lr=5e-2)
    model.eval()
    assert model.lora_scale == 0.5  # the default
    y = np.array([0, 1, 2, 3])
    samples = {}
    for scale in (0.0, 0.5, 1.0):
        model.lora_scale = scale
        samples[scale] = sample_images(model, y, seed=1).astype(int)
    model.unet.disable_adapters()
    model.lora_scale = None
    pretrained = sample_images(model, y, seed=1).astype(int)
    np.testing.assert_array_equal(samples[0.0], pretrained)
    assert not np.array_equal(samples[0.5], samples[0.0])
    assert not np.array_equal(samples[0.5], samples[1.0])


def test_each_real_image_starts_k_samples_of_a_set_k_times_its_size(sd_pipeline, tiny_images):
    """The authors' walk (prior_draws permutation): a set of 1.5 x the real images, sampled in 3 shards as
    synthesize_shard samples them (each shard from where the earlier ones stopped, synthval.generators.synthesis
    .shard_labels), starts from every real image of a class once or twice, 15 samples a class."""
    from synthval.generators.synthesis import shard_labels

    images, labels = tiny_images  # 10 images in each of 4 classes
    keys = [f"real-{i}" for i in range(len(labels))]
    model = sd(sd_pipeline, latent_prior=True, lora_rank=0, sampling_steps=1).eval()
    used = []
    for index in range(3):
        before = [shard_labels(4, 15, 3, i) for i in range(index)]
        start = np.bincount(np.concatenate([[], *before]).astype(np.int64), minlength=4)
        model.set_prior(images, labels, keys, seed=7, start=start)
        sample_images(model, shard_labels(4, 15, 3, index), seed=index)
        used += model.take_prior_keys()
    counts = {k: used.count(k) for k in keys}
    assert sorted(set(counts.values())) == [1, 2]
    assert len(used) == 60
    for c in range(4):
        assert sum(counts[k] for k, label in zip(keys, labels, strict=True) if label == c) == 15
    # another walk seed, another order; the same seed, the same one
    model.set_prior(images, labels, keys, seed=8)
    sample_images(model, np.zeros(10, np.int64), seed=0)
    other = model.take_prior_keys()
    model.set_prior(images, labels, keys, seed=7)
    sample_images(model, np.zeros(10, np.int64), seed=0)
    assert sorted(other) == sorted(model.take_prior_keys())
    assert other != model.take_prior_keys()


def test_latent_prior_sampling_is_diffusers_img2img(sd_pipeline):
    """With no LoRA and no visual guidance, sampling from the latent prior is diffusers'
    StableDiffusionImg2ImgPipeline on the same components, real images, prompts, negative prompt, guidance,
    strength, scheduler and generator: the same posterior draw, the same noise, the same denoising."""
    import diffusers

    rng = np.random.default_rng(3)
    images = rng.integers(0, 256, (8, 32, 32, 3), dtype=np.uint8)
    labels = np.arange(8) % 4
    keys = [f"real-{i}" for i in range(8)]
    torch.manual_seed(0)
    model = create_generator(
        "stable_diffusion", 4, 3, 32, pipeline=str(sd_pipeline), resolution=32, sampling_steps=4, lora_rank=0
    ).eval()
    assert model.latent_prior
    assert model.lora_scale is None
    assert not model.visual_guidance
    model.set_prior(images, labels, keys, seed=5)
    y = np.array([2, 0, 3, 1])
    with torch.no_grad():
        ours = model.sample_tensor(torch.as_tensor(y), torch.Generator().manual_seed(1))
    picked = [keys.index(k) for k in model.take_prior_keys()]
    pipe = diffusers.StableDiffusionImg2ImgPipeline(
        vae=model.vae,
        text_encoder=model.text_encoder,
        tokenizer=model.tokenizer,
        unet=model.unet,
        scheduler=diffusers.UniPCMultistepScheduler.from_config(model.scheduler_config),
        safety_checker=None,
        feature_extractor=None,
        requires_safety_checker=False,
    )
    pipe.set_progress_bar_config(disable=True)
    theirs = pipe(
        prompt=[model.prompt.format(classname=model.class_names[c]) for c in y],
        negative_prompt=[model.negative_prompt] * len(y),
        image=torch.as_tensor(images[picked]).permute(0, 3, 1, 2).float() / 255,
        strength=model.strength,
        num_inference_steps=4,
        guidance_scale=model.guidance,
        generator=torch.Generator().manual_seed(1),
        output_type="pt",
    ).images
    torch.testing.assert_close((ours + 1) / 2, theirs, rtol=0, atol=1e-6)  # equal here, to the last bit


def test_captions_put_each_images_own_caption_in_its_prompt(sd_pipeline, tiny_images, tmp_path):
    """The authors' "photo of [class], [caption]": in fine-tuning the caption of each image of the batch
    (by its key), in sampling the caption of the real image the sample starts from."""
    import json

    images, labels = tiny_images
    keys = [f"real-{i}" for i in range(len(labels))]
    path = tmp_path / "captions.json"
    path.write_text(json.dumps({k: f"caption {i}" for i, k in enumerate(keys)}))
    prompt = "photo of {classname}, {caption}"
    model = sd(sd_pipeline, captions=str(path), prompt=prompt, lora_rank=2)
    assert model.uses_real_images  # sampling takes its captions from real images
    asked = []
    prompts = model.prompts
    model.prompts = lambda y, k: asked.append((y.tolist(), list(k))) or prompts(y, k)
    seen, hook = _hooked_conditions(model)
    fit(model, tiny_images, tmp_path, keys=keys)
    hook.remove()
    y, batch_keys = asked[0]
    assert len(batch_keys) == 8
    assert [labels[keys.index(k)] for k in batch_keys] == y
    expected = torch.stack(
        [model._embed(f"photo of {c}, caption {keys.index(k)}") for c, k in zip(y, batch_keys, strict=True)]
    )
    torch.testing.assert_close(seen[0], expected)
    # sampling: the caption of each sample's real image (no latent prior needed for it)
    asked.clear()
    model.eval().set_prior(images, labels, keys, seed=1)
    sample_images(model, np.array([0, 3, 3]), seed=0)
    assert asked[-1][1] == model.take_prior_keys()
    # a key without a caption, a prompt with nowhere to put them, a caption slot with no captions
    path.write_text(json.dumps({keys[0]: "only one"}))
    with pytest.raises(ValueError, match="no caption for 7 images"):
        sd(sd_pipeline, captions=str(path), prompt=prompt).prompts(torch.zeros(8), keys[:8])
    with pytest.raises(ValueError, match="has no \\{caption\\}"):
        sd(sd_pipeline, captions=str(path))
    with pytest.raises(ValueError, match="no captions file"):
        sd(sd_pipeline, prompt=prompt)
    path.write_text("[1, 2]")
    with pytest.raises(ValueError, match="JSON object"):
        sd(sd_pipeline, captions=str(path), prompt=prompt)
