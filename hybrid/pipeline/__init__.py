"""The pipeline between the codec and the learned half, below rate control and the API
(docs/architecture.md):

- :mod:`~hybrid.pipeline.requests`: :class:`DecodeRequest` and :class:`EncodeRequest`, the
  frozen, checked keywords of a decode and of an encode;
- :mod:`~hybrid.pipeline.pixels`: the decodes of one file at its coded size (plain,
  enhanced), its damage check, image <-> array;
- :mod:`~hybrid.pipeline.upscale`: decodes at another size (downscaled files, ``scale``);
- :mod:`~hybrid.pipeline.decode`: the decode engine (read once, parse once, then the above);
- :mod:`~hybrid.pipeline.encode`: the source loaded for an encode, and the full-size encode.

The encoder's file step (:func:`hybrid.downscaled.encode_frame_file`) is a layer below.
"""
