"""Generation benchmarks on the VDT core: video-folder datasets, sampling to files, FVD / Fréchet distance and
PSNR / SSIM, driven by one typed config per benchmark (``configs/gen/*.yaml``).

video_folder.py  the one dataset: MP4s or frame folders, clips by length / stride / resolution / crop
sources.py       reading frames of one video (PyAV seek + decode, or Pillow per image)
frames.py        resize the shorter side, then crop (center or random)
config.py        GenBenchConfig, the YAML schema
builtin.py       the built-in demo dataset (generated Physion videos as MP4s)
generation.py    load a trained VDT + latent space and generate clips under any mask, seeded per clip (vdt.video_tasks)
sharding.py      this process's clips and device under ``--shard I/N`` x ``torchrun`` (pipelines.distributed)
sampling_io.py   conditioning inputs, mask files, MP4 / GIF writers, frame colours for the grids (pipelines.reporting.strips)
feature_net.py   a TorchScript feature network (I3D for FVD) and its input convention
frechet.py       Fréchet distance between Gaussians fitted to features
frame_metrics.py PSNR, SSIM, MSE per frame
bench.py         the gen-bench run; report.py writes results.json / results.md
"""
