"""Measurement: image-quality metrics, Bjøntegaard deltas, peer codecs, reports."""
