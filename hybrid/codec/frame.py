"""Plain values passed between codec stages: what an encoded JPEG frame holds.

Data flows one way: pixels -> (color, sampling, dct, quant/rdo) -> :class:`Frame`
-> (huffman, scans, markers) -> bytes, and bytes -> reader -> :class:`Frame`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass(frozen=True)
class Component:
    """One colour component of a frame.

    Attributes:
        ident: component identifier written in SOF/SOS (JFIF: 1=Y, 2=Cb, 3=Cr).
        h_samp, v_samp: sampling factors 1..4 (T.81 A.1.1).
        quant_index: index (0..3) of the quantization table this component uses.
        coeffs: int16 array (blocks_v, blocks_h, 8, 8), quantized DCT coefficients in natural
            (not zig-zag) order. Either exactly libjpeg's ``ceil(component_size / 8)`` blocks
            (what the reader returns), or a grid padded to whole MCUs (what the encoder
            produces). Padding blocks are libjpeg's dummy blocks: AC = 0 and the DC of the
            block coded just before them; the writer adds them when given the former.
    """

    ident: int
    h_samp: int
    v_samp: int
    quant_index: int
    coeffs: np.ndarray


@dataclass(frozen=True)
class Frame:
    """A whole JPEG frame at the coefficient level.

    Attributes:
        width, height: image size in pixels (1..65535).
        components: 1 (greyscale) or 3 (YCbCr) components, in SOF order.
        quant_tables: mapping table index -> uint16 array (8, 8) in natural order, values 1..65535
            (values > 255 force 16-bit DQT precision).
    """

    width: int
    height: int
    components: tuple[Component, ...]
    quant_tables: dict[int, np.ndarray] = field(default_factory=dict)

    @property
    def max_h_samp(self) -> int:
        return max(c.h_samp for c in self.components)

    @property
    def max_v_samp(self) -> int:
        return max(c.v_samp for c in self.components)

    @property
    def mcus_x(self) -> int:
        """Number of MCU columns of an interleaved scan."""
        return -(-self.width // (8 * self.max_h_samp))

    @property
    def mcus_y(self) -> int:
        """Number of MCU rows of an interleaved scan."""
        return -(-self.height // (8 * self.max_v_samp))

    def component_size(self, c: Component) -> tuple[int, int]:
        """(height, width) in samples of component ``c`` (T.81 A.1.1: ceil(X * Hi / Hmax))."""
        h = -(-self.height * c.v_samp // self.max_v_samp)
        w = -(-self.width * c.h_samp // self.max_h_samp)
        return h, w


@dataclass(frozen=True)
class ScanSpec:
    """One scan of a progressive (or sequential) script, as in T.81 G.1.1 / libjpeg scripts.

    Attributes:
        component_indices: indices into ``Frame.components`` coded in this scan (DC scans may
            interleave several; AC scans of a progressive frame hold exactly one).
        ss, se: spectral selection start/end (0..63, zig-zag positions).
        ah, al: successive approximation high/low bit positions.
    """

    component_indices: tuple[int, ...]
    ss: int = 0
    se: int = 63
    ah: int = 0
    al: int = 0
