"""Prediction targets (eps, v, x0), loss weighting, timestep spacings, DPM-Solver++(2M) (against diffusers), the
noised-prior start, latent normalisation, and the given-frame-count range of the mask generator."""

import math

import numpy as np
import pytest
import torch

from vdt.autoencoders import NormalizedSpace, PixelSpace
from vdt.diffusion import GaussianDiffusion, space_timesteps
from vdt.masks import MaskGenerator, blend_given_prior, given_frames_prior, nearest_given_prior
from vdt.samplers import SAMPLERS, sample

SHAPE = (2, 6, 3, 4, 4)


def target_oracle(x_star: torch.Tensor, diffusion: GaussianDiffusion, learn_sigma: bool = True):
    """The exact network for data that is the single video ``x_star``, in ``diffusion``'s prediction target."""

    def fn(x, t):
        a = torch.from_numpy(diffusion.alphas_cumprod)[t].float().view(-1, 1, 1, 1, 1)
        eps = (x - a.sqrt() * x_star) / (1 - a).sqrt()
        pred = {"eps": eps, "x0": x_star.expand_as(x), "v": a.sqrt() * eps - (1 - a).sqrt() * x_star}[
            diffusion.prediction
        ]
        return torch.cat([pred, torch.zeros_like(pred)], dim=2) if learn_sigma else pred

    return fn


@pytest.mark.parametrize("prediction", ["eps", "v", "x0"])
@pytest.mark.parametrize(
    "method,spacing",
    [
        ("ddpm", "50"),
        ("ddim", "ddim25"),
        ("ddim", "trailing10"),
        ("ddim", "quad10"),
        ("dpmpp2m", "trailing8"),
        ("dpmpp2m", "12"),
        ("ddim", "trailing1"),  # one step: a respaced process of length 1 must build
        ("dpmpp2m", "trailing1"),
    ],
)
def test_every_target_and_sampler_recovers_the_data_under_an_oracle(prediction, method, spacing):
    full = GaussianDiffusion.linear(1000, prediction=prediction)
    x_star = torch.rand(SHAPE) * 2 - 1
    out = sample(
        target_oracle(x_star, full),
        full.respace(spacing),
        SHAPE,
        method=method,
        generator=torch.Generator().manual_seed(0),
    )
    torch.testing.assert_close(out, x_star, atol=2e-4, rtol=0)


@pytest.mark.parametrize("prediction", ["eps", "v", "x0"])
def test_training_target_is_what_the_oracle_outputs_and_the_vlb_is_finite(prediction):
    d = GaussianDiffusion.linear(1000, prediction=prediction)
    x0, noise = torch.rand(SHAPE) * 2 - 1, torch.randn(SHAPE)
    mask = torch.ones(SHAPE[0], SHAPE[1], 4, 4)
    t = torch.tensor([3, 700])
    terms = d.training_losses(target_oracle(x0, d), x0, t, mask, noise)
    torch.testing.assert_close(terms["mse"], torch.zeros(2), atol=1e-8, rtol=0)
    # the oracle's mean is the true posterior mean, so the VLB is the KL of the variances alone: small and finite
    assert torch.isfinite(terms["vb"]).all() and (terms["vb"] >= 0).all()
    # x0 and eps recovered from each target agree with the truth
    xt = d.q_sample(x0, t, noise)
    pred = target_oracle(x0, d)(xt, t)[:, :, :3]
    x0_hat, eps_hat = d.predictions(pred, xt, t)
    torch.testing.assert_close(x0_hat, x0, atol=1e-4, rtol=0)
    torch.testing.assert_close(eps_hat, noise, atol=2e-3, rtol=0)


def test_min_snr_weights_follow_the_target_scale():
    t = torch.tensor([0, 50, 300, 999])
    snr = torch.from_numpy(GaussianDiffusion.linear(1000).snr)[t].float()
    clipped = snr.clamp(max=5.0)
    for prediction, expected in {"eps": clipped / snr, "v": clipped / (snr + 1), "x0": clipped}.items():
        w = GaussianDiffusion.linear(1000, prediction=prediction, loss_weighting="min_snr").loss_weights(t)
        torch.testing.assert_close(w, expected)
    assert torch.equal(GaussianDiffusion.linear(1000).loss_weights(t), torch.ones(4))
    with pytest.raises(ValueError, match="prediction target"):
        GaussianDiffusion.linear(1000, prediction="score")


@pytest.mark.parametrize("prediction", ["eps", "v", "x0", "residual", "residual_v"])
def test_x0_weighting_makes_every_targets_loss_its_x0_error(prediction):
    """loss_weighting="x0": the weighted target MSE of any prediction equals the MSE of the x0 it implies."""
    d = GaussianDiffusion.linear(1000, prediction=prediction, loss_weighting="x0")
    x0, noise = torch.rand(SHAPE) * 2 - 1, torch.randn(SHAPE)
    t = torch.tensor([20, 600])
    xt = d.q_sample(x0, t, noise)
    mask = torch.ones(SHAPE[0], SHAPE[1], 4, 4)
    mask[:, :2] = 0
    prior = d.prior(x0, mask)
    target = d.training_target(x0, noise, t, prior)
    pred = target + 0.1 * torch.randn(SHAPE, generator=torch.Generator().manual_seed(1))
    x0_hat, _ = d.predictions(pred, xt, t, prior=prior)
    target_mse = ((pred - target) ** 2).mean(dim=(1, 2, 3, 4)) * d.loss_weights(t)
    torch.testing.assert_close(target_mse, ((x0_hat - x0) ** 2).mean(dim=(1, 2, 3, 4)), rtol=1e-3, atol=0)


def test_spacings_reach_the_ends_they_promise():
    assert space_timesteps(1000, "trailing8") == [124, 249, 374, 499, 624, 749, 874, 999]
    quad = space_timesteps(1000, "quad10")
    assert quad[0] == 0 and quad[-1] == 999 and quad[1] - quad[0] < quad[-1] - quad[-2]  # denser near t = 0
    assert space_timesteps(1000, "8")[0] == 0 and space_timesteps(1000, "ddim8")[-1] == 875
    with pytest.raises(ValueError):
        space_timesteps(1000, "quad1")
    record = GaussianDiffusion.linear(1000, prediction="v", loss_weighting="min_snr").record()
    again = GaussianDiffusion.from_record(record, learn_sigma=True)
    assert (again.prediction, again.loss_weighting, again.num_timesteps) == ("v", "min_snr", 1000)
    # the blended prior travels with the model; records of the nearest-frame prior stay as they were before it
    blend = GaussianDiffusion.linear(1000, prediction="residual_v", prior_kind="blend")
    assert GaussianDiffusion.from_record(blend.record(), learn_sigma=True).respace("trailing4").prior_kind == "blend"
    assert "prior_kind" not in GaussianDiffusion.linear(1000, prediction="residual_v").record()
    with pytest.raises(ValueError, match="residual"):
        GaussianDiffusion.linear(1000, prediction="eps", prior_kind="blend")
    assert GaussianDiffusion.from_record(None, learn_sigma=True).prediction == "eps"  # official checkpoints


@pytest.mark.parametrize("spacing", ["trailing", "linspace"])
def test_dpmpp2m_matches_diffusers_multistep_scheduler(spacing):
    from diffusers import DPMSolverMultistepScheduler

    steps = 10
    sched = DPMSolverMultistepScheduler(
        num_train_timesteps=1000,
        beta_start=1e-4,
        beta_end=0.02,
        beta_schedule="linear",
        algorithm_type="dpmsolver++",
        solver_order=2,
        prediction_type="epsilon",
        timestep_spacing=spacing,
        final_sigmas_type="zero",
        lower_order_final=True,
    )
    sched.set_timesteps(steps)
    kept = sorted(int(s) for s in sched.timesteps)
    if spacing == "trailing":
        assert space_timesteps(1000, "trailing10") == kept  # our trailing spacing is diffusers'
    d = _respace_to(GaussianDiffusion.linear(1000, learn_sigma=False), kept)

    def model(x, t):
        return torch.tanh(0.5 * x + t.view(-1, 1, 1, 1, 1) / 1000.0)

    x4 = torch.randn(SHAPE, generator=torch.Generator().manual_seed(0))
    a = sample(model, d, SHAPE, noise=x4, method="dpmpp2m")
    # diffusers works on 4-D tensors: fold the frames into the batch (the update is elementwise)
    x = x4.flatten(0, 1).clone()
    for step in sched.timesteps:
        eps = model(x.view(SHAPE), torch.full((SHAPE[0],), int(step))).flatten(0, 1)
        x = sched.step(eps, step, x).prev_sample
    assert (x.view(SHAPE) - a).abs().max() / a.abs().max() < 1e-4


def _respace_to(full: GaussianDiffusion, keep: list[int]) -> GaussianDiffusion:
    last, betas = 1.0, []
    for i in keep:
        betas.append(1 - full.alphas_cumprod[i] / last)
        last = full.alphas_cumprod[i]
    return GaussianDiffusion(np.array(betas), full.learn_sigma, keep)


@pytest.mark.parametrize("method", SAMPLERS)
def test_noised_prior_start_runs_only_the_later_steps_and_keeps_the_given_frames(method):
    full = GaussianDiffusion.linear(1000, prediction="x0")
    d = full.respace("20")
    x_star = torch.rand(SHAPE) * 2 - 1
    mask = torch.ones(SHAPE[0], SHAPE[1], 4, 4)
    mask[:, :2] = 0
    calls = []
    oracle = target_oracle(x_star, full)

    def model(x, t):
        calls.append(int(t[0]))
        return oracle(x, t)

    prior = nearest_given_prior(x_star, mask)
    out = sample(
        model,
        d,
        SHAPE,
        given=x_star,
        mask=mask,
        method=method,
        prior=prior,
        start_step=300,
        generator=torch.Generator().manual_seed(0),
    )
    assert max(calls) <= 300 and calls == sorted(calls, reverse=True)
    assert len(calls) == sum(s <= 300 for s in d.timestep_map)
    torch.testing.assert_close(out, x_star, atol=2e-4, rtol=0)
    assert torch.equal(out[:, :2], x_star[:, :2])


def test_nearest_given_prior_copies_the_nearest_whole_given_frame():
    video = torch.arange(6.0).view(1, 6, 1, 1, 1).expand(2, 6, 3, 4, 4).clone()
    mask = torch.ones(2, 6, 4, 4)
    mask[0, :2] = 0  # predict: frames 2..5 copy frame 1
    mask[1, ::3] = 0  # interpolation: given 0 and 3
    prior = nearest_given_prior(video, mask)[:, :, 0, 0, 0]
    assert prior[0].tolist() == [0, 1, 1, 1, 1, 1]
    assert prior[1].tolist() == [0, 0, 3, 3, 3, 3]  # frame 1 -> 0, frame 2 -> 3 (nearer), 4 and 5 -> 3
    tie = torch.ones(1, 6, 4, 4)
    tie[0, [0, 4]] = 0  # frame 2 is as near to 0 as to 4: the earlier wins
    assert nearest_given_prior(video[:1], tie)[0, :, 0, 0, 0].tolist() == [0, 0, 0, 4, 4, 4]
    with pytest.raises(ValueError, match="wholly given"):
        nearest_given_prior(video, torch.ones(2, 6, 4, 4))


def test_blend_given_prior_is_linear_in_time_between_the_given_frames_on_either_side():
    video = torch.arange(8.0).view(1, 8, 1, 1, 1).expand(4, 8, 3, 2, 2).clone() ** 2  # frame k holds k^2
    mask = torch.ones(4, 8, 2, 2)
    mask[0, :3] = 0  # predict: after the last given frame, copy it
    mask[1, ::4] = 0  # interpolation, given 0 and 4
    mask[2, [2, 6]] = 0  # before the first given frame: copy it
    mask[3, 3, 0, 0] = 0  # partly given frames are not given: no whole frame, zeros
    prior = blend_given_prior(video, mask, missing="zeros")[:, :, 0, 0, 0]
    assert prior[0].tolist() == [0, 1, 4, 4, 4, 4, 4, 4]
    assert prior[1].tolist() == [0, 4, 8, 12, 16, 16, 16, 16]  # 0 + k/4 (16 - 0)
    assert prior[2].tolist() == [4, 4, 4, 12, 20, 28, 36, 36]  # 4 + (k - 2)/4 (36 - 4)
    assert prior[3].tolist() == [0] * 8
    assert torch.equal(prior[0], nearest_given_prior(video[:1], mask[:1])[0, :, 0, 0, 0])
    with pytest.raises(ValueError, match="wholly given"):
        blend_given_prior(video, mask)


def test_normalized_space_fits_unit_variance_and_keeps_the_pixel_clamp():
    g = torch.Generator().manual_seed(0)
    video = (
        torch.randn(4, 5, 3, 8, 8, generator=g) * torch.tensor([0.1, 0.2, 0.3]).view(1, 1, 3, 1, 1)
        + torch.tensor([0.5, -0.2, 0.0]).view(1, 1, 3, 1, 1)
    ).clamp(-1, 1)
    space = NormalizedSpace.fit(PixelSpace(), video)
    z = space.encode(video)
    stats = z.transpose(0, 2).reshape(3, -1)
    torch.testing.assert_close(stats.mean(1), torch.zeros(3), atol=1e-5, rtol=0)
    torch.testing.assert_close(stats.std(1), torch.ones(3), atol=1e-4, rtol=0)
    torch.testing.assert_close(space.decode(z), video, atol=1e-5, rtol=0)
    low, high = space.value_range
    # the bounds are [-1, 1] in pixel units: decoding values beyond them clamps exactly there
    torch.testing.assert_close(space.decode(high.expand(1, 1, 3, 2, 2) + 1.0), torch.ones(1, 1, 3, 2, 2))
    torch.testing.assert_close((low.flatten() * space.scale + space.shift), -torch.ones(3))
    again = NormalizedSpace(PixelSpace(), **space.state_dict())
    torch.testing.assert_close(again.encode(video), z)
    with pytest.raises(ValueError, match="shape"):
        NormalizedSpace(PixelSpace(), torch.zeros(4), torch.ones(4))


def test_mask_generator_draws_the_given_count_from_its_range():
    gen = MaskGenerator(8, 2, 2, n_given=4, weights={"predict": 1.0}, n_given_range=(2, 6))
    masks, _ = gen(200, generator=torch.Generator().manual_seed(0))
    given = (masks[:, :, 0, 0] == 0).sum(dim=1)
    assert set(given.tolist()) == {2, 3, 4, 5, 6}
    assert bool((masks[:, :, 0, 0] == 0).cumprod(dim=1).sum(dim=1).eq(given).all())  # always a prefix
    with pytest.raises(ValueError, match="n_given_range"):
        MaskGenerator(8, 2, 2, n_given=4, n_given_range=(0, 8))


@pytest.mark.parametrize("prior_kind", ["nearest", "blend"])
@pytest.mark.parametrize("prediction", ["residual", "residual_v"])
@pytest.mark.parametrize("method", SAMPLERS)
def test_residual_targets_a_zero_network_is_the_prior_and_an_oracle_recovers_the_data(method, prediction, prior_kind):
    d = GaussianDiffusion.linear(1000, prediction=prediction, prior_kind=prior_kind)
    x_star = torch.rand(SHAPE) * 2 - 1
    mask = torch.ones(SHAPE[0], SHAPE[1], 4, 4)
    if prior_kind == "nearest":
        mask[:, :2] = 0  # predict: the prior is copy-last
    else:
        mask[:, ::3] = 0  # interpolation (given 0 and 3): frames 1 and 2 are blends, 4 and 5 copy frame 3
    prior = given_frames_prior(x_star, mask, prior_kind)
    if prior_kind == "blend":
        assert not torch.allclose(prior, nearest_given_prior(x_star, mask))

    def zero(x, t):  # an untrained adaLN-Zero VDT outputs zeros
        return torch.zeros(x.shape[0], x.shape[1], 2 * x.shape[2], *x.shape[3:])

    # residual_v's zero output is the exact network for unit-gaussian residuals: one step gives their mean
    # (copy-last, up to sqrt(alpha_bar) x noise), more steps a draw from them (docs/design.md §2)
    out = sample(
        zero,
        d.respace("trailing8" if prediction == "residual" else "trailing1"),
        SHAPE,
        given=x_star,
        mask=mask,
        method=method,
        generator=torch.Generator().manual_seed(0),
    )
    if method != "ddpm":  # deterministic samplers land on the prior (copy-last, or the blend)
        torch.testing.assert_close(out, prior, atol=1e-5 if prediction == "residual" else 0.05, rtol=0)

    def oracle(x, t):
        residual = (x_star - prior).expand_as(x)
        if prediction == "residual_v":  # v of the residual: x_t - a * prior = a * residual + s * eps
            a = torch.from_numpy(d.alphas_cumprod)[t].float().view(-1, 1, 1, 1, 1)
            eps = (x - a.sqrt() * x_star) / (1 - a).sqrt()
            residual = a.sqrt() * eps - (1 - a).sqrt() * residual
        return torch.cat([residual, torch.zeros_like(residual)], dim=2)

    out = sample(
        oracle,
        d.respace("trailing8" if method != "ddpm" else "50"),
        SHAPE,
        given=x_star,
        mask=mask,
        method=method,
        generator=torch.Generator().manual_seed(0),
    )
    torch.testing.assert_close(out, x_star, atol=2e-4, rtol=0)
    # training: the oracle's loss is zero; without any given frame the reference is zero (the target is x0)
    t = torch.tensor([5, 600])
    assert d.training_losses(oracle, x_star, t, mask)["mse"].abs().max() < 1e-10
    assert torch.equal(d.prior(x_star, torch.ones_like(mask)), torch.zeros_like(x_star))


def test_frame_log_loss_is_the_x0_mse_for_small_frame_errors_and_grows_as_a_log_above_its_scale():
    c = 1e-2
    d = GaussianDiffusion.linear(1000, prediction="x0", loss_weighting="frame_log", frame_log_scale=c)
    squared = torch.zeros(2, 4, 3, 2, 2)
    squared[0, 1], squared[0, 2], squared[0, 3] = 1e-6, 1.0, 7.0  # frame 0 is given: its 7s must not count
    squared[0, 0] = 7.0
    squared[1, 2:] = 4e-6
    mask = torch.ones(2, 4, 2, 2)
    mask[:, 0] = 0
    mask[1, 1] = 0
    mask[1, 3, 0, 0] = 0  # partly generated: only its generated positions count (all 4e-6 here)
    t = torch.tensor([10, 900])
    loss = d.frame_log_loss(squared, mask, t)
    expected0 = c * (math.log1p(1e-6 / c) + math.log1p(1.0 / c) + math.log1p(7.0 / c)) / 3
    torch.testing.assert_close(loss[0], torch.tensor(expected0), rtol=1e-5, atol=0)
    torch.testing.assert_close(loss[1], torch.tensor(4e-6), rtol=1e-3, atol=0)  # below c: the plain MSE
    # for a v target at step t the same x0 errors are (SNR + 1) times larger in the target: the loss undoes it
    v = GaussianDiffusion.linear(1000, prediction="v", loss_weighting="frame_log", frame_log_scale=c)
    scale = v.target_error_scale(t)[:, None, None, None, None]
    torch.testing.assert_close(v.frame_log_loss(squared * scale, mask, t), loss, rtol=1e-4, atol=0)
    # the scale travels with the model only where the loss uses it
    again = GaussianDiffusion.from_record(d.record(), learn_sigma=True)
    assert (again.loss_weighting, again.frame_log_scale) == ("frame_log", c)
    assert "frame_log_scale" not in GaussianDiffusion.linear(1000, prediction="x0").record()
    with pytest.raises(ValueError, match="frame_log_scale must be > 0"):
        GaussianDiffusion.linear(1000, loss_weighting="frame_log", frame_log_scale=0.0)
