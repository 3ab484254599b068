"""VDT model: official key/shape parity, adaLN-Zero, shapes, a reference-layout forward, image/video modes."""

import json
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F

from tests.helpers import tiny_vdt
from vdt.checkpoint import CheckpointMismatchError, load_weights
from vdt.embeddings import sincos_2d
from vdt.model import VDT, vdt_from_name

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "vdt_official_state_dict_keys.json"


def official_keys():
    if not FIXTURE.is_file():
        pytest.fail(f"fixture missing: {FIXTURE}")
    return json.loads(FIXTURE.read_text())


def randomize(model: VDT, seed: int = 0) -> VDT:
    """Non-zero weights everywhere trainable (an untrained VDT outputs zeros, which would hide bugs)."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in model.parameters():
            if p.requires_grad:
                p.copy_(torch.randn(p.shape, generator=g) * 0.2)
    return model


@pytest.mark.parametrize("name", ["VDT-S/2", "VDT-L/2"])
def test_state_dict_matches_official_keys_and_shapes(name):
    spec = official_keys()[name]
    with torch.device("meta"):  # VDT-L/2 has 860M parameters: check the layout without allocating it
        model = vdt_from_name(name, **spec["constructor_kwargs"])
    ours = [(k, list(v.shape)) for k, v in model.state_dict().items()]
    assert ours == [(k, list(s)) for k, s in spec["state_dict"]]
    n_params = sum(p.numel() for p in model.parameters())
    assert n_params == pytest.approx({"VDT-S/2": 41.4e6, "VDT-L/2": 860e6}[name], rel=0.002)


def test_official_layout_checkpoint_loads_strict_and_refuses_mismatch():
    spec = official_keys()["VDT-S/2"]
    model = vdt_from_name("VDT-S/2", **spec["constructor_kwargs"])
    g = torch.Generator().manual_seed(1)
    state = {k: torch.randn(s, generator=g) for k, s in spec["state_dict"]}
    load_weights(model, {"ema": state, "model": {k: torch.zeros(s) for k, s in spec["state_dict"]}})
    assert torch.equal(model.state_dict()["blocks.3.attn.qkv.weight"], state["blocks.3.attn.qkv.weight"])  # EMA chosen

    wrong = dict(state)
    wrong["blocks.0.mlp.fc1.weight"] = torch.zeros(10, 384)
    del wrong["final_layer.linear.bias"]
    wrong["extra.weight"] = torch.zeros(1)
    with pytest.raises(CheckpointMismatchError) as err:
        load_weights(model, wrong)
    msg = str(err.value)
    assert "final_layer.linear.bias" in msg and "extra.weight" in msg and "blocks.0.mlp.fc1.weight" in msg
    with pytest.raises(CheckpointMismatchError, match="not a state dict"):
        load_weights(model, {"args": "x"})


def test_untrained_model_outputs_zeros_and_shapes():
    model = VDT(
        input_size=8, patch_size=2, in_channels=4, hidden_size=64, depth=2, num_heads=4, num_frames=6, num_classes=1
    )
    x = torch.randn(3, 6, 4, 8, 8)
    out = model(x, torch.tensor([0, 10, 999]))
    assert out.shape == (3, 6, 8, 8, 8)  # learn_sigma doubles the channels
    assert torch.count_nonzero(out) == 0
    no_sigma = VDT(
        input_size=8, patch_size=4, in_channels=3, hidden_size=64, depth=1, num_heads=2, num_frames=6, learn_sigma=False
    )
    assert randomize(no_sigma)(torch.randn(2, 6, 3, 8, 8), torch.tensor([1, 2])).shape == (2, 6, 3, 8, 8)
    with pytest.raises(ValueError, match="built for 6 frames"):
        model(torch.randn(1, 5, 4, 8, 8), torch.tensor([1]))


def reference_forward(model: VDT, x, t, y):
    """The official computation order, written independently: tokens as (B*T, N, D), temporal attention by
    regrouping to (B*N, T, D), conditioning repeated per frame."""
    b, f, c, h, w = x.shape
    n_heads = model.blocks[0].attn.num_heads

    def attention(mod, z):
        q, k, v = mod.qkv(z).view(z.shape[0], z.shape[1], 3, n_heads, -1).permute(2, 0, 3, 1, 4)
        a = torch.softmax(q @ k.transpose(-1, -2) / q.shape[-1] ** 0.5, dim=-1) @ v
        return mod.proj(a.transpose(1, 2).reshape(z.shape))

    z = model.x_embedder.proj(x.reshape(b * f, c, h, w)).flatten(2).transpose(1, 2) + model.pos_embed
    n, d = z.shape[1], z.shape[2]
    z = (z.view(b, f, n, d).permute(0, 2, 1, 3) + model.time_embed).permute(0, 2, 1, 3).reshape(b * f, n, d)
    tf = model.t_embedder.sinusoid(t, 256)
    cond = model.t_embedder.mlp(tf) + model.y_embedder.embedding_table(y)
    cond_f = cond.repeat_interleave(f, dim=0)  # one row per frame
    for blk in model.blocks:
        zt = z.view(b, f, n, d).permute(0, 2, 1, 3).reshape(b * n, f, d)
        res = attention(blk.temporal_attn, F.layer_norm(zt, (d,), blk.temporal_norm1.weight, blk.temporal_norm1.bias))
        z = z + blk.temporal_fc(res.view(b, n, f, d).permute(0, 2, 1, 3).reshape(b * f, n, d))
        s1, sc1, g1, s2, sc2, g2 = blk.adaLN_modulation(cond_f).chunk(6, dim=1)
        hmod = F.layer_norm(z, (d,), eps=1e-6) * (1 + sc1[:, None]) + s1[:, None]
        z = z + g1[:, None] * attention(blk.attn, hmod)
        hmod = F.layer_norm(z, (d,), eps=1e-6) * (1 + sc2[:, None]) + s2[:, None]
        z = z + g2[:, None] * blk.mlp.fc2(F.gelu(blk.mlp.fc1(hmod), approximate="tanh"))
    shift, scale = model.final_layer.adaLN_modulation(cond_f).chunk(2, dim=1)
    z = model.final_layer.linear(F.layer_norm(z, (d,), eps=1e-6) * (1 + scale[:, None]) + shift[:, None])
    p, co = model.patch_size, model.out_channels
    z = z.view(b * f, h // p, w // p, p, p, co).permute(0, 5, 1, 3, 2, 4).reshape(b, f, co, h, w)
    return z


def test_forward_matches_reference_layout_with_random_weights():
    torch.manual_seed(0)
    model = randomize(
        VDT(
            input_size=8, patch_size=2, in_channels=4, hidden_size=48, depth=2, num_heads=3, num_frames=5, num_classes=2
        )
    ).eval()
    x, t, y = torch.randn(2, 5, 4, 8, 8), torch.tensor([3, 700]), torch.tensor([0, 1])
    ours = model(x, t, y)
    ref = reference_forward(model, x, t, y)
    assert ours.abs().mean() > 0.1
    torch.testing.assert_close(ours, ref, rtol=1e-4, atol=1e-4)
    # y defaults to class 0
    torch.testing.assert_close(model(x, t), model(x, t, torch.zeros(2, dtype=torch.long)))


def test_pos_embed_is_the_2d_sincos_table_and_frozen():
    model = VDT(input_size=8, patch_size=2, hidden_size=32, depth=1, num_heads=2, num_frames=4)
    assert not model.pos_embed.requires_grad and not model.time_embed.requires_grad
    table = torch.from_numpy(sincos_2d(32, 4)).float()
    torch.testing.assert_close(model.pos_embed[0], table)
    # first half of the channels encodes the column: tokens in one column share it
    assert torch.equal(table[0, :16], table[4, :16]) and not torch.equal(table[0, :16], table[1, :16])


def test_image_mode_shares_spatial_weights_and_loads_into_video():
    kw = dict(input_size=8, patch_size=2, in_channels=4, hidden_size=32, depth=2, num_heads=2, num_classes=1)
    image = randomize(VDT(mode="image", **kw)).eval()
    video = VDT(mode="video", num_frames=4, **kw).eval()
    temporal = {k for k in video.state_dict() if k not in image.state_dict()}
    assert temporal and all(any(p in k for p in ("temporal_", "time_embed")) for k in temporal)
    assert set(image.state_dict()) <= set(video.state_dict())
    with pytest.raises(CheckpointMismatchError, match="missing"):
        load_weights(video, image.state_dict())
    load_weights(video, image.state_dict(), allow_missing_temporal=True)
    for k, v in image.state_dict().items():
        assert torch.equal(video.state_dict()[k], v), k
    # the fresh temporal residual is closed: without the time table the video model is the image model per frame
    x, t = torch.randn(2, 4, 4, 8, 8), torch.tensor([5, 50])
    video.time_embed.data.zero_()
    torch.testing.assert_close(video(x, t), image(x, t), rtol=1e-5, atol=1e-5)


def test_checkpointing_and_resolution_change():
    model = randomize(tiny_vdt(frames=4, seed=None, perturb=0.0, in_channels=4, grad_checkpointing=True))
    x = torch.randn(1, 4, 4, 8, 8)
    out = model(x, torch.tensor([7]))
    out.square().mean().backward()
    assert model.blocks[0].attn.qkv.weight.grad is not None
    # a checkpoint trained at 8x8 latents / 4 frames loads into a 16x16 / 6-frame model
    bigger = VDT(input_size=16, patch_size=2, hidden_size=32, depth=2, num_heads=2, num_frames=6, num_classes=1)
    load_weights(bigger, model.state_dict())
    assert bigger.pos_embed.shape == (1, 64, 32)
    assert torch.equal(bigger.blocks[1].mlp.fc1.weight, model.blocks[1].mlp.fc1.weight)
    assert bigger(torch.randn(1, 6, 4, 16, 16), torch.tensor([3])).shape == (1, 6, 8, 16, 16)
