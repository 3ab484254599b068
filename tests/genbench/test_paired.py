"""gen-bench's model-minus-baseline intervals resample whole videos, not frames."""

import math

import pytest
import torch

from pipelines.genbench.paired import paired_difference


def test_the_difference_is_frame_weighted_and_the_interval_spans_the_videos():
    # video 7: 2 frames, the model 1 dB above the baseline; video 3: 6 frames, 3 dB above
    videos = torch.tensor([7, 7, 3, 3, 3, 3, 3, 3])
    base = torch.linspace(30.0, 40.0, 8)
    model = base + torch.tensor([1.0, 1, 3, 3, 3, 3, 3, 3])
    out = paired_difference({"psnr": model}, {"psnr": base}, videos)
    assert out["videos"] == 2
    assert out["psnr"]["difference"] == pytest.approx((2 * 1 + 6 * 3) / 8)
    # draws of two videos: both video 7 (1 dB), both video 3 (3 dB) or one each (2.5): a frame bootstrap would
    # give a narrow interval around 2.5, the video bootstrap the whole range
    assert out["psnr"]["low"] == pytest.approx(1.0) and out["psnr"]["high"] == pytest.approx(3.0)


def test_more_videos_that_agree_narrow_the_interval_and_one_video_has_none():
    g = torch.Generator().manual_seed(0)
    videos = torch.arange(40).repeat_interleave(4)
    base = torch.rand(160, generator=g)
    model = base + 0.5 + 0.1 * torch.randn(40, generator=g).repeat_interleave(4)
    d = paired_difference({"mse": model}, {"mse": base}, videos)["mse"]
    assert d["low"] < d["difference"] < d["high"] and 0.4 < d["low"] and d["high"] < 0.6
    single = paired_difference({"mse": model[:4]}, {"mse": base[:4]}, videos[:4])
    assert single["videos"] == 1 and math.isnan(single["mse"]["low"])
    assert single["mse"]["difference"] == pytest.approx(float((model[:4] - base[:4]).mean()))
    with pytest.raises(ValueError, match="mse: model .* must be the same frames"):
        paired_difference({"mse": model}, {"mse": base[:10]}, videos)
