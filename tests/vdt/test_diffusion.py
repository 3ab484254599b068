"""Diffusion: schedule facts, the masked loss, respacing, and the mask-conditioned samplers (checked against an
analytic oracle and against diffusers' DDIM scheduler)."""

import numpy as np
import pytest
import torch

from vdt.diffusion import GaussianDiffusion, linear_betas, space_timesteps
from vdt.samplers import sample

SHAPE = (2, 6, 3, 4, 4)


def oracle_for(x_star: torch.Tensor, full: GaussianDiffusion):
    """The exact noise predictor when the data is the single video ``x_star``: every sampler must return it."""

    def fn(x, t):
        a = torch.from_numpy(full.alphas_cumprod)[t].float().view(-1, 1, 1, 1, 1)
        eps = (x - a.sqrt() * x_star) / (1 - a).sqrt()
        return torch.cat([eps, torch.zeros_like(eps)], dim=2)  # v = 0: the middle of the learned variance range

    return fn


def test_linear_schedule_facts():
    betas = linear_betas(1000)
    assert betas[0] == pytest.approx(1e-4) and betas[-1] == pytest.approx(0.02) and len(betas) == 1000
    assert linear_betas(100)[-1] == pytest.approx(0.2)  # rescaled by 1000 / steps
    d = GaussianDiffusion.linear(1000)
    assert d.alphas_cumprod[-1] < 1e-4 < d.alphas_cumprod[0]


def test_respaced_schedule_is_consistent_with_the_full_one():
    full = GaussianDiffusion.linear(1000)
    assert space_timesteps(1000, "ddim50") == list(range(0, 1000, 20))
    assert space_timesteps(1000, 25)[0] == 0 and space_timesteps(1000, 25)[-1] == 999
    for spacing in ("ddim50", 25, "250"):
        r = full.respace(spacing)
        np.testing.assert_allclose(r.alphas_cumprod, full.alphas_cumprod[r.timestep_map], rtol=1e-12)
    twice = full.respace(100).respace(10)
    assert set(twice.timestep_map) <= set(full.respace(100).timestep_map)
    np.testing.assert_allclose(twice.alphas_cumprod, full.alphas_cumprod[twice.timestep_map], rtol=1e-12)
    x0 = torch.randn(SHAPE)
    noise = torch.randn(SHAPE)
    r = full.respace(10)
    i = torch.tensor([3, 7])
    torch.testing.assert_close(r.q_sample(x0, i, noise), full.q_sample(x0, r.model_timesteps(i), noise))


def test_masked_loss_ignores_given_positions():
    d = GaussianDiffusion.linear(1000)
    torch.manual_seed(0)
    net = torch.nn.Conv3d(3, 6, 1)

    def model(x, t):  # (B, T, C, H, W) -> (B, T, 2C, H, W), a per-position map
        return net(x.transpose(1, 2)).transpose(1, 2)

    x0, noise = torch.randn(SHAPE), torch.randn(SHAPE)
    mask = torch.zeros(SHAPE[0], SHAPE[1], 4, 4)
    mask[:, 3:] = 1
    t = torch.tensor([10, 500])
    base = d.training_losses(model, x0, t, mask, noise)
    assert set(base) == {"mse", "vb", "loss"} and base["loss"].shape == (2,)
    with pytest.raises(ValueError, match="learn_sigma"):
        GaussianDiffusion(d.betas, learn_sigma=False).training_losses(model, x0, t, mask, noise)
    # given positions: the model sees x0 there, not noise; changing the noise there changes nothing
    noise2 = noise.clone()
    noise2[:, :3] = torch.randn_like(noise2[:, :3])
    torch.testing.assert_close(d.training_losses(model, x0, t, mask, noise2)["loss"], base["loss"])
    # ... and changing the clean values at generated positions does change it
    x0b = x0.clone()
    x0b[:, 4:] += 1.0
    assert not torch.allclose(d.training_losses(model, x0b, t, mask, noise)["loss"], base["loss"])
    # the MSE is exactly the mean over generated positions
    xt = d.q_sample(x0, t, noise)
    x_in = torch.where(mask.unsqueeze(2).bool(), xt, x0)
    eps = model(x_in, t)[:, :, :3]
    expected = ((eps - noise) ** 2)[:, 3:].mean(dim=(1, 2, 3, 4))
    torch.testing.assert_close(base["mse"], expected.detach())
    # the VLB trains the variance only: no gradient reaches the predicted noise through it
    out = model(x_in, t)
    out.retain_grad()
    vb = d._vb_terms(torch.cat([out[:, :, :3].detach(), out[:, :, 3:]], 2), x0, x_in, t, mask)
    vb.sum().backward()
    assert out.grad[:, :, 3:].abs().sum() > 0


@pytest.mark.parametrize("method", ["ddim", "ddpm"])
@pytest.mark.parametrize("spacing", ["ddim25", 50])
def test_samplers_recover_the_data_under_an_oracle(method, spacing):
    full = GaussianDiffusion.linear(1000)
    x_star = torch.rand(SHAPE) * 2 - 1
    out = sample(
        oracle_for(x_star, full),
        full.respace(spacing),
        SHAPE,
        method=method,
        generator=torch.Generator().manual_seed(0),
    )
    torch.testing.assert_close(out, x_star, atol=1e-4, rtol=0)


def test_conditioned_sampling_keeps_given_positions_exactly():
    full = GaussianDiffusion.linear(1000).respace(10)
    given = torch.randn(SHAPE)
    mask = torch.ones(SHAPE[0], SHAPE[1], 4, 4)
    mask[:, :2] = 0
    mask[:, 4, :2, :2] = 0  # a spatial patch too
    seen = []

    def model(x, t):
        seen.append(x.clone())
        return torch.cat([torch.tanh(x), torch.zeros_like(x)], dim=2)

    for method in ("ddim", "ddpm"):
        seen.clear()
        out = sample(
            model, full, SHAPE, given=given, mask=mask, method=method, generator=torch.Generator().manual_seed(1)
        )
        m = mask.unsqueeze(2).expand(SHAPE).bool()
        assert torch.equal(out[~m], given[~m])
        assert len(seen) == 10 and all(torch.equal(x[~m], given[~m]) for x in seen)  # the model always saw them
        assert not torch.equal(out[m], given[m])


def test_ddim_eta0_is_deterministic_and_matches_diffusers():
    from diffusers import DDIMScheduler

    full = GaussianDiffusion.linear(1000)
    d = full.respace("ddim50")

    def model(x, t):
        return torch.cat([torch.tanh(0.5 * x + t.view(-1, 1, 1, 1, 1) / 1000.0), torch.zeros_like(x)], dim=2)

    noise = torch.randn(SHAPE, generator=torch.Generator().manual_seed(0))
    a = sample(model, d, SHAPE, noise=noise, method="ddim", eta=0.0)
    b = sample(model, d, SHAPE, noise=noise.clone(), method="ddim", eta=0.0)
    assert torch.equal(a, b)
    stochastic = sample(
        model, d, SHAPE, noise=noise, method="ddim", eta=1.0, generator=torch.Generator().manual_seed(5)
    )
    assert not torch.allclose(stochastic, a)

    sched = DDIMScheduler(
        num_train_timesteps=1000,
        beta_start=1e-4,
        beta_end=0.02,
        beta_schedule="linear",
        clip_sample=False,
        set_alpha_to_one=True,
        steps_offset=0,
        timestep_spacing="leading",
    )
    sched.set_timesteps(50)
    assert sorted(sched.timesteps.tolist()) == d.timestep_map
    x = noise.clone()
    for step in sched.timesteps:
        eps = model(x, torch.full((SHAPE[0],), int(step)))[:, :, :3]
        x = sched.step(eps, step, x).prev_sample
    # diffusers keeps betas in float32; we keep float64: agreement to float32 precision, relative to the scale
    assert (x - a).abs().max() / a.abs().max() < 1e-5
