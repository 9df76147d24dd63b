"""The training loop: AdamW + cosine schedule, checkpoints with exact resume, validation CSV/plot.

Two tasks share it: ``"enhance"`` (:class:`EnhanceNet`, JPEG artifact removal at the coded
size) and ``"sr"`` (:class:`SRNet`, super-resolution of a downscaled, JPEG-coded image).

Runs single-process on CPU or CUDA, or multi-process under ``torchrun`` (DistributedDataParallel,
gloo on CPU, NCCL on CUDA). Batches are pure functions of (seed, rank, iteration), and the
checkpoint holds model, optimizer, schedule and iteration, so an interrupted run resumed from
its last checkpoint continues bit-identically.
"""

from __future__ import annotations

import csv
import io
import json
import math
import os
import time
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import numpy as np
import torch
import torch.distributed as dist
from PIL import Image
from tqdm import tqdm

from hybrid.enhance.forward import enhance_tensor
from hybrid.enhance.infer import enhance_planes
from hybrid.enhance.jpeg_input import load_planes
from hybrid.enhance.nets import EnhanceNet, SRNet
from hybrid.enhance.precision import check_precision, network_call, resolve_precision
from hybrid.enhance.registry import read_weights
from hybrid.enhance.superres import upscale_planes
from hybrid.enhance.weights_schema import WeightsFile
from hybrid.errors import WeightsError
from hybrid.metrics import psnr
from hybrid.resample import downscale, upscale_array, upscale_image

from .data import DegradationConfig, list_images, load_images, make_batch, make_sr_batch
from .losses import PROXY_ASYMMETRY, PROXY_MASKING

#: Training tasks: artifact removal at the coded size, or super-resolution.
TASKS = ("enhance", "sr")
#: Downscale factors a super-resolution run can train for (``hybrid encode --scale``).
SR_SCALES = (1.5, 2, 3, 4)
#: Pixel losses (:func:`pixel_loss`).
LOSSES = ("charbonnier", "l1", "mse")
#: The perceptual term's implementations: ``proxy`` (:func:`training.losses.butteraugli_proxy`,
#: butteraugli-like) and ``libjxl`` (:func:`training.butteraugli.butteraugli_distance`, a
#: port of libjxl's butteraugli checked against its tool).
PERCEPTUAL_LOSSES = ("proxy", "libjxl")


@dataclass(frozen=True)
class TrainConfig:
    """Everything a training run depends on (saved in every checkpoint).

    ``task`` picks the network and the data: ``"enhance"`` trains an :class:`EnhanceNet` on
    ``crop``-sized JPEG-decoded crops; ``"sr"`` trains an :class:`SRNet` whose input crops
    are ``crop`` pixels (the downscaled, coded image) and targets ``scale * crop``. A
    non-integer ``scale`` (1.5) trains a network of the next integer factor (2) whose output
    is resized to the target as the decoder resizes it (:func:`resize_like_decoder`).
    """

    task: str = "enhance"
    scale: float = 2
    train_dir: str = "../shared/data/train"
    val_dir: str = "../shared/data/val"
    out_dir: str = "runs/enhance"
    channels: int = 48
    blocks: int = 6
    low_blocks: int = 0
    low_channels: int = 64
    batch_size: int = 16
    crop: int = 128
    iterations: int = 6000
    lr: float = 1e-3
    weight_decay: float = 1e-4
    warmup: int = 200
    loss: str = "charbonnier"
    msssim_weight: float = 0.0
    butteraugli_weight: float = 0.0
    butteraugli_masking: float = PROXY_MASKING
    butteraugli_asymmetry: float = PROXY_ASYMMETRY
    butteraugli_loss: str = "proxy"
    consistency: bool = True
    seed: int = 0
    val_every: int = 500
    val_images: int = 8
    val_qualities: tuple[int, ...] = (10, 30, 50, 75, 90)
    checkpoint_minutes: float = 5.0
    minutes: float | None = None
    workers: int = 0
    precision: str = "auto"
    init: str | None = None
    device: str = "cpu"
    threads: int | None = None
    max_train_images: int | None = None
    degradation: DegradationConfig = field(default_factory=DegradationConfig)

    def __post_init__(self) -> None:
        if self.task not in TASKS:
            raise ValueError(f"task must be one of {', '.join(TASKS)}, got {self.task!r}")
        if isinstance(self.scale, bool) or self.scale not in SR_SCALES:
            raise ValueError(
                f"scale must be one of {', '.join(map(str, SR_SCALES))}, got {self.scale!r}"
            )
        if self.loss not in LOSSES:
            raise ValueError(f"loss must be one of {', '.join(LOSSES)}, got {self.loss!r}")
        if self.butteraugli_loss not in PERCEPTUAL_LOSSES:
            raise ValueError(
                f"butteraugli_loss must be one of {', '.join(PERCEPTUAL_LOSSES)}, "
                f"got {self.butteraugli_loss!r}"
            )
        for name in (
            "msssim_weight",
            "butteraugli_weight",
            "butteraugli_masking",
            "butteraugli_asymmetry",
        ):
            if not getattr(self, name) >= 0:
                raise ValueError(f"{name} must be >= 0, got {getattr(self, name)}")
        if self.iterations < 1 or self.batch_size < 1:
            raise ValueError("iterations and batch_size must be positive")
        if self.minutes is not None and self.minutes <= 0:
            raise ValueError(f"minutes must be positive, got {self.minutes}")
        if self.workers < 0:
            raise ValueError(f"workers must be >= 0, got {self.workers}")
        check_precision(self.precision)
        if self.crop != self.degradation.crop:
            object.__setattr__(
                self,
                "degradation",
                DegradationConfig(**{**asdict(self.degradation), "crop": self.crop}),
            )


def net_factor(scale: float) -> int:
    """The integer factor of the network trained for downscale ``scale`` (1.5 -> 2)."""
    return math.ceil(scale)


def resize_like_decoder(pred: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """Resize a (B, C, H, W) network output to ``size`` = (height, width) as the decoder
    does (:func:`hybrid.resample.upscale_array`, Pillow's antialiased bicubic on float
    images), differentiably.

    torch's ``interpolate(mode="bicubic", antialias=True)`` follows Pillow's filter (it agrees
    with ``upscale_array`` to about 1e-6 on 0..1 images); kornia's antialiased resize blurs
    with a Gaussian first and differs by about 0.005 on average, so it is not used here.
    """
    if tuple(pred.shape[-2:]) == tuple(size):
        return pred
    return torch.nn.functional.interpolate(
        pred, size=size, mode="bicubic", antialias=True, align_corners=False
    )


def lr_at(cfg: TrainConfig, it: int) -> float:
    """Linear warm-up then cosine decay to 1% of the peak."""
    if it < cfg.warmup:
        return cfg.lr * (it + 1) / cfg.warmup
    t = (it - cfg.warmup) / max(1, cfg.iterations - cfg.warmup)
    return cfg.lr * (0.01 + 0.99 * 0.5 * (1 + math.cos(math.pi * min(1.0, t))))


def build_network(cfg: TrainConfig) -> torch.nn.Module:
    """The untrained network of ``cfg.task`` (SRNet or EnhanceNet) with cfg's size."""
    if cfg.task == "sr":
        return SRNet(cfg.channels, cfg.blocks, scale=net_factor(cfg.scale))
    return EnhanceNet(
        cfg.channels, cfg.blocks, low_blocks=cfg.low_blocks, low_channels=cfg.low_channels
    )


def read_init_file(path: str) -> WeightsFile:
    """The checked weights of an ``--init`` file (exported safetensors, a training
    checkpoint, an older exported torch file or a bare state dict), read on hybrid's bounded
    path (:func:`hybrid.enhance.registry.read_weights`); a WeightsError (a ValueError) when
    it is not one, FileNotFoundError when it is missing."""
    if not Path(path).exists():
        raise FileNotFoundError(f"--init weights not found: {path}")
    try:
        return read_weights(path)
    except WeightsError as exc:
        raise WeightsError(f"cannot read --init weights: {exc}") from None


#: The TrainConfig fields that fix the network's size.
SHAPE_FIELDS = ("channels", "blocks", "low_blocks", "low_channels")


def saved_shape(saved: dict) -> dict[str, int]:
    """The :data:`SHAPE_FIELDS` a saved training config or an exported file's kwargs
    record (those it has)."""
    return {k: int(saved[k]) for k in SHAPE_FIELDS if k in saved}


def init_shape(path: str) -> dict[str, int]:
    """The network size an ``--init`` file records, from an exported file's kwargs or a
    checkpoint's config; empty for a bare state dict."""
    spec = read_init_file(path).spec
    return saved_shape(dict(spec.kwargs)) if spec else {}


def load_init_weights(net: torch.nn.Module, state: dict, source: str) -> None:
    """Load ``--init`` weights into ``net``. Layers the weights lack are accepted only where
    the network adds a zero-initialised branch to them (``low_*``, see
    :func:`hybrid.enhance.nets._init_trunk`), which keeps their function; any other mismatch
    is a ValueError naming the layers."""
    try:
        result = net.load_state_dict(state, strict=False)
    except RuntimeError as exc:  # layers of other shapes
        raise ValueError(
            f"{source} does not fit this network (check --size/--channels/--blocks): "
            + " ".join(str(exc).split("\n\t")[1:2])
        ) from None
    missing = [k for k in result.missing_keys if not k.startswith("low_")]
    if missing or result.unexpected_keys:
        raise ValueError(
            f"{source} does not fit this network: missing {missing or 'none'}, "
            f"unexpected {result.unexpected_keys or 'none'} (check --size/--channels/--blocks)"
        )


def pixel_loss(pred: torch.Tensor, target: torch.Tensor, kind: str) -> torch.Tensor:
    """L1, Charbonnier (eps 1e-3) or MSE loss of 0..255 images, measured on the 0..1 scale.

    MSE is what PSNR measures; it suits a last fine-tuning phase (L1-like losses train
    better from scratch).
    """
    diff = (pred - target) / 255.0
    if kind == "l1":
        return diff.abs().mean()
    if kind == "mse":
        return (diff * diff).mean()
    return torch.sqrt(diff * diff + 1e-6).mean()


def structural_loss(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """1 - MS-SSIM on crops of at least 176 px, else 1 - SSIM (kornia), on the 0..1 scale."""
    import kornia

    from .losses import ms_ssim_torch

    x, y = pred.clamp(0, 255) / 255.0, target / 255.0
    if min(x.shape[-2:]) >= 176:
        return 1.0 - ms_ssim_torch(x, y).mean()
    return 2.0 * kornia.losses.ssim_loss(x, y, window_size=11)


def perceptual_loss(
    pred: torch.Tensor,
    target: torch.Tensor,
    *,
    masking: float = PROXY_MASKING,
    asymmetry: float = PROXY_ASYMMETRY,
    kind: str = "proxy",
) -> torch.Tensor:
    """The perceptual distance of 0..255 images, averaged over the batch: ``proxy``, the
    butteraugli-like distance (:func:`training.losses.butteraugli_proxy`, with its
    ``masking`` and ``asymmetry``), or ``libjxl``, the port of libjxl's butteraugli 3-norm
    (:func:`training.butteraugli.butteraugli_distance`; ``masking`` and ``asymmetry`` are
    the proxy's and do not apply)."""
    pred, target = pred.clamp(0, 255) / 255.0, target / 255.0
    if kind == "libjxl":
        from .butteraugli import butteraugli_distance

        return butteraugli_distance(pred, target).mean()
    from .losses import butteraugli_proxy

    return butteraugli_proxy(pred, target, masking=masking, asymmetry=asymmetry).mean()


def make_val_set(cfg: TrainConfig) -> list[tuple[int, np.ndarray, bytes]]:
    """(quality, clean image, JPEG bytes) triples: Pillow/libjpeg-turbo, 4:2:0, optimized."""
    files = list_images(cfg.val_dir)[: cfg.val_images]
    out = []
    for f in files:
        with Image.open(f) as im:
            clean = np.asarray(im.convert("RGB"))
        for q in cfg.val_qualities:
            buf = io.BytesIO()
            Image.fromarray(clean).save(buf, "JPEG", quality=q, subsampling=2, optimize=True)
            out.append((q, clean, buf.getvalue()))
    return out


def sr_val_crop(clean: np.ndarray, scale: float) -> np.ndarray:
    """The centre of a clean image cropped to a multiple of ``8 * scale`` pixels per side
    (``scale`` in :data:`SR_SCALES`, so that is whole), so the downscaled image is exactly
    ``1/scale`` the size and holds whole 8x8 blocks."""
    step = round(8 * scale)
    h, w = (clean.shape[0] // step) * step, (clean.shape[1] // step) * step
    y, x = (clean.shape[0] - h) // 2, (clean.shape[1] - w) // 2
    return clean[y : y + h, x : x + w]


def make_sr_val_set(cfg: TrainConfig) -> list[tuple[int, np.ndarray, bytes]]:
    """(quality, clean HR image, JPEG bytes of its downscaled version) triples: the centre
    crop of :func:`sr_val_crop`, downscaled by ``cfg.scale`` with hybrid's encoder filter,
    coded by Pillow/libjpeg-turbo 4:2:0, optimized. Images under ``8 * scale`` px are skipped."""
    files = list_images(cfg.val_dir)[: cfg.val_images]
    out = []
    for f in files:
        with Image.open(f) as im:
            clean = sr_val_crop(np.asarray(im.convert("RGB")), cfg.scale)
        if clean.size == 0:
            continue
        size = (round(clean.shape[1] / cfg.scale), round(clean.shape[0] / cfg.scale))
        small = downscale(clean, size)
        for q in cfg.val_qualities:
            buf = io.BytesIO()
            Image.fromarray(small).save(buf, "JPEG", quality=q, subsampling=2, optimize=True)
            out.append((q, clean, buf.getvalue()))
    return out


def validation_set(cfg: TrainConfig) -> list[tuple[int, np.ndarray, bytes]]:
    """The validation triples of ``cfg.task``."""
    return make_sr_val_set(cfg) if cfg.task == "sr" else make_val_set(cfg)


def validate_sr(net: torch.nn.Module, val_set, cfg: TrainConfig) -> dict[int, float]:
    """Mean PSNR-RGB gain (dB) of the (tiled) SR decode over the bicubic upscale (Pillow, the
    decoder's fallback) of the plain decode, per quality; both rounded to 8 bits."""
    gains: dict[int, list[float]] = {}
    net.eval()
    for q, clean, data in val_set:
        planes = load_planes(data)
        size = (clean.shape[1], clean.shape[0])
        sr = upscale_planes(net, planes, net_factor(cfg.scale), device=cfg.device)
        sr = upscale_array(sr, size)  # the decoder's resize (a no-op at integer scales)
        sr8 = np.clip(np.round(sr * 255.0), 0, 255)
        bicubic = np.asarray(upscale_image(Image.fromarray(planes.pixels), size))
        gains.setdefault(q, []).append(psnr(sr8, clean) - psnr(bicubic, clean))
    net.train()
    return {q: float(np.mean(v)) for q, v in gains.items()}


def validation_gains(net: torch.nn.Module, val_set, cfg: TrainConfig) -> dict[int, float]:
    """Per-quality mean PSNR gain (dB) of ``cfg.task``'s network over its classical baseline."""
    return validate_sr(net, val_set, cfg) if cfg.task == "sr" else validate(net, val_set, cfg)


def validate(net: torch.nn.Module, val_set, cfg: TrainConfig) -> dict[int, float]:
    """Mean PSNR-RGB gain (dB) of enhanced over plain decode, per quality."""
    gains: dict[int, list[float]] = {}
    net.eval()
    for q, clean, data in val_set:
        planes = load_planes(data)
        enhanced = enhance_planes(net, planes, consistency=cfg.consistency, device=cfg.device)
        enhanced8 = np.clip(np.round(enhanced * 255.0), 0, 255)
        gains.setdefault(q, []).append(psnr(enhanced8, clean) - psnr(planes.pixels, clean))
    net.train()
    return {q: float(np.mean(v)) for q, v in gains.items()}


def _save_atomic(obj: dict, path: Path) -> None:
    tmp = path.with_suffix(path.suffix + ".tmp")
    torch.save(obj, tmp)
    os.replace(tmp, path)


def plot_validation(csv_path: Path, png_path: Path, baseline: str = "plain decode") -> None:
    """PSNR gain per quality against iteration, from the validation CSV."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = list(csv.DictReader(csv_path.open()))
    if not rows:
        return
    its = [int(r["iteration"]) for r in rows]
    fig, ax = plt.subplots(figsize=(6, 4))
    for key in rows[0]:
        if key.startswith("gain_q"):
            ax.plot(its, [float(r[key]) for r in rows], marker="o", label=key[5:])
    ax.set_xlabel("iteration")
    ax.set_ylabel(f"PSNR-RGB gain over {baseline} (dB)")
    ax.grid(alpha=0.3)
    ax.legend(title="quality")
    fig.tight_layout()
    fig.savefig(png_path, dpi=100)
    plt.close(fig)


class BatchStream(torch.utils.data.Dataset):
    """Training batches by iteration number: item ``it`` is batch ``it`` of one rank, a pure
    function of (seed, rank, it) (:func:`training.data.make_batch`), so batches made in
    DataLoader worker processes, in any order, are the batches the main process would make.
    """

    def __init__(self, cfg: TrainConfig, images: list[np.ndarray], rank: int) -> None:
        self.cfg, self.images, self.seed = cfg, images, cfg.seed * 1000 + rank

    def __len__(self) -> int:
        return self.cfg.iterations

    def __getitem__(self, it: int) -> dict:
        cfg = self.cfg
        if cfg.task == "sr":
            return make_sr_batch(
                self.images, self.seed, it, cfg.batch_size, cfg.degradation, cfg.scale
            )
        return make_batch(self.images, self.seed, it, cfg.batch_size, cfg.degradation)


def batch_iterator(stream: BatchStream, start: int, stop: int, workers: int, pin: bool):
    """Batches ``start .. stop - 1`` in order: made here (``workers`` 0) or by that many
    DataLoader worker processes, a few batches ahead of the training step."""
    its = range(start, stop)
    if workers == 0:
        return (stream[it] for it in its)
    return iter(
        torch.utils.data.DataLoader(
            stream,
            batch_size=None,
            sampler=its,
            num_workers=workers,
            prefetch_factor=4,
            pin_memory=pin,
            persistent_workers=False,
        )
    )


def _forward(
    model, cfg: TrainConfig, batch: dict, device: torch.device, precision: str
) -> tuple[torch.Tensor, torch.Tensor]:
    """One batch (:class:`BatchStream`) through the network: (prediction, target), both
    float32 on the 0..255 scale (the SR task's 0..1 tensors are scaled up, so one loss fits
    both). ``precision`` (``fp32`` or ``bf16``) is the network call's only
    (:func:`hybrid.enhance.precision.network_call`): the colour transforms and the
    consistency projection's DCT stay float32 (bf16 would move a DC coefficient by ~4 steps)."""
    if cfg.task == "sr":
        rgb, cond, target = (batch[k].to(device) for k in ("input", "cond", "target"))
        pred = network_call(model, precision, device)(rgb, cond)
        pred = resize_like_decoder(pred, tuple(target.shape[-2:]))
        return pred * 255.0, target * 255.0
    rgb, clean, cond = (batch[k].to(device, non_blocking=True) for k in ("rgb", "clean", "cond"))
    coeffs = [c.to(device, non_blocking=True) for c in batch["coeffs"]] if cfg.consistency else None
    qtables = (
        [q.to(device, non_blocking=True) for q in batch["qtables"]] if cfg.consistency else None
    )
    pred = enhance_tensor(
        model,
        rgb,
        cond,
        coeffs,
        qtables,
        batch["chroma_factors"],
        batch["grey"],
        precision=precision,
    )
    return pred, clean


def _budget_horizon(
    cfg: TrainConfig, done: int, probe_it: int, t_begin: float, t_probe: float
) -> int:
    """The iteration count that ends a ``cfg.minutes`` run on time: the iterations done,
    plus the time left over the seconds per iteration measured since iteration ``probe_it``
    (reached at ``t_probe``; the run began at ``t_begin``)."""
    now = time.monotonic()
    per_it = (now - t_probe) / (done - probe_it)
    left = cfg.minutes * 60 - (now - t_begin)
    return done + max(0, int(left / per_it))


def train(cfg: TrainConfig, *, resume: bool = True, progress: bool = True) -> Path:
    """Run (or resume) a training run; returns the path of the final checkpoint."""
    distributed = int(os.environ.get("WORLD_SIZE", "1")) > 1
    rank = 0
    if distributed:
        dist.init_process_group("nccl" if cfg.device.startswith("cuda") else "gloo")
        rank = dist.get_rank()
    if cfg.threads:
        torch.set_num_threads(cfg.threads)
    torch.manual_seed(cfg.seed)
    device = torch.device(cfg.device)
    out_dir = Path(cfg.out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    files = list_images(cfg.train_dir)[: cfg.max_train_images]
    side = round(cfg.crop * cfg.scale) if cfg.task == "sr" else cfg.crop
    images = load_images(files, side)
    if not images:
        raise FileNotFoundError(f"no training image is at least {side} px on each side")
    net = build_network(cfg).to(device)
    if cfg.init:
        load_init_weights(net, dict(read_init_file(cfg.init).state), cfg.init)
    opt = torch.optim.AdamW(net.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    start = 0
    saved: dict = {}
    last = out_dir / "last.pt"
    if resume and last.exists():
        ckpt = torch.load(last, map_location="cpu", weights_only=True)
        saved = json.loads(ckpt["config"]) if "config" in ckpt else {}
        if saved.get("task", "enhance") != cfg.task:
            raise ValueError(
                f"{last} is a {saved.get('task', 'enhance')!r} run, not {cfg.task!r}"
                " (use another --out or --fresh)"
            )
        net.load_state_dict(ckpt["model"])
        opt.load_state_dict(ckpt["optimizer"])
        start = int(ckpt["iteration"])
    model = torch.nn.parallel.DistributedDataParallel(net) if distributed else net
    # bf16 autocast of the network where the device has it natively (precision "auto"): CUDA,
    # or a CPU with avx512_bf16 / amx_bf16 (1.44 -> 2.55 it/s for enhance-fast-v3 on 2 threads).
    precision = resolve_precision(cfg.precision, device)
    if device.type == "cuda":
        torch.backends.cudnn.benchmark = True  # fixed crop and batch: pick the fastest kernels
    scaler = torch.amp.GradScaler("cuda", enabled=precision == "bf16" and device.type == "cuda")
    val_set = validation_set(cfg) if rank == 0 and cfg.val_every > 0 else []
    csv_path = out_dir / "validation.csv"
    baseline = "bicubic of plain decode" if cfg.task == "sr" else "plain decode"
    if rank == 0:
        (out_dir / "config.json").write_text(json.dumps(asdict(cfg), indent=2))

    def checkpoint(it: int) -> None:
        if rank == 0:
            _save_atomic(
                {
                    "model": net.state_dict(),
                    "optimizer": opt.state_dict(),
                    "iteration": it,
                    "config": json.dumps(asdict(cfg)),
                },
                last,
            )

    # --minutes: the horizon is set once the warm-up has run, from the speed measured then
    # (the warm-up's learning rate does not depend on it); checkpoints wait for it.
    horizon_at = None
    if cfg.minutes is not None:
        if start > 0 and saved.get("minutes") is not None:
            cfg = replace(cfg, iterations=int(saved["iterations"]))
        else:
            horizon_at = max(cfg.warmup, start + 20)
            cfg = replace(cfg, iterations=max(cfg.iterations, horizon_at + 1))
    stream = BatchStream(cfg, images, rank)
    pin = device.type == "cuda"
    t_begin = last_save = time.monotonic()
    t_probe = None
    bar = tqdm(
        total=cfg.iterations,
        initial=start,
        disable=not progress or rank != 0,
        unit="it",
        dynamic_ncols=True,
    )
    model.train()
    it = start
    while it < cfg.iterations:
        stop = horizon_at if horizon_at is not None and it < horizon_at else cfg.iterations
        for batch in batch_iterator(stream, it, stop, cfg.workers, pin):
            for group in opt.param_groups:
                group["lr"] = lr_at(cfg, it)
            pred, clean = _forward(model, cfg, batch, device, precision)
            loss = pixel_loss(pred, clean, cfg.loss)
            if cfg.msssim_weight > 0:
                loss = loss + cfg.msssim_weight * structural_loss(pred, clean)
            if cfg.butteraugli_weight > 0:
                loss = loss + cfg.butteraugli_weight * perceptual_loss(
                    pred,
                    clean,
                    masking=cfg.butteraugli_masking,
                    asymmetry=cfg.butteraugli_asymmetry,
                    kind=cfg.butteraugli_loss,
                )
            opt.zero_grad(set_to_none=True)
            scaler.scale(loss).backward()
            scaler.step(opt)
            scaler.update()
            bar.update(1)
            if it % 10 == 0:  # .item() waits for the device: not every step
                bar.set_postfix(loss=f"{loss.item():.4f}", lr=f"{lr_at(cfg, it):.1e}")
            it += 1
            done = it
            if horizon_at is not None and done == start + 10:
                t_probe = time.monotonic()
            if done == horizon_at:
                horizon = _budget_horizon(cfg, done, start + 10, t_begin, t_probe)
                if distributed:  # every rank must stop at the same step: rank 0's horizon
                    shared = torch.tensor([horizon], dtype=torch.int64, device=device)
                    dist.broadcast(shared, 0)
                    horizon = int(shared.item())
                cfg = replace(cfg, iterations=horizon)
                stream.cfg = cfg
                bar.total = cfg.iterations
                bar.refresh()
                horizon_at = None
            if rank == 0 and val_set and (done % cfg.val_every == 0 or done == cfg.iterations):
                gains = validation_gains(net, val_set, cfg)
                new = not csv_path.exists()
                with csv_path.open("a", newline="") as fh:
                    writer = csv.writer(fh)
                    if new:
                        writer.writerow(["iteration", "elapsed_s"] + [f"gain_q{q}" for q in gains])
                    writer.writerow(
                        [done, f"{bar.format_dict['elapsed']:.0f}"]
                        + [f"{g:.4f}" for g in gains.values()]
                    )
                plot_validation(csv_path, out_dir / "validation.png", baseline)
                bar.write(
                    f"iter {done}: " + ", ".join(f"q{q} {g:+.3f} dB" for q, g in gains.items())
                )
            if horizon_at is None and (
                time.monotonic() - last_save > cfg.checkpoint_minutes * 60 or done == cfg.iterations
            ):
                checkpoint(done)
                last_save = time.monotonic()
    bar.close()
    if distributed:
        dist.barrier()
        dist.destroy_process_group()
    return last
