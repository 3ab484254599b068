"""The one training loop: a seed fixes the whole run (initial weights, clips, masks, noise)."""

from __future__ import annotations

import pytest
import torch

from pipelines.config.sections import LatentConfig, ModelConfig, PretrainConfig
from pipelines.toy_videos import moving_shapes
from pipelines.training import load_trained, train_vdt
from pipelines.training.loop import ema_decay_at
from vdt.autoencoders import NormalizedSpace
from vdt.checkpoint import read_checkpoint

MODEL = ModelConfig(size="VDT-Nano/2", resolution=8, num_frames=4, n_given=2)
PRETRAIN = PretrainConfig(steps=5, batch_size=4, checkpoint_every=5, preview_every=100)


def _train(tmp_path, name: str, seed: int) -> dict:
    clips = moving_shapes(12, 4, 8, radius=1.2, max_speed=1.0, bounce=False, generator=torch.Generator().manual_seed(0))
    torch.manual_seed(1234 + len(name))  # whatever the global RNG holds before, the seed decides
    path = train_vdt(
        clips, model=MODEL, latent=LatentConfig(), pretrain=PRETRAIN, out_dir=tmp_path / name, seed=seed, progress=False
    )
    return read_checkpoint(path)["ema"]


def test_same_seed_same_model_other_seed_other_model(tmp_path):
    a, b, c = _train(tmp_path, "a", 0), _train(tmp_path, "bb", 0), _train(tmp_path, "c", 1)
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert not all(torch.equal(a[k], c[k]) for k in a)


def test_checkpoint_carries_the_latent_normalisation_and_process_and_a_resume_keeps_them(tmp_path):
    clips = moving_shapes(12, 4, 8, radius=1.2, max_speed=1.0, bounce=False, generator=torch.Generator().manual_seed(0))
    pretrain = PretrainConfig(
        steps=4,
        batch_size=4,
        checkpoint_every=2,
        preview_every=100,
        prediction="x0",
        loss_weighting="min_snr",
        n_given_range=(1, 3),
    )
    path = train_vdt(
        clips, model=MODEL, latent=LatentConfig(), pretrain=pretrain, out_dir=tmp_path / "run", progress=False
    )
    trained = load_trained(path, LatentConfig())
    assert isinstance(trained.space, NormalizedSpace)
    # fitted on the training clips: their normalised latents have about zero mean and unit std per channel
    z = trained.space.encode(clips).transpose(0, 2).reshape(3, -1)
    assert z.mean(1).abs().max() < 0.2 and (z.std(1) - 1).abs().max() < 0.2
    assert (trained.diffusion.prediction, trained.diffusion.loss_weighting) == ("x0", "min_snr")
    ckpt = read_checkpoint(tmp_path / "run" / "checkpoints" / "step-0000002.pt")
    torch.testing.assert_close(ckpt["latent_norm"]["scale"], trained.space.scale)
    # without normalisation the checkpoint has none and the space is the plain one
    plain = train_vdt(
        clips,
        model=MODEL,
        latent=LatentConfig(normalize="none"),
        pretrain=PRETRAIN,
        out_dir=tmp_path / "plain",
        progress=False,
    )
    assert not isinstance(load_trained(plain, LatentConfig()).space, NormalizedSpace)
    # contradicting the recorded process is an error naming the file
    with pytest.raises(ValueError, match="diffusion steps"):
        load_trained(path, LatentConfig(), diffusion_steps=500)


def test_ema_warm_up_averages_the_last_fifth_until_the_nominal_window():
    assert ema_decay_at(0, 0.999) == 0.0
    assert 1 / (1 - ema_decay_at(500, 0.999)) == pytest.approx(101)  # a window of 1 + 500 / 5 steps
    assert ema_decay_at(5000, 0.999) == 0.999 and ema_decay_at(995, 0.995) == 0.995


def test_decoupled_training_trains_images_first_then_video_from_their_spatial_layers(tmp_path, caplog):
    import logging

    from pipelines.training.checkpoints import spatial_phase_dir
    from pipelines.training.loop import spatial_phase

    clips = moving_shapes(12, 4, 8, radius=1.2, max_speed=1.0, bounce=False, generator=torch.Generator().manual_seed(0))
    pretrain = PretrainConfig(steps=3, image_steps=4, batch_size=4, checkpoint_every=10, preview_every=100)
    phase = spatial_phase(pretrain)
    assert (phase.steps, phase.image_steps, dict(phase.mask_weights)) == (4, 0, {"unconditional": 1.0})
    with caplog.at_level(logging.INFO):
        path = train_vdt(clips, model=MODEL, latent=LatentConfig(), pretrain=pretrain, out_dir=tmp_path, progress=False)
    image, video = read_checkpoint(spatial_phase_dir(tmp_path) / "model.pt"), read_checkpoint(path)
    assert (image["config"]["mode"], image["step"], video["config"]["mode"], video["step"]) == ("image", 4, "video", 3)
    assert "(spatial layers)" in caplog.text  # the video phase started from the image model
    # the image model has no temporal layers; the video model has them and every spatial weight of the image one
    temporal = set(video["model"]) - set(image["model"])
    assert temporal and all("temporal" in k or k == "time_embed" for k in temporal)
    # one normalisation for both phases: the video phase inherits the image phase's
    torch.testing.assert_close(video["latent_norm"]["scale"], image["latent_norm"]["scale"])
    # the video model's spatial layers are the image model's, trained further: closer to them than a fresh start
    fresh = read_checkpoint(
        train_vdt(clips, model=MODEL, latent=LatentConfig(), pretrain=PRETRAIN, out_dir=tmp_path / "v", progress=False)
    )
    key = "blocks.0.adaLN_modulation.1.weight"  # zero at initialisation (adaLN-Zero), so training alone moves it
    near = (video["model"][key] - image["model"][key]).norm()
    assert near < (fresh["model"][key] - image["model"][key]).norm()
    # a rerun finds both phases finished
    assert train_vdt(clips, model=MODEL, latent=LatentConfig(), pretrain=pretrain, out_dir=tmp_path, progress=False)
    with pytest.raises(ValueError, match="image_steps trains the spatial layers from scratch"):
        init = ModelConfig(**{**MODEL.model_dump(), "init_checkpoint": path})
        train_vdt(clips, model=init, latent=LatentConfig(), pretrain=pretrain, out_dir=tmp_path / "x", progress=False)


def test_previews_use_the_runs_sampler_and_leave_the_training_unchanged(tmp_path, monkeypatch):
    import pipelines.training.previews as previews
    from pipelines.config.sections import SamplerConfig

    calls = []

    def recording_complete(model, diffusion, video, mask, **kwargs):
        calls.append((len(diffusion.timestep_map), kwargs["method"], kwargs["start_from"], kwargs["start_step"]))
        return real_complete(model, diffusion, video, mask, **kwargs)

    real_complete = previews.complete
    monkeypatch.setattr(previews, "complete", recording_complete)
    clips = moving_shapes(12, 4, 8, radius=1.2, max_speed=1.0, bounce=False, generator=torch.Generator().manual_seed(0))
    pretrain = PretrainConfig(steps=4, batch_size=4, checkpoint_every=4, preview_every=2)
    sampler = SamplerConfig(method="dpmpp2m", steps=3, start_from="nearest_given", start_step=400)
    kwargs = dict(model=MODEL, latent=LatentConfig(), pretrain=pretrain, progress=False)
    ours = train_vdt(clips, out_dir=tmp_path / "ours", preview_sampler=sampler, **kwargs)
    assert calls == [(3, "dpmpp2m", "nearest_given", 400)] * 2  # steps 2 and 4
    assert sorted(p.name for p in (tmp_path / "ours" / "previews").iterdir()) == [
        "step-0000002.png",
        "step-0000004.png",
    ]
    calls.clear()
    default = train_vdt(clips, out_dir=tmp_path / "default", **kwargs)
    assert calls == [(10, "ddim", "noise", None)] * 2
    a, b = read_checkpoint(ours)["ema"], read_checkpoint(default)["ema"]
    assert all(torch.equal(a[k], b[k]) for k in a)
