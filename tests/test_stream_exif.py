"""EXIF and GPS directories of a TIFF filtered by bands: copied into the output.

tifffile does not write these sub-directories; convcli copies them raw
(:mod:`convcli.images._tiff_ifd`). The references here are independent readers: Pillow's
``getexif().get_ifd`` and tifffile's decoded dictionaries. Files with EXIF small enough to
be read whole take the in-memory path (which keeps them through Pillow); the band path is
forced here for small files.
"""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

import convcli.images._tiff_stream as tiff_stream
from convcli.batch._job import ApplyJob, apply_file
from convcli.filtering import _bands as bands_module
from convcli.images._tiff_ifd import append_ifds, placeholder_tags, read_ifd
from convcli.kernels import load_kernel

tifffile = pytest.importorskip("tifffile")

EXIF = {
    0x9003: "2026:01:02 03:04:05",  # DateTimeOriginal (ASCII)
    0x8827: 400,  # ISOSpeedRatings (SHORT)
    0x829A: 0.004,  # ExposureTime (RATIONAL)
    0x9204: -0.5,  # ExposureBiasValue (SRATIONAL)
    0x927C: b"maker notes\x00" * 9,  # MakerNote (UNDEFINED, out of line)
}
GPS = {1: "N", 2: (52.0, 22.0, 30.5), 6: 12.5}


@pytest.fixture(autouse=True)
def by_bands(monkeypatch):
    """Stream these small files (a TIFF with EXIF is read whole when it fits in memory)."""
    monkeypatch.setattr(tiff_stream, "_read_whole_when_small", lambda page: False)


def pillow_tiff(path, array, orientation=6):
    """A TIFF with IFD0 tags, an EXIF and a GPS directory, written by Pillow."""
    exif = Image.Exif()
    exif[271], exif[272], exif[274] = "Canon", "EOS R5", orientation
    exif.get_ifd(0x8769).update(EXIF)
    exif.get_ifd(0x8825).update(GPS)
    exif[0x8769] = exif[0x8825] = 0  # written from the directories above
    Image.fromarray(array).save(path, exif=exif)  # (libtiff, for compression, drops them)


def rewritten(source, path, byteorder, bigtiff):
    """``source``'s pixels and directories in another byte order or as BigTIFF (the
    directories copied by convcli's own code, checked below by Pillow or tifffile)."""
    with tifffile.TiffFile(source) as tif:
        page = tif.pages[0]
        array = page.asarray()
        subifds = {
            code: tiff_stream._sub_ifd(tif.filehandle, page.tags[code], tif.byteorder, False)
            for code in (34665, 34853)
        }
        tags = [(code, 2, None, page.tags[code].value, True) for code in (271, 272)]
    tifffile.imwrite(
        path,
        array,
        photometric="rgb",
        byteorder=byteorder,
        bigtiff=bigtiff,
        rowsperstrip=16,
        extratags=tags + placeholder_tags(subifds, bigtiff),
    )
    with open(path, "r+b") as stream:
        append_ifds(stream, subifds)


def exif_of(path):
    with Image.open(path) as image:
        exif = image.getexif()
        exif.get_ifd(0x8769), exif.get_ifd(0x8825)  # read while the file is open
        return exif


def sub_dicts(path):
    with tifffile.TiffFile(path) as tif:
        tags = tif.pages[0].tags
        return tags[34665].value, tags[34853].value


def test_exif_and_gps_kept_by_bands(tmp_path):
    array = (np.arange(300 * 200 * 3) % 251).astype(np.uint8).reshape(300, 200, 3)
    src, out = tmp_path / "in.tif", tmp_path / "out.tif"
    pillow_tiff(src, array)
    path = apply_file(str(src), str(out), ApplyJob((load_kernel("gaussian:sigma=1"),)))
    assert path.startswith("TIFF read by bands")
    theirs, ours = exif_of(src), exif_of(out)
    assert dict(ours.get_ifd(0x8769)) == dict(theirs.get_ifd(0x8769)) != {}
    assert dict(ours.get_ifd(0x8825)) == dict(theirs.get_ifd(0x8825)) != {}
    assert ours.get_ifd(0x8769)[0x927C] == EXIF[0x927C]
    assert ours.get_ifd(0x8825)[2] == GPS[2]
    assert {k: ours.get(k) for k in (271, 272, 274)} == {271: "Canon", 272: "EOS R5", 274: 6}
    assert sub_dicts(out) == sub_dicts(src)


@pytest.mark.parametrize(("byteorder", "bigtiff"), [(">", False), ("<", True), (">", True)])
def test_exif_across_byte_orders_and_bigtiff(tmp_path, byteorder, bigtiff):
    array = (np.arange(64 * 40 * 3) % 199).astype(np.uint8).reshape(64, 40, 3)
    pillow_tiff(tmp_path / "pil.tif", array)
    src, out = tmp_path / "in.tif", tmp_path / "out.tif"
    rewritten(tmp_path / "pil.tif", src, byteorder, bigtiff)
    expected = sub_dicts(tmp_path / "pil.tif")
    assert sub_dicts(src) == expected  # the rewritten input is right (tifffile reads it)
    apply_file(str(src), str(out), ApplyJob((load_kernel("box"),)))
    assert sub_dicts(out) == expected
    with tifffile.TiffFile(out) as tif:
        assert tif.is_bigtiff == bigtiff
        assert tif.pages[0].tags[271].value == "Canon"


def test_damaged_directory_is_left_out(tmp_path):
    """A directory pointer beyond the end of the file: no EXIF, no error."""
    array = np.zeros((40, 30, 3), np.uint8)
    src = tmp_path / "in.tif"
    pillow_tiff(src, array)
    with tifffile.TiffFile(src) as tif:
        where = tif.pages[0].tags[34665].valueoffset
    data = bytearray(src.read_bytes())
    data[where : where + 4] = (len(data) + 1000).to_bytes(4, "little")
    src.write_bytes(bytes(data))
    with open(src, "rb") as handle:
        assert read_ifd(handle, len(data) + 1000, "<", False) is None
    out = tmp_path / "out.tif"
    apply_file(str(src), str(out), ApplyJob((load_kernel("box"),)))
    with tifffile.TiffFile(out) as tif:
        assert 34665 not in tif.pages[0].tags
        assert tif.pages[0].tags[34853].value == sub_dicts_gps(tmp_path, array)


def sub_dicts_gps(tmp_path, array):
    pillow_tiff(tmp_path / "ref.tif", array)
    return sub_dicts(tmp_path / "ref.tif")[1]


def test_tiff_to_png_by_bands_keeps_exif_as_in_memory(tmp_path):
    """A TIFF's tags become the PNG's eXIf chunk, the same file as the in-memory path's."""
    array = (np.arange(300 * 200 * 3) % 251).astype(np.uint8).reshape(300, 200, 3)
    src = tmp_path / "in.tif"
    pillow_tiff(src, array, orientation=1)  # upright: both paths keep the pixels as stored
    job = ApplyJob((load_kernel("gaussian:sigma=1"),))
    path = apply_file(str(src), str(tmp_path / "bands.png"), job)
    assert path.startswith("TIFF read by bands")
    with open(src, "rb") as stream:  # read whole: the in-memory path
        assert "read whole" in apply_file(stream, str(tmp_path / "whole.png"), job)
    assert (tmp_path / "bands.png").read_bytes() == (tmp_path / "whole.png").read_bytes()
    exif = exif_of(tmp_path / "bands.png")
    assert exif[271] == "Canon" and dict(exif.get_ifd(0x8769)) == dict(exif_of(src).get_ifd(0x8769))


def test_an_oriented_tiff_is_read_whole_when_it_fits(tmp_path, monkeypatch):
    """Pillow turns a TIFF with Orientation 6 upright; such a file that fits in memory takes
    that path (no EXIF needed), a bigger one streams as stored with the tag kept."""
    monkeypatch.setattr(tiff_stream, "_read_whole_when_small", real_read_whole_when_small)
    array = (np.arange(60 * 40 * 3) % 251).astype(np.uint8).reshape(60, 40, 3)
    src = tmp_path / "in.tif"
    tifffile.imwrite(src, array, photometric="rgb", extratags=[(274, 3, 1, 6, True)])
    job = ApplyJob((load_kernel("box"),))
    assert "read whole" in apply_file(str(src), str(tmp_path / "whole.tif"), job)
    with Image.open(tmp_path / "whole.tif") as image:
        assert image.size == (60, 40)  # upright: 60 wide
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 1000)  # "too big to read whole"
    monkeypatch.setattr(bands_module, "BAND_SAMPLES", 20 * 40 * 3)  # several bands
    path = apply_file(str(src), str(tmp_path / "bands.tif"), job)
    assert path.startswith("TIFF read by bands")
    with tifffile.TiffFile(tmp_path / "bands.tif") as tif:
        assert tif.pages[0].shape == (60, 40, 3) and tif.pages[0].tags[274].value == 6


real_read_whole_when_small = tiff_stream._read_whole_when_small
