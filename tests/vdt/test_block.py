"""The VDT block after the einops / fused-elementwise rewrite: equal to the explicit reference computation (values
and gradients), einops unpatchify and patch embedding equal to the index arithmetic they replace, and in-place
compilation that leaves the official state-dict layout alone."""

import pytest
import torch
import torch.nn.functional as F

from vdt.checkpoint import load_weights
from vdt.layers import PatchEmbed, gated_residual, modulate
from vdt.model import VDT, VDTBlock, compile_vdt


def reference_attention(mod, z, n_heads):
    """Softmax attention over axis 1 of (M, L, D), written out (no SDPA)."""
    q, k, v = mod.qkv(z).view(z.shape[0], z.shape[1], 3, n_heads, -1).permute(2, 0, 3, 1, 4)
    a = torch.softmax(q @ k.transpose(-1, -2) / q.shape[-1] ** 0.5, dim=-1) @ v
    return mod.proj(a.transpose(1, 2).reshape(z.shape))


def reference_block(blk: VDTBlock, x, c, n_heads):
    """The block as the official code computes it: regroup to (B*N, T, D) with permute/reshape for time, modulate
    as x * (1 + scale) + shift and gate as x + g * h, each a separate op."""
    b, f, n, d = x.shape
    if blk.temporal:
        zt = x.permute(0, 2, 1, 3).reshape(b * n, f, d)
        res = reference_attention(blk.temporal_attn, blk.temporal_norm1(zt), n_heads)
        x = x + blk.temporal_fc(res).view(b, n, f, d).permute(0, 2, 1, 3)
    s1, sc1, g1, s2, sc2, g2 = blk.adaLN_modulation(c).chunk(6, dim=1)
    z = x.reshape(b, f * n, d)
    hmod = F.layer_norm(z, (d,), eps=1e-6) * (1 + sc1[:, None]) + s1[:, None]
    z = z + g1[:, None] * reference_attention(blk.attn, hmod.reshape(b * f, n, d), n_heads).reshape(b, f * n, d)
    hmod = F.layer_norm(z, (d,), eps=1e-6) * (1 + sc2[:, None]) + s2[:, None]
    z = z + g2[:, None] * blk.mlp.fc2(F.gelu(blk.mlp.fc1(hmod), approximate="tanh"))
    return z.view(b, f, n, d)


def random_block(temporal: bool, d=48, heads=3, seed=0) -> VDTBlock:
    g = torch.Generator().manual_seed(seed)
    blk = VDTBlock(d, heads, 4.0, temporal=temporal)
    with torch.no_grad():
        for p in blk.parameters():
            p.copy_(torch.randn(p.shape, generator=g) * 0.2)
    return blk


@pytest.mark.parametrize("temporal", [True, False])
def test_block_equals_reference_computation_values_and_gradients(temporal):
    torch.manual_seed(0)
    blk = random_block(temporal)
    x = torch.randn(2, 5, 6, 48, requires_grad=True)
    c = torch.randn(2, 48)
    ours = blk(x, c)
    (gx_ours,) = torch.autograd.grad(ours.square().sum(), x)
    ref = reference_block(blk, x, c, 3)
    (gx_ref,) = torch.autograd.grad(ref.square().sum(), x)
    assert ours.abs().mean() > 0.1  # the gated branches are open, so the test sees the attention and the MLP
    assert (ours - x).abs().mean() > 0.05
    torch.testing.assert_close(ours, ref, rtol=0, atol=1e-6 * ref.abs().max().item())
    # gradients pass through SDPA's backward against explicit softmax: fp32 rounding, relative 1e-5
    torch.testing.assert_close(gx_ours, gx_ref, rtol=1e-5, atol=1e-6 * gx_ref.abs().max().item())


def test_fused_modulate_and_gate_equal_the_unfused_ops():
    g = torch.Generator().manual_seed(3)
    x, h = torch.randn(3, 7, 16, generator=g), torch.randn(3, 7, 16, generator=g)
    shift, scale, gate = (torch.randn(3, 16, generator=g) for _ in range(3))
    torch.testing.assert_close(modulate(x, shift, scale), x * (1 + scale[:, None]) + shift[:, None], rtol=0, atol=1e-6)
    torch.testing.assert_close(gated_residual(x, gate, h), x + gate[:, None] * h, rtol=0, atol=1e-6)


def test_unpatchify_and_patch_embed_equal_the_index_arithmetic_they_replace():
    model = VDT(input_size=8, patch_size=2, in_channels=3, hidden_size=32, depth=1, num_heads=2, num_frames=2)
    p, co = 2, model.out_channels
    tokens = torch.randn(5, 16, p * p * co)
    old = torch.einsum("nhwpqc->nchpwq", tokens.view(5, 4, 4, p, p, co)).reshape(5, co, 8, 8)
    assert torch.equal(model.unpatchify(tokens, 8, 8), old)
    # token (row r, column s), channel k sits at pixel (r*p + i, s*p + j) in channel k of the patch layout
    out = model.unpatchify(tokens, 8, 8)
    assert torch.equal(out[1, 2, 2 * 2 + 1, 3 * 2 + 0], tokens[1, 2 * 4 + 3, (1 * p + 0) * co + 2])

    embed = PatchEmbed(4, 3, 10)
    img = torch.randn(2, 3, 8, 12)
    assert torch.equal(embed(img), embed.proj(img).flatten(2).transpose(1, 2))
    assert embed(img).shape == (2, 6, 10)


def test_compile_vdt_is_in_place_and_keeps_the_state_dict_layout():
    kw = dict(input_size=8, patch_size=2, in_channels=4, hidden_size=32, depth=2, num_heads=2, num_frames=4)
    model = VDT(**kw)
    keys = list(model.state_dict())
    assert compile_vdt(model, "no") is model and all(b._compiled_call_impl is None for b in model.blocks)
    assert compile_vdt(model, "default") is model
    assert all(b._compiled_call_impl is not None for b in model.blocks)
    assert list(model.state_dict()) == keys  # no _orig_mod. prefix: checkpoints save and load as before
    load_weights(VDT(**kw), model.state_dict())  # strict
    with pytest.raises(ValueError, match="compile mode"):
        compile_vdt(model, "reduce-overhead")


def test_compile_vdt_forward_scope_compiles_one_graph_in_place_with_eager_outputs():
    kw = dict(input_size=8, patch_size=2, in_channels=4, hidden_size=32, depth=2, num_heads=2, num_frames=4)
    torch.manual_seed(0)
    model = VDT(**kw).eval()
    with torch.no_grad():  # past adaLN-Zero, so the output is not all zeros
        for p in model.parameters():
            p.add_(torch.randn_like(p) * 0.05)
    x, t = torch.randn(2, 4, 4, 8, 8), torch.tensor([10, 900])
    with torch.no_grad():
        eager = model(x, t)
    keys = list(model.state_dict())
    assert compile_vdt(model, "default", scope="forward") is model
    assert model._compiled_call_impl is not None and all(b._compiled_call_impl is None for b in model.blocks)
    assert list(model.state_dict()) == keys
    with torch.no_grad():
        torch.testing.assert_close(model(x, t), eager, rtol=1e-4, atol=1e-5)
    with pytest.raises(ValueError, match="compile scope"):
        compile_vdt(VDT(**kw), "default", scope="everything")
