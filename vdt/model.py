"""The Video Diffusion Transformer (VDT, ICLR 2024), parameter-for-parameter compatible with the official code.

Shapes: B batch, T frames, C latent channels, H x W latent size, p patch, N = (H/p)(W/p) tokens per frame,
D hidden size. Each block: a temporal attention residual (over the T frames of each spatial token, plain
pre-LayerNorm, no modulation), then DiT's adaLN-Zero spatial attention and MLP (over the N tokens of each frame),
modulated by c = timestep embedding + class embedding.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import torch
from einops import rearrange
from torch import nn
from torch.utils.checkpoint import checkpoint

from vdt.embeddings import LabelEmbedder, TimestepEmbedder, sincos_2d, sincos_time
from vdt.layers import Attention, Mlp, PatchEmbed, gated_residual, modulate

MODES = ("video", "image")


@dataclass(frozen=True)
class VDTConfig:
    """The official constructor's keyword arguments, with its defaults."""

    input_size: int = 32
    patch_size: int = 2
    in_channels: int = 4
    hidden_size: int = 1152
    depth: int = 28
    num_heads: int = 16
    mlp_ratio: float = 4.0
    class_dropout_prob: float = 0.1
    num_classes: int = 1000
    learn_sigma: bool = True
    mode: str = "video"
    num_frames: int = 16

    @property
    def out_channels(self) -> int:
        return self.in_channels * 2 if self.learn_sigma else self.in_channels

    @property
    def grid_size(self) -> int:
        return self.input_size // self.patch_size

    def validate(self) -> None:
        if self.mode not in MODES:
            raise ValueError(f"mode must be one of {MODES}, got {self.mode!r}")
        if self.input_size % self.patch_size:
            raise ValueError(f"input_size {self.input_size} is not divisible by patch_size {self.patch_size}")
        if self.hidden_size % self.num_heads or (self.hidden_size // self.num_heads) % 2:
            raise ValueError(f"hidden_size {self.hidden_size} must split into {self.num_heads} heads of even width")
        if self.hidden_size % 4:
            raise ValueError(f"hidden_size {self.hidden_size} must be divisible by 4 (2-D sin-cos table)")


# --------------------------------------------------------------------------------------------------
# Blocks
# --------------------------------------------------------------------------------------------------


class VDTBlock(nn.Module):
    """Temporal attention residual, then adaLN-Zero spatial attention and MLP. Works on x (B, T, N, D)."""

    def __init__(self, hidden_size: int, num_heads: int, mlp_ratio: float, temporal: bool):
        super().__init__()
        self.temporal = temporal
        self.norm1 = nn.LayerNorm(hidden_size, elementwise_affine=False, eps=1e-6)
        self.attn = Attention(hidden_size, num_heads)
        self.norm2 = nn.LayerNorm(hidden_size, elementwise_affine=False, eps=1e-6)
        self.mlp = Mlp(hidden_size, int(hidden_size * mlp_ratio))
        self.adaLN_modulation = nn.Sequential(nn.SiLU(), nn.Linear(hidden_size, 6 * hidden_size))
        if temporal:
            self.temporal_norm1 = nn.LayerNorm(hidden_size)  # affine, default eps: as the official code
            self.temporal_attn = Attention(hidden_size, num_heads)
            self.temporal_fc = nn.Linear(hidden_size, hidden_size)

    def forward(self, x: torch.Tensor, c: torch.Tensor) -> torch.Tensor:
        b, t = x.shape[:2]
        if self.temporal:
            # One copy in ((b n) t d, what attention over t needs); the way back is a view the residual add reads.
            # Measured (benchmarks/block.py): attending in place on 5-D views is 2x slower on CPU (SDPA's math path).
            xt = rearrange(x, "b t n d -> (b n) t d")
            res = self.temporal_fc(self.temporal_attn(self.temporal_norm1(xt)))
            x = x + rearrange(res, "(b n) t d -> b t n d", b=b)
        shift_msa, scale_msa, gate_msa, shift_mlp, scale_mlp, gate_mlp = self.adaLN_modulation(c).chunk(6, dim=1)
        flat = rearrange(x, "b t n d -> b (t n) d")  # the per-sample modulation broadcasts over frames and tokens
        h = self.attn(rearrange(modulate(self.norm1(flat), shift_msa, scale_msa), "b (t n) d -> (b t) n d", t=t))
        flat = gated_residual(flat, gate_msa, rearrange(h, "(b t) n d -> b (t n) d", b=b))
        flat = gated_residual(flat, gate_mlp, self.mlp(modulate(self.norm2(flat), shift_mlp, scale_mlp)))
        return rearrange(flat, "b (t n) d -> b t n d", t=t)


class FinalLayer(nn.Module):
    """adaLN shift/scale, then a linear map of each token to its p x p x C_out patch."""

    def __init__(self, hidden_size: int, patch_size: int, out_channels: int):
        super().__init__()
        self.norm_final = nn.LayerNorm(hidden_size, elementwise_affine=False, eps=1e-6)
        self.linear = nn.Linear(hidden_size, patch_size * patch_size * out_channels)
        self.adaLN_modulation = nn.Sequential(nn.SiLU(), nn.Linear(hidden_size, 2 * hidden_size))

    def forward(self, x: torch.Tensor, c: torch.Tensor) -> torch.Tensor:
        shift, scale = self.adaLN_modulation(c).chunk(2, dim=1)
        return self.linear(modulate(self.norm_final(x), shift, scale))


# --------------------------------------------------------------------------------------------------
# The model
# --------------------------------------------------------------------------------------------------


class VDT(nn.Module):
    """forward(x (B, T, C, H, W), t (B,), y (B,) | None) -> (B, T, C_out, H, W); C_out = 2C with learn_sigma
    (the first C channels are the predicted noise, the rest the variance interpolation)."""

    def __init__(
        self,
        input_size: int = 32,
        patch_size: int = 2,
        in_channels: int = 4,
        hidden_size: int = 1152,
        depth: int = 28,
        num_heads: int = 16,
        mlp_ratio: float = 4.0,
        class_dropout_prob: float = 0.1,
        num_classes: int = 1000,
        learn_sigma: bool = True,
        mode: str = "video",
        num_frames: int = 16,
        grad_checkpointing: bool = False,
    ):
        super().__init__()
        cfg = VDTConfig(
            input_size,
            patch_size,
            in_channels,
            hidden_size,
            depth,
            num_heads,
            mlp_ratio,
            class_dropout_prob,
            num_classes,
            learn_sigma,
            mode,
            num_frames,
        )
        cfg.validate()
        self.config = cfg
        self.grad_checkpointing = grad_checkpointing
        self.in_channels, self.out_channels, self.patch_size = in_channels, cfg.out_channels, patch_size
        self.num_frames = num_frames

        self.x_embedder = PatchEmbed(patch_size, in_channels, hidden_size)
        self.t_embedder = TimestepEmbedder(hidden_size)
        self.y_embedder = LabelEmbedder(num_classes, hidden_size, class_dropout_prob)
        n_tokens = cfg.grid_size**2
        # Fixed tables live in the state dict (official layout) but are never trained.
        self.pos_embed = nn.Parameter(torch.zeros(1, n_tokens, hidden_size), requires_grad=False)
        if mode == "video":
            self.time_embed = nn.Parameter(torch.zeros(1, num_frames, hidden_size), requires_grad=False)
        self.blocks = nn.ModuleList(
            VDTBlock(hidden_size, num_heads, mlp_ratio, temporal=mode == "video") for _ in range(depth)
        )
        self.final_layer = FinalLayer(hidden_size, patch_size, self.out_channels)
        self.initialize_weights()

    @property
    def video(self) -> bool:
        return self.config.mode == "video"

    def config_dict(self) -> dict:
        return asdict(self.config)

    def initialize_weights(self) -> None:
        def xavier(m: nn.Module) -> None:
            if isinstance(m, nn.Linear):
                nn.init.xavier_uniform_(m.weight)
                nn.init.zeros_(m.bias)

        self.apply(xavier)
        cfg = self.config
        self.pos_embed.data.copy_(torch.from_numpy(sincos_2d(cfg.hidden_size, cfg.grid_size)).float()[None])
        if self.video:
            self.reset_time_embed()
        w = self.x_embedder.proj.weight.data
        nn.init.xavier_uniform_(w.view(w.shape[0], -1))
        nn.init.zeros_(self.x_embedder.proj.bias)
        nn.init.normal_(self.y_embedder.embedding_table.weight, std=0.02)
        nn.init.normal_(self.t_embedder.mlp[0].weight, std=0.02)
        nn.init.normal_(self.t_embedder.mlp[2].weight, std=0.02)
        for block in self.blocks:
            # adaLN-Zero: every residual branch starts closed.
            nn.init.zeros_(block.adaLN_modulation[-1].weight)
            nn.init.zeros_(block.adaLN_modulation[-1].bias)
        for layer in (self.final_layer.adaLN_modulation[-1], self.final_layer.linear):
            nn.init.zeros_(layer.weight)
            nn.init.zeros_(layer.bias)

    def reset_time_embed(self, num_frames: int | None = None) -> None:
        """(Re)compute the fixed time table, e.g. for a different frame count than a checkpoint was trained on."""
        if num_frames is not None and num_frames != self.num_frames:
            self.num_frames = num_frames
            self.config = VDTConfig(**{**asdict(self.config), "num_frames": num_frames})
            self.time_embed = nn.Parameter(
                torch.zeros(1, num_frames, self.config.hidden_size, device=self.pos_embed.device), requires_grad=False
            )
        table = sincos_time(self.config.hidden_size, self.num_frames)
        self.time_embed.data.copy_(torch.from_numpy(table).to(self.time_embed))

    # ----------------------------------------------------------------------------------------------

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        """(B, T, C, H, W) -> tokens (B, T, N, D) with space and time position tables added."""
        b, t, c, h, w = x.shape
        if c != self.in_channels:
            raise ValueError(f"expected {self.in_channels} input channels, got {c} (input shape {tuple(x.shape)})")
        if self.video and t != self.num_frames:
            raise ValueError(
                f"this VDT was built for {self.num_frames} frames, got {t}; "
                "use reset_time_embed(num_frames) to change it"
            )
        tokens = self.x_embedder(x.reshape(b * t, c, h, w))
        if tokens.shape[1] != self.pos_embed.shape[1]:
            raise ValueError(
                f"input {h}x{w} gives {tokens.shape[1]} tokens, model expects {self.pos_embed.shape[1]} "
                f"(input_size {self.config.input_size})"
            )
        tokens = (tokens + self.pos_embed).view(b, t, -1, tokens.shape[-1])
        if self.video:
            tokens = tokens + self.time_embed.unsqueeze(2)  # (1, T, 1, D): one time code per frame for every token
        return tokens

    def condition(self, t: torch.Tensor, y: torch.Tensor | None) -> torch.Tensor:
        if y is None:
            y = torch.zeros(t.shape[0], dtype=torch.long, device=t.device)
        return self.t_embedder(t) + self.y_embedder(y)

    def run_blocks(self, tokens: torch.Tensor, c: torch.Tensor, keep: set[int] | None = None):
        """Apply all blocks; with ``keep``, also return {block index: (B, T, N, D) output}."""
        kept = {}
        for i, block in enumerate(self.blocks):
            if self.grad_checkpointing and self.training and torch.is_grad_enabled():
                tokens = checkpoint(block, tokens, c, use_reentrant=False)
            else:
                tokens = block(tokens, c)
            if keep is not None and i in keep:
                kept[i] = tokens
        return tokens, kept

    def unpatchify(self, x: torch.Tensor, h: int, w: int) -> torch.Tensor:
        """(M, N, p*p*C_out) -> (M, C_out, h, w); channels last inside a patch, as DiT."""
        p = self.patch_size
        return rearrange(x, "m (gh gw) (p q c) -> m c (gh p) (gw q)", gh=h // p, p=p, q=p)

    def forward(self, x: torch.Tensor, t: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        b, f, _, h, w = x.shape
        c = self.condition(t, y)
        tokens, _ = self.run_blocks(self.embed(x), c)
        out = self.final_layer(tokens.reshape(b, -1, tokens.shape[-1]), c)
        out = self.unpatchify(out.view(b * f, -1, out.shape[-1]), h, w)
        return out.view(b, f, self.out_channels, h, w)

    @torch.no_grad()
    def token_features(
        self, x: torch.Tensor, t: torch.Tensor, blocks: list[int], y: torch.Tensor | None = None
    ) -> dict[int, torch.Tensor]:
        """Hidden tokens after the given blocks (negative indices count from the end): {index: (B, T, N, D)}."""
        wanted = {i % len(self.blocks) for i in blocks}
        tokens = self.embed(x)
        _, kept = self.run_blocks(tokens, self.condition(t, y), keep=wanted)
        return {i: kept[i % len(self.blocks)] for i in blocks}


# --------------------------------------------------------------------------------------------------
# Named sizes
# --------------------------------------------------------------------------------------------------

SIZES: dict[str, dict] = {
    # The paper's / DiT's sizes.
    "VDT-S/2": dict(depth=12, hidden_size=384, num_heads=6, patch_size=2),
    "VDT-B/2": dict(depth=12, hidden_size=768, num_heads=12, patch_size=2),
    "VDT-L/2": dict(depth=28, hidden_size=1152, num_heads=16, patch_size=2),
    "VDT-S/4": dict(depth=12, hidden_size=384, num_heads=6, patch_size=4),
    "VDT-B/4": dict(depth=12, hidden_size=768, num_heads=12, patch_size=4),
    "VDT-L/4": dict(depth=28, hidden_size=1152, num_heads=16, patch_size=4),
    # CPU sizes for tests, the quickstart and calibration runs (docs/design.md §4: width must exceed p*p*C).
    "VDT-Ti/2": dict(depth=4, hidden_size=128, num_heads=4, patch_size=2),
    "VDT-Ti/4": dict(depth=4, hidden_size=128, num_heads=4, patch_size=4),
    "VDT-Mini/4": dict(depth=6, hidden_size=192, num_heads=6, patch_size=4),
    "VDT-Nano/2": dict(depth=2, hidden_size=64, num_heads=4, patch_size=2),
}


# torch.compile modes a config may name ("no" = eager). cudagraphs modes are left out: the sampler's shapes and the
# training step's mutation of parameters (optimizer, EMA) break their static-buffer assumption.
COMPILE_MODES = ("no", "default", "max-autotune-no-cudagraphs")
COMPILE_SCOPES = ("blocks", "forward")


def compile_vdt(model: VDT, mode: str, scope: str = "blocks") -> VDT:
    """Compile ``model`` in place (nn.Module.compile) and return it; "no" leaves it eager. In place, so the state
    dict keeps its official keys (no ``_orig_mod.`` prefix).

    scope "blocks": each block, so forward, token_features and gradient checkpointing all run compiled code, and
    the identical blocks share one compiled graph (training, feature extraction). scope "forward": the whole
    forward as one graph, which also fuses the patch embedding, the regrouping between blocks and the final layer
    (sampling, which calls only forward; docs/design.md §6 has the measured difference).
    """
    if mode not in COMPILE_MODES:
        raise ValueError(f"compile mode must be one of {COMPILE_MODES}, got {mode!r}")
    if scope not in COMPILE_SCOPES:
        raise ValueError(f"compile scope must be one of {COMPILE_SCOPES}, got {scope!r}")
    if mode != "no":
        options = {"mode": None if mode == "default" else mode}
        for module in model.blocks if scope == "blocks" else [model]:
            module.compile(**options)
    return model


def vdt_from_name(name: str, **kwargs) -> VDT:
    """Build a named size; any constructor keyword (input_size, num_frames, in_channels...) can be given."""
    if name not in SIZES:
        raise ValueError(f"unknown VDT size {name!r}; known sizes: {', '.join(SIZES)}")
    return VDT(**{**SIZES[name], **kwargs})
