"""The video-folder dataset: discovery, clip counts, stride, seeking, resize/crop, labels, bad input."""

import numpy as np
import pytest
import torch
from genbench_helpers import frame_indices, index_frames, write_index_video
from PIL import Image

from pipelines.genbench.sources import BadVideoError, VideoFile
from pipelines.genbench.video_folder import VideoFolder


def write_frame_folder(folder, frames: np.ndarray, pattern: str = "frame_{}.png"):
    folder.mkdir(parents=True, exist_ok=True)
    for i, f in enumerate(frames):
        Image.fromarray(f).save(folder / pattern.format(i))


@pytest.fixture
def mp4_classes(tmp_path):
    """Two class folders (sorted: apple, zebra) of MP4s of 40 and 25 frames."""
    write_index_video(tmp_path / "zebra" / "z1.mp4", 40)
    write_index_video(tmp_path / "apple" / "a1.mp4", 25)
    return tmp_path


def test_all_clips_count_stride_and_labels(mp4_classes):
    ds = VideoFolder(mp4_classes, clip_length=4, frame_stride=3, resolution=16, clips="all")
    # span = 3 * 3 + 1 = 10 frames: 25 // 10 = 2 clips of apple, 40 // 10 = 4 of zebra
    assert ds.span == 10 and len(ds) == 6
    assert ds.classes == ["apple", "zebra"]
    items = [ds[i] for i in range(len(ds))]
    assert [(it["label"], it["start"]) for it in items] == [(0, 0), (0, 10), (1, 0), (1, 10), (1, 20), (1, 30)]
    for it in items:
        assert it["frames"].shape == (4, 3, 16, 16) and it["frames"].dtype == torch.float32
        assert frame_indices(it["frames"]) == [it["start"] + 3 * k for k in range(4)]
    assert items[0]["path"].endswith("apple/a1.mp4")


def test_random_clips_one_per_video_and_epochs(mp4_classes):
    ds = VideoFolder(mp4_classes, clip_length=5, frame_stride=2, resolution=16, clips="random", seed=3)
    assert len(ds) == 2
    starts = {}
    for epoch in range(8):
        ds.set_epoch(epoch)
        for i in range(2):
            item = ds[i]
            assert 0 <= item["start"] <= ds.videos[i].num_frames - 9
            assert frame_indices(item["frames"]) == [item["start"] + 2 * k for k in range(5)]
            starts.setdefault(i, []).append(item["start"])
    assert len(set(starts[1])) > 1  # new starts at new epochs
    ds.set_epoch(2)
    assert ds[1]["start"] == starts[1][2]  # and the same start for the same epoch
    assert ds.get(1, epoch=5)["start"] == starts[1][5]


def test_seek_decodes_the_right_frames(tmp_path):
    path = write_index_video(tmp_path / "gop.mp4", 40, gop=4)
    video = VideoFile(path)
    assert video.num_frames == 40
    for wanted in ([17, 19, 21], [0, 1], [33, 36, 39], [8]):
        assert frame_indices(torch.from_numpy(video.read(wanted)).permute(0, 3, 1, 2).float() / 127.5 - 1) == wanted


def test_frame_folders_natural_order_and_labels(tmp_path):
    # frame_2.png must come before frame_10.png
    write_frame_folder(tmp_path / "jump" / "v1", index_frames(12))
    write_frame_folder(tmp_path / "run" / "v2", index_frames(12))
    ds = VideoFolder(tmp_path, clip_length=3, frame_stride=4, resolution=16, clips="all")
    assert len(ds) == 2 and ds.classes == ["jump", "run"]
    assert [ds[i]["label"] for i in range(2)] == [0, 1]
    assert frame_indices(ds[1]["frames"]) == [0, 4, 8]


def test_no_class_folders_gives_label_minus_one(tmp_path):
    write_index_video(tmp_path / "a.mp4", 12)
    write_frame_folder(tmp_path / "b", index_frames(12))
    ds = VideoFolder(tmp_path, clip_length=4, resolution=16, clips="all")
    assert ds.classes == [] and len(ds) == 6 and {ds[i]["label"] for i in range(6)} == {-1}


def test_mixed_class_and_top_level_videos_is_an_error(tmp_path):
    write_index_video(tmp_path / "a.mp4", 12)
    write_index_video(tmp_path / "cls" / "b.mp4", 12)
    with pytest.raises(ValueError, match="both in class sub-folders"):
        VideoFolder(tmp_path, clip_length=4, resolution=16)


def test_center_crop_without_resampling_is_exact(tmp_path):
    # 12 x 16 frames whose columns are numbered: the covering size of a 12 x 12 target is 12 x 16 itself
    frames = np.zeros((5, 12, 16, 3), np.uint8)
    frames[:] = (np.arange(16) * 10).astype(np.uint8)[None, None, :, None]
    write_frame_folder(tmp_path / "v", frames)
    center = VideoFolder(tmp_path, clip_length=5, resolution=12, crop="center", clips="all")[0]["frames"]
    expected = torch.from_numpy(frames[:, :, 2:14]).permute(0, 3, 1, 2).float() / 127.5 - 1
    assert center.shape == (5, 3, 12, 12) and torch.allclose(center, expected)
    ds = VideoFolder(tmp_path, clip_length=5, resolution=12, crop="random", clips="all", seed=0)
    lefts = set()
    for epoch in range(12):
        clip = ds.get(0, epoch)["frames"]
        left = round(float((clip[0, 0, 0, 0] + 1) * 127.5) / 10)
        lefts.add(left)
        shifted = torch.from_numpy(frames[:, :, left : left + 12]).permute(0, 3, 1, 2).float() / 127.5 - 1
        assert torch.allclose(clip, shifted)  # one window for the whole clip
    assert lefts <= set(range(5)) and len(lefts) > 1


def test_resize_shorter_side_then_crop(tmp_path):
    # 24 x 32 frames: left half black, right half white -> shorter side 24 -> 12 gives 12 x 16, then the centre 12
    frames = np.zeros((4, 24, 32, 3), np.uint8)
    frames[:, :, 16:] = 255
    write_frame_folder(tmp_path / "v", frames)
    clip = VideoFolder(tmp_path, clip_length=4, resolution=12, clips="all")[0]["frames"]
    assert clip.shape == (4, 3, 12, 12)
    assert torch.allclose(clip[..., :5], torch.tensor(-1.0)) and torch.allclose(clip[..., 7:], torch.tensor(1.0))
    # a non-square target keeps the aspect ratio too: 12 x 8 from 24 x 32 -> scale 0.5 (height), crop width 16 -> 8
    wide = VideoFolder(tmp_path, clip_length=4, resolution=(12, 8), clips="all")[0]["frames"]
    assert wide.shape == (4, 3, 12, 8) and torch.allclose(wide[..., :3], torch.tensor(-1.0))


def test_group_pattern_splits_sequences_in_one_folder(tmp_path):
    folder = tmp_path / "aachen"
    for seq in ("000000", "000001"):
        write_frame_folder(folder, index_frames(6), pattern=f"aachen_{seq}_{{:06d}}_leftImg8bit.png")
    ds = VideoFolder(tmp_path, clip_length=6, resolution=16, clips="all", group_pattern=r"^(.+_\d+)_\d+_leftImg8bit")
    assert len(ds.videos) == 2 and [v.key for v in ds.videos] == ["aachen/aachen_000000", "aachen/aachen_000001"]
    assert frame_indices(ds[1]["frames"]) == list(range(6))
    (folder / "stray.png").write_bytes((folder / "aachen_000000_000000_leftImg8bit.png").read_bytes())
    with pytest.raises(BadVideoError, match="stray.png"):
        VideoFolder(tmp_path, clip_length=6, resolution=16, group_pattern=r"^(.+_\d+)_\d+_leftImg8bit")


def test_corrupt_and_short_videos_are_named_or_skipped(mp4_classes):
    bad = mp4_classes / "zebra" / "broken.mp4"
    bad.write_bytes(b"this is not a video" * 50)
    with pytest.raises(BadVideoError, match="broken.mp4"):
        VideoFolder(mp4_classes, clip_length=4, resolution=16)
    ds = VideoFolder(mp4_classes, clip_length=4, resolution=16, skip_bad=True, clips="all")
    assert [p for p, _ in ds.skipped] == [str(bad)] and len(ds.videos) == 2
    bad.unlink()
    # a video shorter than one clip: named, with its frame count
    with pytest.raises(BadVideoError, match=r"a1.mp4: too short: 25 frames"):
        VideoFolder(mp4_classes, clip_length=14, frame_stride=2, resolution=16)
    short = VideoFolder(mp4_classes, clip_length=14, frame_stride=2, resolution=16, skip_bad=True)
    assert len(short) == 1 and short[0]["path"].endswith("z1.mp4")  # left out, never replaced


def test_truncated_video_is_named(tmp_path):
    path = write_index_video(tmp_path / "cut.mp4", 30)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(BadVideoError, match="cut.mp4"):
        VideoFolder(tmp_path, clip_length=4, resolution=16)


def test_unreadable_image_fails_when_read_naming_it(tmp_path):
    write_frame_folder(tmp_path / "v", index_frames(6))
    (tmp_path / "v" / "frame_3.png").write_bytes(b"garbage")
    ds = VideoFolder(tmp_path, clip_length=6, resolution=16, clips="all")
    with pytest.raises(BadVideoError, match="frame_3.png"):
        ds[0]


def test_empty_folder_is_an_error(tmp_path):
    (tmp_path / "notes.txt").write_text("no videos here")
    with pytest.raises(FileNotFoundError, match="no videos"):
        VideoFolder(tmp_path, clip_length=4, resolution=16)
