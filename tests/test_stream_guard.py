"""Big images through ``apply``: what goes wrong, and what it costs.

Damaged strips and hostile headers (one ``Error:`` line, no output), Ctrl-C mid-stream,
the progress line on a terminal, and the memory bound of an 8192x8192 image streamed in a
process with a limited address space.
"""

from __future__ import annotations

import io

import numpy as np
import pytest
from click.testing import CliRunner
from stream_helpers import interrupt_rows, run_bounded
from test_stream_tiff import run, small_bands, smooth  # noqa: F401  (small_bands: autouse)

from convcli import filter_image
from convcli.cli import main
from convcli.cli._progress import RowProgress
from convcli.images._tiff_stream import open_tiff_rows

tifffile = pytest.importorskip("tifffile")

# --- damaged and hostile files --------------------------------------------------------


def damaged_strip_tiff(path):
    array = smooth((400, 64, 3), np.uint8)
    tifffile.imwrite(path, array, photometric="rgb", compression="zlib", rowsperstrip=16)
    with tifffile.TiffFile(path) as tif:
        offsets, counts = tif.pages[0].dataoffsets, tif.pages[0].databytecounts
    data = bytearray(path.read_bytes())
    middle = len(offsets) // 2
    data[offsets[middle] : offsets[middle] + counts[middle]] = b"\xff" * counts[middle]
    path.write_bytes(bytes(data))
    return middle * 16


@pytest.mark.parametrize("output", ["out.tif", "out.png"])
def test_damaged_strip_mid_file(tmp_path, output):
    src = tmp_path / "in.tif"
    row = damaged_strip_tiff(src)
    result = CliRunner().invoke(
        main, ["apply", "-k", "box", str(src), str(tmp_path / output)], prog_name="convcli"
    )
    assert result.exit_code == 1
    lines = result.output.strip().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith(f"Error: cannot read {src}: truncated or corrupt image data (rows ")
    assert lines[0].endswith("; re-export or re-download it")
    first = int(lines[0].split("(rows ")[1].split("-")[0])
    assert first <= row
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.tif"]  # no output, no temporary


def _set_size(path, width, height):
    """Rewrite ImageWidth and ImageLength in place (LONG values in the first IFD)."""
    data = bytearray(path.read_bytes())
    with tifffile.TiffFile(path) as tif:
        tags = tif.pages[0].tags
        for code, value in ((256, width), (257, height)):
            tag = tags[code]
            assert tag.dtype == 4  # LONG
            data[tag.valueoffset : tag.valueoffset + 4] = int(value).to_bytes(4, "little")
    path.write_bytes(bytes(data))


def test_hostile_dimensions_refused_from_the_header(tmp_path):
    src = tmp_path / "bomb.tif"
    tifffile.imwrite(src, np.zeros((16, 16), np.uint8), compression="zlib", rowsperstrip=16)
    _set_size(src, 200_000, 200_000)  # 40 GB declared in ~30 bytes of deflate
    result = CliRunner().invoke(main, ["apply", "-k", "box", str(src), str(tmp_path / "o.tif")])
    assert result.exit_code == 1
    assert result.output.startswith(
        f"Error: cannot read {src}: it declares 200000x200000 pixels (40000000000 bytes decoded) "
        "but stores only "
    )
    assert "more than its compression can expand" in result.output
    assert "give --max-pixels" in result.output
    assert not (tmp_path / "o.tif").exists()


def test_strips_beyond_the_end_refused(tmp_path):
    src = tmp_path / "cut.tif"
    tifffile.imwrite(src, smooth((300, 64), np.uint8), rowsperstrip=32)
    data = src.read_bytes()
    with tifffile.TiffFile(src) as tif:
        last = int(tif.pages[0].dataoffsets[-1])
    if last < 500:
        pytest.skip("tifffile wrote the IFD after the data")
    src.write_bytes(data[: last + 10])
    result = CliRunner().invoke(main, ["apply", "-k", "box", str(src), str(tmp_path / "o.tif")])
    assert result.exit_code == 1
    assert "its strips or tiles lie beyond the end of the file" in result.output


def test_max_pixels_is_a_plain_limit_when_given(tmp_path):
    src = tmp_path / "in.tif"
    tifffile.imwrite(src, smooth((300, 64), np.uint8))
    result = CliRunner().invoke(
        main, ["apply", "-k", "box", "--max-pixels", "1000", str(src), str(tmp_path / "o.tif")]
    )
    assert result.exit_code == 1
    assert "it has 19200 pixels, more than the limit of 1000" in result.output
    ok = CliRunner().invoke(
        main, ["apply", "-k", "box", "--max-pixels", "19200", str(src), str(tmp_path / "o.tif")]
    )
    assert ok.exit_code == 0


def test_interrupted_stream_leaves_nothing(tmp_path, monkeypatch):
    """Ctrl-C while bands are written: the temporary is removed, no output appears."""
    src = tmp_path / "in.tif"
    tifffile.imwrite(src, smooth((400, 64, 3), np.uint8), photometric="rgb", rowsperstrip=16)
    from convcli.images import _tiff_stream

    interrupt_rows(monkeypatch, _tiff_stream.TiffRows)
    with pytest.raises(KeyboardInterrupt):
        run(src, tmp_path / "out.tif")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.tif"]


# --- progress ---------------------------------------------------------------------------


class FakeTTY(io.StringIO):
    def isatty(self):
        return True


def test_row_progress_on_a_terminal():
    times = iter([0.0, 0.5, 2.0, 4.0, 4.05, 6.0])
    stream = FakeTTY()
    with RowProgress(stream=stream, clock=lambda: next(times)) as progress:
        progress.update(100, 1000)  # t=0.5: under a second, nothing
        progress.update(400, 1000)  # t=2: 200 rows/s, 3 s left
        progress.update(500, 1000)  # t=4: shown
        progress.update(600, 1000)  # t=4.05: too soon, skipped
        progress.update(1000, 1000)  # t=6: the end is always shown
    text = stream.getvalue()
    assert "rows 100/1000" not in text
    assert "rows 400/1000  200 rows/s  ETA 0:03" in text
    assert "rows 600/1000" not in text
    assert "rows 1000/1000" in text and text.endswith("\n")


def test_row_progress_silent_off_terminal_and_quiet():
    stream = io.StringIO()
    with RowProgress(stream=stream, clock=iter([0.0, 5.0]).__next__) as progress:
        progress.update(1, 2)
    assert stream.getvalue() == ""
    stream = FakeTTY()
    with RowProgress(stream=stream, quiet=True, clock=iter([0.0, 5.0]).__next__) as progress:
        progress.update(1, 2)
    assert stream.getvalue() == ""


# --- memory -----------------------------------------------------------------------------


def test_streamed_8192_square_in_bounded_address_space(tmp_path):
    """8192x8192 16-bit RGB: 384 MiB decoded, 768 MiB as floats. Streamed, the whole
    process (Python, NumPy, SciPy, codecs included) fits in an address space of 320 MiB."""
    side = 8192
    src = tmp_path / "big.tif"
    row = smooth((64, side, 3), np.uint16)

    def strips():
        for _ in range(side // 64):
            yield row

    tifffile.imwrite(
        src, strips(), shape=(side, side, 3), dtype=np.uint16, photometric="rgb", rowsperstrip=64
    )
    limit = 320 * 2**20
    args = ["apply", "-k", "box:size=3", "--compression", "none", src, tmp_path / "out.tif"]
    done = run_bounded(args, limit)
    assert done.returncode == 0, done.stderr
    with open_tiff_rows(tmp_path / "out.tif", "out") as result:
        assert (result.height, result.width, result.channels) == (side, side, 3)
        out = result.rows(100, 164)  # rows 100-164: the input repeats every 64 rows
    source = np.concatenate([row] * 4)[36:228]
    np.testing.assert_array_equal(out, filter_image(source, "box:size=3")[64:128])
    assert limit < side * side * 3 * 4  # the in-memory path's float copy alone would not fit
