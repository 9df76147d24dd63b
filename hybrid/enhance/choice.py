"""Which enhancement network decodes a file, and why (issue 18: content-aware enhancement).

Screenshots, text and graphics have their own network; :func:`choose_model` picks one per
file, first match wins:

1. a user weights file, or a registry ``model`` named by the caller;
2. a content class named by the caller (``content="photo"`` / ``"screen"``);
3. the model id the file's hybrid record (APP11) names, when it is an enhancement model the
   backend can run (the onnx backends run only models with an export: a recorded model
   without one is passed over, and :attr:`ModelChoice.passed_over` names it);
4. the content class the record names (format version 3, written by ``hybrid encode
   --content``);
5. ``content="auto"``: :func:`hybrid.enhance.content.classify_content` of the planes the
   decode has read anyway (the classifier runs only here, once per enhanced decode).

A class becomes a model through :func:`hybrid.enhance.registry.default_model_for`. While a
class's own model is not installed the photo model stands in: with a warning when the class
was given or recorded (an intent is not met), silently for a classifier's guess (nobody
asked; :meth:`ModelChoice.why` still says so). Nothing here
imports torch or jpeglib: the torch and ONNX backends and the API share it. Each choice is
logged (logger ``hybrid.enhance.choice``, level INFO) in :meth:`ModelChoice.describe`'s
words.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Collection
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from hybrid.codec.metadata import CONTENT_CODES, HybridMetadata
from hybrid.enhance.registry import DEFAULT_CONTENT_MODELS, default_model_for, load_manifest
from hybrid.errors import InputError

if TYPE_CHECKING:  # jpeg_input imports jpeglib; validating content= must not
    from hybrid.enhance.jpeg_input import JpegPlanes

#: What ``content=`` takes: a class of :data:`hybrid.codec.metadata.CONTENT_CODES`, or auto.
CONTENT_CHOICES = ("auto", *CONTENT_CODES)

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class ModelChoice:
    """The enhancement network of one decode and why it was chosen.

    Attributes:
        model: the registry id, or the file name of a user weights file.
        reason: ``weights file``, ``given model``, ``recorded model`` (the file's record
            names it), or for a content class: ``given`` (the caller's class),
            ``recorded`` (the record's class), ``classified`` (the classifier's guess).
        content: the content class the model was chosen for (None when a model or weights
            file was named).
        screen_probability: the classifier's probability (0..1) that the image is a
            screen, when it ran.
        missing: the class's own model when it is not installed (``model`` is then the
            photo model standing in), else None.
        passed_over: the model the file's record names when the backend cannot run it (no
            ONNX export), so that the steps after the record chose; else None.
        strength, strength_source: the share (0..1) of the network's change the decode
            kept and why (:class:`hybrid.enhance.taper.KeptShare`: ``recorded``, ``taper``
            or ``given``; for a super-resolution model, ``recorded`` or ``model default``,
            its manifest's share for files that record none for it); None until the
            backend has decided.
    """

    model: str
    reason: str
    content: str | None = None
    screen_probability: float | None = None
    missing: str | None = None
    passed_over: str | None = None
    strength: float | None = None
    strength_source: str | None = None

    def why(self) -> str:
        """The reason in words: ``screen, classified p=0.97`` (p of the chosen class),
        ``photo, recorded``, ``given model``, ``screen, given, enhance-screen-v1 not
        installed``, ``photo, classified p=0.91, recorded enhance-quality-v4 has no ONNX
        export`` ..."""
        if self.content is None:
            return self.reason
        text = f"{self.content}, {self.reason}"
        if self.screen_probability is not None:
            p = self.screen_probability
            text += f" p={p if self.content == 'screen' else 1.0 - p:.2f}"
        if self.missing is not None:
            text += f", {self.missing} not installed"
        if self.passed_over is not None:
            text += f", recorded {self.passed_over} has no ONNX export"
        return text

    def describe(self) -> str:
        """``enhance-screen-v1 (screen, classified p=0.97)``."""
        return f"{self.model} ({self.why()})"


def check_content(content: Any) -> str:
    """``content`` if it is one of :data:`CONTENT_CHOICES`, else :class:`InputError`."""
    if not isinstance(content, str) or content not in CONTENT_CHOICES:
        raise InputError(f"content must be one of {', '.join(CONTENT_CHOICES)}, got {content!r}")
    return content


def recorded_model(meta: HybridMetadata | None) -> str | None:
    """The enhancement model ``meta`` (a file's checked record) names, else None. A downscaled
    file's record names a super-resolution model (its coded image is enhanced with the
    content's model, as :mod:`hybrid.upscale` does), and so may a forged or ignored one: an
    id the registry knows as another task is not taken (it crashed the tiler)."""
    if meta is None or not meta.model_id or meta.mode == "downscaled":
        return None
    entry = load_manifest().get(meta.model_id)
    return meta.model_id if entry is None or entry.task == "enhance" else None


def choose_model(
    meta: HybridMetadata | None,
    planes: JpegPlanes,
    *,
    model: str | None = None,
    weights: str | os.PathLike[str] | None = None,
    content: str = "auto",
    exported: Collection[str] | None = None,
) -> ModelChoice:
    """The enhancement network for a file, in the order of the module docstring.

    Args:
        meta: the file's hybrid record as the header parse checked it
            (``JpegInfo.hybrid_metadata``: None when there is none or it does not describe
            the frame), never the raw APP11 segment.
        planes: the file as the decode read it; classified only for ``content="auto"`` when
            nothing before decides.
        model, weights: the caller's registry id / weights file (None: not named).
        content: ``auto``, ``photo`` or ``screen``.
        exported: the models the backend can run (the onnx backends: the ids in
            ``weights/onnx.json``); a recorded model outside it is passed over. None: any.

    Raises:
        InputError: ``content`` is not one of :data:`CONTENT_CHOICES`.
    """
    check_content(content)
    named = None if weights or model or content != "auto" else recorded_model(meta)
    passed_over = None
    if named is not None and exported is not None and named not in exported:
        named, passed_over = None, named
    if weights:
        choice = ModelChoice(os.path.basename(os.fspath(weights)), "weights file")
    elif model:
        choice = ModelChoice(model, "given model")
    elif content != "auto":
        choice = _for_class(content, "given")
    elif named is not None:
        choice = ModelChoice(named, "recorded model")
    elif meta is not None and meta.content is not None:
        choice = _for_class(meta.content, "recorded")
    else:
        from hybrid.enhance import content as classifier

        guess = classifier.classify_content(planes)
        choice = _for_class(guess.label, "classified", guess.screen_probability)
    if passed_over is not None:
        choice = replace(choice, passed_over=passed_over)
    logger.info("enhanced with %s", choice.describe())
    return choice


def _for_class(content: str, reason: str, screen_probability: float | None = None) -> ModelChoice:
    """The registry's model for ``content``; see the module docstring for the stand-in."""
    model = default_model_for(content, warn=reason != "classified")
    wanted = DEFAULT_CONTENT_MODELS[content]
    missing = wanted if model != wanted else None
    return ModelChoice(model, reason, content, screen_probability, missing)
