"""PNG without Pillow where Pillow loses data or speed: the chunk toolkit (``_chunks``:
signature, chunk reading and writing, metadata chunks, 16-bit decode) and the codec
(``_codec``: row filters and deflate in pieces, decoding)."""
