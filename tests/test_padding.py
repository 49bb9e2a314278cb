"""The one padding implementation against NumPy's np.pad (an independent reference)."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from convcli.choices import PADDING_MODES
from convcli.engine import pad_spatial, same_pads

NUMPY_NAME = {
    "zeros": "constant",
    "reflect": "reflect",
    "replicate": "edge",
    "circular": "wrap",
    "symmetric": "symmetric",
}


def test_every_mode_has_a_numpy_reference():
    assert set(NUMPY_NAME) == set(PADDING_MODES)


@settings(max_examples=150, deadline=None)
@given(
    h=st.integers(1, 6),
    w=st.integers(1, 6),
    pads=st.tuples(*[st.integers(0, 14)] * 4),
    mode=st.sampled_from(PADDING_MODES),
)
def test_pad_spatial_equals_numpy_pad(h, w, pads, mode):
    x = np.random.default_rng(h * 7 + w).random((2, h, w))
    top, bottom, left, right = pads
    want = np.pad(x, [(0, 0), (top, bottom), (left, right)], mode=NUMPY_NAME[mode])
    np.testing.assert_array_equal(pad_spatial(x, pads, mode), want)


def test_same_pads_put_the_extra_row_at_the_bottom_right_as_pytorch():
    assert same_pads((3, 4), (1, 1)) == (1, 1, 1, 2)
    assert same_pads((2, 5), (3, 2)) == (1, 2, 4, 4)
