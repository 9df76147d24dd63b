"""Colour management: CMYK to RGB through the image's own ICC profile (Pillow's ImageCms,
LittleCMS), for decoded outputs in formats without CMYK and for encoder input."""

from __future__ import annotations

import io
from typing import Any

from hybrid.errors import UnsupportedImageError

__all__ = ["cmyk_to_rgb"]


def cmyk_to_rgb(image: Any) -> Any:
    """A CMYK ``PIL.Image`` as RGB, through its ICC profile (to sRGB, perceptual intent)
    when it has one, else Pillow's uncalibrated conversion (what browsers do without one).

    The result's ``info`` keeps the source's other entries; its ``icc_profile`` is sRGB's
    after a managed conversion and absent otherwise.

    Raises:
        UnsupportedImageError: the embedded profile cannot be used for the conversion.
    """
    from PIL import ImageCms

    info = {k: v for k, v in image.info.items() if k != "icc_profile"}
    profile = image.info.get("icc_profile")
    if not profile:
        rgb = image.convert("RGB")
        rgb.info.update(info)
        return rgb
    try:
        source = ImageCms.ImageCmsProfile(io.BytesIO(profile))
        srgb = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB"))
        rgb = ImageCms.profileToProfile(image, source, srgb, outputMode="RGB")
    except (ImageCms.PyCMSError, OSError, ValueError) as exc:
        raise UnsupportedImageError(
            f"cannot convert CMYK to RGB through the embedded ICC profile: {exc}"
        ) from None
    assert rgb is not None
    rgb.info.update(info)
    rgb.info["icc_profile"] = srgb.tobytes()
    return rgb
