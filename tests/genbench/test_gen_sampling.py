"""Sampling to files: every mask mode keeps the given frames, clips are seeded by index (batches and shards agree),
mask files, the MP4 / GIF / grid writers, and the ``sample`` command with shards."""

import json

import numpy as np
import pytest
import torch
from genbench_helpers import index_frames, write_index_video
from PIL import Image

from physion.generation.plan import parse_shard
from physion.video_io import read_video
from pipelines.cli import main
from pipelines.config.sections import SamplerConfig
from pipelines.genbench.generation import ClipGenerator, task_masks
from pipelines.genbench.sampling_io import (
    GENERATED,
    GIVEN,
    PARTIAL,
    frame_states,
    load_mask_file,
    read_conditioning,
    write_clip_gif,
    write_clip_mp4,
)
from pipelines.genbench.sharding import placement
from pipelines.reporting.strips import video_strip
from tests.helpers import tiny_vdt
from vdt.autoencoders.pixels import PixelSpace
from vdt.diffusion import GaussianDiffusion
from vdt.masks import TASKS


def generator(batch_size: int = 8) -> ClipGenerator:
    sampler = SamplerConfig(method="ddim", steps=4, batch_size=batch_size)
    diffusion = GaussianDiffusion.linear(1000).respace(sampler.timestep_spacing())
    return ClipGenerator(tiny_vdt(), PixelSpace(), diffusion, sampler, torch.device("cpu"))


@pytest.mark.parametrize("task", TASKS)
def test_every_task_keeps_given_positions(task):
    gen = generator()
    given = torch.rand(3, 6, 3, 8, 8) * 2 - 1
    masks = task_masks(task, range(3), gen.mask_shape, n_given=2, interp_stride=3, seed=1)
    out = gen.generate(masks, None if task == "unconditional" else given, range(3), seed=1)
    assert out.shape == (3, 6, 3, 8, 8) and torch.isfinite(out).all() and out.abs().max() <= 1
    keep = (masks == 0).unsqueeze(2).expand_as(out)
    assert torch.equal(out[keep], given[keep])  # given positions come back unchanged
    assert (out[~keep] - given[~keep]).abs().mean() > 0.05  # generated ones are new


def test_the_sampler_start_is_honoured():
    """start_from: nearest_given reaches the sampler: a v network that outputs zeros then returns its prior, the
    nearest given frame noised to t = 50 and scaled by sqrt(alpha_bar), instead of what it makes of pure noise."""
    given = torch.rand(3, 6, 3, 8, 8) * 2 - 1
    masks = task_masks("predict", range(3), (6, 8, 8), n_given=2)
    out = {}
    for start in ("noise", "nearest_given"):
        sampler = SamplerConfig(
            method="ddim", steps=20, start_from=start, start_step=50 if start == "nearest_given" else None
        )
        diffusion = GaussianDiffusion.linear(1000, prediction="v").respace(sampler.timestep_spacing())
        zero = tiny_vdt(perturb=0.0)  # adaLN-Zero: the output is zero
        out[start] = ClipGenerator(zero, PixelSpace(), diffusion, sampler, torch.device("cpu")).generate(
            masks, given, range(3), seed=1
        )
    last = given[:, 1:2].expand(-1, 4, -1, -1, -1)
    assert (out["nearest_given"][:, 2:] - last).abs().mean() < 0.15
    assert (out["noise"][:, 2:] - last).abs().mean() > 0.3


def test_clips_are_seeded_by_index_not_by_batch():
    given = torch.rand(4, 6, 3, 8, 8) * 2 - 1
    masks = task_masks("predict", range(4), (6, 8, 8), n_given=2)
    whole = generator(batch_size=4).generate(masks, given, range(4), seed=5)
    pieces = generator(batch_size=1).generate(masks[2:], given[2:], range(2, 4), seed=5)
    assert torch.allclose(whole[2:], pieces, atol=1e-5)
    other_seed = generator(batch_size=4).generate(masks, given, range(4), seed=6)
    assert not torch.allclose(whole[:, 2:], other_seed[:, 2:], atol=1e-3)


def test_unconditional_needs_all_ones_and_random_masks_depend_on_index():
    gen = generator()
    masks = task_masks("predict", range(2), gen.mask_shape, n_given=2)
    with pytest.raises(ValueError, match="no given clips"):
        gen.generate(masks, None, range(2))
    a = task_masks("random_frames", [0, 1, 2], gen.mask_shape, n_given=2, seed=0)
    b = task_masks("random_frames", [2], gen.mask_shape, n_given=2, seed=0)
    assert torch.equal(a[2], b[0])


def test_mask_files(tmp_path):
    one = np.ones((6, 8, 8), np.float32)
    one[0] = 0
    np.save(tmp_path / "m.npy", one)
    masks = load_mask_file(tmp_path / "m.npy", 3, (6, 8, 8))
    assert masks.shape == (3, 6, 8, 8) and float(masks[:, 0].sum()) == 0 and float(masks[:, 1:].min()) == 1
    per_clip = torch.ones(2, 6, 8, 8)
    per_clip[1, :3] = 0
    torch.save(per_clip, tmp_path / "m.pt")
    assert torch.equal(load_mask_file(tmp_path / "m.pt", 2, (6, 8, 8)), per_clip)
    with pytest.raises(ValueError, match=r"m.pt: mask shape \(2, 6, 8, 8\)"):
        load_mask_file(tmp_path / "m.pt", 3, (6, 8, 8))
    np.save(tmp_path / "bad.npy", one * 0.5)
    with pytest.raises(ValueError, match="bad.npy: mask values must be 0"):
        load_mask_file(tmp_path / "bad.npy", 1, (6, 8, 8))


def test_frame_states_and_writers_read_back(tmp_path):
    mask = torch.ones(4, 8, 8)
    mask[0] = 0
    mask[1, :4] = 0
    assert frame_states(mask) == [GIVEN, PARTIAL, GENERATED, GENERATED]
    clip = torch.from_numpy(index_frames(4, 8, 8)).permute(0, 3, 1, 2).float() / 127.5 - 1
    uint8 = index_frames(4, 8, 8)
    frames, fps = read_video(write_clip_mp4(tmp_path / "c.mp4", clip, fps=8))
    assert frames.shape == (4, 8, 8, 3) and fps == pytest.approx(8)
    assert np.abs(frames.astype(int) - uint8).max() <= 3
    gif = Image.open(write_clip_gif(tmp_path / "c.gif", clip, fps=8))
    assert gif.n_frames == 4 and gif.size == (8, 8) and gif.info["duration"] == 120  # centiseconds: 12.5 -> 12
    for i in range(4):
        gif.seek(i)
        assert np.abs(np.asarray(gif.convert("RGB")).astype(int) - uint8[i]).max() <= 3
    grid = np.asarray(
        Image.open(video_strip([("a", clip, frame_states(mask))], tmp_path / "g.png", scale=2, label_width=10)).convert(
            "RGB"
        )
    )
    # one row: 4 cells of 8*2 + 2*2 border + 2 gap = 22 px, plus the 14 px band of column numbers
    assert grid.shape == (22 + 14, 10 + 4 * 22, 3)
    assert tuple(grid[0, 10]) == GIVEN and tuple(grid[0, 10 + 22]) == PARTIAL and tuple(grid[0, 10 + 44]) == GENERATED
    assert tuple(grid[2, 10 + 2]) == tuple(uint8[0, 0, 0])  # the frame itself inside its border


def test_read_conditioning_pads_short_sources(tmp_path):
    path = write_index_video(tmp_path / "v.mp4", 5, 8, 8)
    clip, read = read_conditioning(path, num_frames=6, frame_stride=2, start=1, size=8)
    assert read == 2 and clip.shape == (6, 3, 8, 8) and float(clip[2:].abs().max()) == 0  # frames 1, 3, then zeros


def test_shards_partition_and_launcher_processes(monkeypatch):
    assert parse_shard("1/3") == (1, 3)
    with pytest.raises(ValueError, match="0 <= I < N"):
        parse_shard("3/3")
    blocks = [list(placement((i, 3), "cpu").indices(10)) for i in range(3)]
    assert blocks == [[0, 1, 2, 3], [4, 5, 6], [7, 8, 9]]
    monkeypatch.setenv("RANK", "1")
    monkeypatch.setenv("WORLD_SIZE", "2")
    where = placement((1, 2), "cpu")  # process 1 of 2 in shard 1 of 2 -> shard 3 of 4
    assert (where.index, where.count, where.tag) == (3, 4, "_shard003-of-004")


def test_sample_command_shards_fill_one_folder(tmp_path, tiny_checkpoint):
    frames_dir = tmp_path / "frames"
    frames_dir.mkdir()
    for i, f in enumerate(index_frames(6, 8, 8)):
        Image.fromarray(f).save(frames_dir / f"{i}.png")
    base = [
        "sample",
        str(tiny_checkpoint),
        "--input",
        str(frames_dir),
        "--task",
        "predict",
        "--n-given",
        "2",
        "--num-samples",
        "3",
        "--steps",
        "3",
        "--no-progress",
        "--device",
        "cpu",
    ]
    assert main(base + ["--out", str(tmp_path / "whole")]) == 0
    for shard in ("0/2", "1/2"):
        assert main(base + ["--out", str(tmp_path / "sharded"), "--shard", shard]) == 0
    names = sorted(p.name for p in (tmp_path / "sharded").iterdir())
    assert names == sorted(
        [f"sample_{i:05d}.{ext}" for i in range(3) for ext in ("mp4", "gif")]
        + [
            "grid_shard000-of-002.png",
            "grid_shard001-of-002.png",
            "samples_shard000-of-002.json",
            "samples_shard001-of-002.json",
        ]
    )
    record = json.loads((tmp_path / "sharded" / "samples_shard001-of-002.json").read_text())
    assert [c["index"] for c in record["clips"]] == [2] and record["task"] == "predict" and record["n_given"] == 2
    for i in range(3):  # the same clips as the unsharded run, and the given frames are the input's
        whole, _ = read_video(tmp_path / "whole" / f"sample_{i:05d}.mp4")
        sharded, _ = read_video(tmp_path / "sharded" / f"sample_{i:05d}.mp4")
        assert np.array_equal(whole, sharded)
        assert np.abs(whole[:2].astype(int) - index_frames(2, 8, 8)).max() <= 3


def test_sample_command_refuses_what_it_cannot_do(tmp_path, tiny_checkpoint):
    short = write_index_video(tmp_path / "short.mp4", 2, 8, 8)
    args = ["sample", str(tiny_checkpoint), "--out", str(tmp_path / "o"), "--steps", "2", "--no-progress"]
    with pytest.raises(ValueError, match="short.mp4: has 2 frames"):
        main(args + ["--input", str(short), "--task", "backward", "--n-given", "2"])
    with pytest.raises(ValueError, match="task interpolation gives frames: pass them with --input"):
        main(args + ["--task", "interpolation"])
    assert not (tmp_path / "o").exists()


def sample_to(out, checkpoint, *options: str) -> int:
    """``vdt-physion sample CHECKPOINT --out OUT OPTIONS --no-progress``."""
    return main(["sample", str(checkpoint), "--out", str(out), *options, "--no-progress"])


def test_sample_command_with_config_and_mask_file(tmp_path, tiny_checkpoint):
    video = write_index_video(tmp_path / "v.mp4", 12, 8, 8)
    config = tmp_path / "gen.yaml"
    config.write_text(
        "name: t\ndata: {path: nowhere}\nmodel: {size: VDT-Nano/2, resolution: 8, num_frames: 6, "
        "n_given: 3, frame_offset: 2}\nsampler: {steps: 2, batch_size: 2}\nbench: {ssim_window: 7}\n"
    )
    out = tmp_path / "cfg"
    assert sample_to(out, tiny_checkpoint, "--config", str(config), "--input", str(video)) == 0
    record = json.loads((out / "samples.json").read_text())
    assert (record["n_given"], record["frame_stride"], record["sampler"]["steps"]) == (3, 2, 2)
    frames, _ = read_video(out / "sample_00000.mp4")
    assert np.abs(frames[:3].astype(int) - index_frames(6, 8, 8)[[0, 2, 4]]).max() <= 3  # frames 0, 2, 4 given
    mask = np.ones((6, 8, 8), np.float32)
    mask[5] = 0  # give only the last frame
    np.save(tmp_path / "last.npy", mask)
    out = tmp_path / "masked"
    assert (
        sample_to(out, tiny_checkpoint, "--mask", str(tmp_path / "last.npy"), "--input", str(video), "--steps", "2")
        == 0
    )
    assert json.loads((out / "samples.json").read_text())["mask_file"] == str(tmp_path / "last.npy")
    frames, _ = read_video(out / "sample_00000.mp4")
    assert np.abs(frames[5].astype(int) - index_frames(6, 8, 8)[5]).max() <= 3
    assert np.abs(frames[0].astype(int) - index_frames(1, 8, 8)[0]).max() > 10  # frame 0 was generated
