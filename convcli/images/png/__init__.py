"""PNG without Pillow where Pillow loses data or speed: the chunk toolkit (``_chunks``:
signature, chunk reading and writing, metadata chunks, 16-bit decode), the codec
(``_codec``: row filters and deflate in pieces, decoding), the writer by bands (``_stream``)
and the reader by bands (``_rows``: IDAT inflated as needed, rows unfiltered by libpng)."""
