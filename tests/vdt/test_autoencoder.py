"""Latent spaces: shapes, value ranges, ConvVAE training / scale factor / persistence, the diffusers VAE path, factory."""

from __future__ import annotations

import time

import pytest
import torch

from vdt.autoencoders import (
    SD_SCALE,
    ConvVAE,
    ConvVAEConfig,
    PixelSpace,
    StableDiffusionVAE,
    build_latent_space,
    fit_scale_factor,
    train_conv_vae,
)

SIZE = 32
TRAIN_STEPS = 200


def shape_frames(count: int, size: int, seed: int) -> torch.Tensor:
    """(count, 3, size, size) in [-1, 1]: a dark flat background with one coloured disc and one coloured square."""
    g = torch.Generator().manual_seed(seed)
    yy, xx = torch.meshgrid(torch.arange(size), torch.arange(size), indexing="ij")
    frames = torch.empty(count, 3, size, size)
    for i in range(count):
        frame = (torch.rand(3, 1, 1, generator=g) * 0.6 - 0.8).expand(3, size, size)
        for disc in (True, False):
            colour = torch.rand(3, 1, 1, generator=g) * 2 - 1
            cx, cy = torch.randint(4, size - 4, (2,), generator=g).tolist()
            r = int(torch.randint(3, size // 4, (1,), generator=g))
            if disc:
                inside = (xx - cx) ** 2 + (yy - cy) ** 2 <= r * r
            else:
                inside = ((xx - cx).abs() <= r) & ((yy - cy).abs() <= r)
            frame = torch.where(inside, colour, frame)
        frames[i] = frame
    return frames


def small_config(downscale: int = 4) -> ConvVAEConfig:
    return ConvVAEConfig(latent_channels=4, downscale=downscale, base_channels=16, norm_groups=4)


def reconstruction_mse(space, video: torch.Tensor) -> float:
    return (space.decode(space.encode(video)) - video).square().mean().item()


@pytest.fixture(scope="module", autouse=True)
def one_torch_thread():
    """The test machine's 2 cores are shared: under contention 2 spinning OpenMP threads ran ConvVAE training
    12x slower (170 s vs 14 s for 200 steps) than one thread, so this module runs single-threaded."""
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)


@pytest.fixture(scope="module")
def held_out() -> torch.Tensor:
    """(2, 16, 3, 32, 32): two 16-frame 'videos' of unseen frames."""
    return shape_frames(32, SIZE, seed=1).reshape(2, 16, 3, SIZE, SIZE)


@pytest.fixture(scope="module")
def trained(held_out):
    """A ConvVAE trained for TRAIN_STEPS steps, with its history, the callback log and MSE before/after."""
    torch.manual_seed(0)
    model = ConvVAE(small_config())
    before = reconstruction_mse(model, held_out)
    calls = []
    start = time.perf_counter()
    history = train_conv_vae(
        model,
        shape_frames(512, SIZE, seed=0),
        steps=TRAIN_STEPS,
        lr=2e-3,
        batch_size=16,
        log_every=50,
        callback=lambda step, metrics: calls.append((step, metrics)),
    )
    seconds = time.perf_counter() - start
    after = reconstruction_mse(model, held_out)
    print(
        f"\nConvVAE round trip MSE on held-out frames: {before:.4f} before, {after:.4f} after "
        f"{TRAIN_STEPS} steps ({seconds:.1f} s), ratio {after / before:.3f}, scale factor {history.scale_factor:.4f}"
    )
    return model, history, calls, before, after


# ---- PixelSpace ------------------------------------------------------------------------------------------


def test_pixel_space_is_exact_identity_and_decode_clamps():
    space = PixelSpace()
    video = torch.rand(2, 3, 3, 8, 8) * 2 - 1
    assert (space.channels, space.downscale) == (3, 1)
    assert space.encode(video) is video
    assert torch.equal(space.decode(space.encode(video)), video)
    overshoot = torch.tensor([-3.0, -1.0, 0.25, 1.0, 2.5]).reshape(1, 1, 1, 1, 5).expand(1, 1, 3, 1, 5)
    assert torch.equal(space.decode(overshoot)[0, 0, 0, 0], torch.tensor([-1.0, -1.0, 0.25, 1.0, 1.0]))
    assert space.to("cpu") is space


def test_encode_rejects_bad_input_with_clear_errors():
    space = PixelSpace()
    with pytest.raises(ValueError, match=r"\[-1, 1\].*255"):
        space.encode(torch.full((1, 1, 3, 4, 4), 255.0))
    with pytest.raises(ValueError, match=r"\(B, T, C, H, W\).*\(3, 4, 4\)"):
        space.encode(torch.zeros(3, 4, 4))
    with pytest.raises(ValueError, match="3 channels"):
        space.encode(torch.zeros(1, 1, 4, 4, 4))
    with pytest.raises(ValueError, match="floating"):
        space.encode(torch.zeros(1, 1, 3, 4, 4, dtype=torch.uint8))
    with pytest.raises(ValueError, match="not divisible by the latent downscale 4"):
        ConvVAE(small_config()).encode(torch.zeros(1, 1, 3, 30, 32))


# ---- ConvVAE ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("downscale", [4, 8])
def test_conv_vae_shapes_range_and_frame_independence(downscale):
    torch.manual_seed(0)
    model = ConvVAE(small_config(downscale), chunk_size=3)
    video = torch.rand(2, 5, 3, SIZE, SIZE) * 2 - 1
    latents = model.encode(video)
    assert (model.channels, model.downscale) == (4, downscale)
    assert latents.shape == (2, 5, 4, SIZE // downscale, SIZE // downscale)
    decoded = model.decode(latents * 50)  # far-off latents still decode into the valid range
    assert decoded.shape == video.shape
    assert decoded.min() >= -1 and decoded.max() <= 1
    # Frames are encoded independently: chunking does not matter and each frame alone gives the same latents.
    torch.testing.assert_close(model.encode(video, chunk_size=64), latents)
    torch.testing.assert_close(model.encode(video[1:2, 3:4]), latents[1:2, 3:4])
    # Outputs come back in the input's dtype.
    assert model.encode(video.double()).dtype == torch.float64


def test_conv_vae_config_is_validated():
    with pytest.raises(ValueError, match="power of two"):
        ConvVAEConfig(downscale=6)
    with pytest.raises(ValueError, match="norm_groups"):
        ConvVAEConfig(base_channels=12, norm_groups=8)


def test_training_cuts_round_trip_error(trained):
    model, history, calls, before, after = trained
    assert after < 0.5 * before, f"MSE {before:.4f} -> {after:.4f}"
    assert len(history.loss) == len(history.recon) == len(history.kl) == TRAIN_STEPS
    assert sum(history.loss[-20:]) < 0.5 * sum(history.loss[:20])
    assert [step for step, _ in calls] == list(range(1, TRAIN_STEPS + 1))
    assert set(calls[-1][1]) == {"loss", "recon", "kl"} and calls[-1][1]["loss"] == history.loss[-1]


def test_scale_factor_gives_unit_std_latents(trained, held_out):
    model, history, *_ = trained
    assert history.scale_factor == model.scale_factor
    latents = model.encode(held_out)
    assert 0.8 < latents.std().item() < 1.25
    # The factor is 1 / std of the unscaled posterior means, and refitting on these frames makes their std exactly 1.
    refit = ConvVAE(small_config())
    refit.load_state_dict(model.state_dict())
    factor = fit_scale_factor(refit, held_out)
    unscaled = refit.posterior(held_out.flatten(0, 1))[0]
    assert factor == pytest.approx(1 / unscaled.std().item(), rel=1e-5)
    assert refit.encode(held_out).std().item() == pytest.approx(1.0, rel=1e-5)


def test_save_load_round_trip_is_identical(trained, held_out, tmp_path):
    model, *_ = trained
    path = model.save(tmp_path / "vae" / "conv_vae.pt")
    assert sorted(p.name for p in path.parent.iterdir()) == ["conv_vae.pt"]  # no temp file left behind
    raw = torch.load(path, weights_only=True)
    assert sorted(raw) == ["config", "scale_factor", "state_dict"]
    loaded = ConvVAE.load(path)
    assert loaded.config == model.config and loaded.scale_factor == model.scale_factor
    latents = model.encode(held_out)
    assert torch.equal(loaded.encode(held_out), latents)
    assert torch.equal(loaded.decode(latents), model.decode(latents))
    assert torch.equal(build_latent_space("conv_vae", path=path).encode(held_out), latents)


def test_load_errors_name_the_file(tmp_path):
    missing = tmp_path / "nope.pt"
    with pytest.raises(FileNotFoundError, match=str(missing)):
        ConvVAE.load(missing)
    garbage = tmp_path / "garbage.pt"
    garbage.write_bytes(b"not a checkpoint")
    with pytest.raises(ValueError, match=rf"{garbage}: not a readable ConvVAE checkpoint"):
        ConvVAE.load(garbage)
    partial = tmp_path / "partial.pt"
    torch.save({"state_dict": {}}, partial)
    with pytest.raises(ValueError, match=rf"{partial}: .*needs keys"):
        ConvVAE.load(partial)
    mismatched = tmp_path / "mismatched.pt"
    ConvVAE(small_config(8)).save(mismatched)
    checkpoint = torch.load(mismatched, weights_only=True)
    checkpoint["config"]["downscale"] = 4
    torch.save(checkpoint, mismatched)
    with pytest.raises(ValueError, match=rf"{mismatched}: weights do not match"):
        ConvVAE.load(mismatched)


def test_training_from_an_iterable_of_videos_and_in_bf16():
    torch.manual_seed(0)
    videos = [shape_frames(6, 16, seed=s).reshape(2, 3, 3, 16, 16) for s in range(2)]  # 12 frames per pass
    model = ConvVAE(small_config())
    history = train_conv_vae(model, videos, steps=4, batch_size=5, bf16=True, scale_frames=10)
    assert len(history.loss) == 4 and all(torch.isfinite(torch.tensor(history.loss)))
    assert history.scale_factor > 0
    one_shot = (v for v in videos)
    with pytest.raises(ValueError, match="ran out"):
        train_conv_vae(ConvVAE(small_config()), one_shot, steps=5, batch_size=6)
    with pytest.raises(ValueError, match="recon_loss"):
        train_conv_vae(model, videos[0], steps=1, recon_loss="huber")


# ---- Stable Diffusion VAE (a tiny random AutoencoderKL saved like a real one) ----------------------------


@pytest.fixture(scope="module")
def tiny_sd_folder(tmp_path_factory):
    from diffusers import AutoencoderKL

    torch.manual_seed(0)
    vae = AutoencoderKL(
        down_block_types=("DownEncoderBlock2D",) * 2,
        up_block_types=("UpDecoderBlock2D",) * 2,
        block_out_channels=(8, 16),
        layers_per_block=1,
        latent_channels=4,
        norm_num_groups=8,
    )
    folder = tmp_path_factory.mktemp("sd") / "vae"
    vae.save_pretrained(folder)
    return folder, vae.eval()


def test_sd_vae_scaling_and_inverse_relation(tiny_sd_folder):
    folder, reference = tiny_sd_folder
    space = StableDiffusionVAE(folder, chunk_size=4)
    assert (space.channels, space.downscale, space.scale) == (4, 2, SD_SCALE)
    video = torch.rand(2, 3, 3, 16, 16) * 2 - 1
    latents = space.encode(video)
    assert latents.shape == (2, 3, 4, 8, 8)
    with torch.no_grad():
        mean = reference.encode(video.flatten(0, 1)).latent_dist.mean
        torch.testing.assert_close(latents, (mean * 0.18215).reshape(2, 3, 4, 8, 8))
        decoded = space.decode(latents)
        expected = reference.decode(mean).sample.clamp(-1, 1)  # decode divides the scale back out
    assert decoded.shape == video.shape and decoded.min() >= -1 and decoded.max() <= 1
    torch.testing.assert_close(decoded, expected.reshape(video.shape))
    # A subfolder, a dtype by name and the factory reach the same weights.
    other = build_latent_space("sd_vae", path=folder.parent, subfolder="vae", dtype="float64")
    torch.testing.assert_close(other.encode(video.double()), latents.double(), rtol=1e-4, atol=1e-5)


def test_sd_vae_missing_folder_or_files_fail_before_loading(tmp_path, tiny_sd_folder):
    missing = tmp_path / "no_such_vae"
    with pytest.raises(FileNotFoundError, match=rf"{missing}.*does not exist"):
        StableDiffusionVAE(missing)
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(FileNotFoundError, match=rf"{empty}: no config.json"):
        StableDiffusionVAE(empty)
    (empty / "config.json").write_text((tiny_sd_folder[0] / "config.json").read_text())
    with pytest.raises(FileNotFoundError, match=rf"{empty}: no weights.*diffusion_pytorch_model.safetensors"):
        StableDiffusionVAE(empty)
    with pytest.raises(ValueError, match="floating torch dtype"):
        StableDiffusionVAE(tiny_sd_folder[0], dtype="int8")


def test_factory_lists_kinds():
    assert isinstance(build_latent_space("pixels"), PixelSpace)
    with pytest.raises(ValueError, match=r"'vqgan'.*\['conv_vae', 'pixels', 'sd_vae'\]"):
        build_latent_space("vqgan")
