"""The traditional half of hybrid: a standard JPEG encoder and coefficient reader.

One module per stage: ``color`` (JFIF colour transform), ``sampling`` (chroma
down/upsampling), ``dct``, ``quant`` (tables, IJG scaling), ``rdo`` (trellis
quantization), ``huffman``, ``bitstream``, ``scans`` (baseline/progressive scan coding),
``markers`` (segments), ``metadata`` (hybrid APPn), ``reader`` (coefficients of any JPEG).
"""
