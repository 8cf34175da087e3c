"""The lecture's worked examples, as tests."""
import numpy as np
import pytest

import fastconv as fc
from fastconv import shapes

BACKENDS = ["reference", "numba"] + (["cpp"] if "cpp" in fc.info()["backends"] else [])


@pytest.mark.parametrize("backend", BACKENDS)
def test_binary_image_with_x_filter(backend):
    image = np.array([[1, 1, 1, 0, 0],
                      [0, 1, 1, 1, 0],
                      [0, 0, 1, 1, 1],
                      [0, 0, 1, 1, 0],
                      [0, 1, 1, 0, 0]], dtype=np.float32)
    x_filter = np.array([[1, 0, 1],
                         [0, 1, 0],
                         [1, 0, 1]], dtype=np.float32)
    y = fc.conv2d(image[None, None], x_filter[None, None], backend=backend)
    np.testing.assert_array_equal(y[0, 0], [[4, 3, 4], [2, 4, 3], [2, 3, 4]])


@pytest.mark.parametrize("backend", BACKENDS)
def test_max_pooling_2x2_stride_2(backend):
    x = np.array([[1, 2, 6, 3], [3, 5, 2, 1], [1, 2, 2, 1], [7, 3, 4, 8]], dtype=np.float32)
    y = fc.max_pool2d(x[None, None], 2, 2, backend=backend)
    np.testing.assert_array_equal(y[0, 0], [[5, 6], [7, 8]])


def test_shapes_of_the_lecture():
    # 720x1280x3 image, six 3x3 filters, stride 1, no padding
    layer = shapes.conv_layer(720, 1280, 3, filters=6, kernel=3)
    assert (layer.height, layer.width, layer.channels, layer.filter_depth) == (718, 1278, 6, 3)
    # ten 3x3 filters with padding 1: same size, 270 weights
    layer = shapes.conv_layer(720, 1280, 3, filters=10, kernel=3, padding=1)
    assert (layer.height, layer.width, layer.channels, layer.weights) == (720, 1280, 10, 270)
    # five 1x1 filters on that: depth 10
    layer = shapes.conv_layer(720, 1280, 10, filters=5, kernel=1)
    assert (layer.height, layer.width, layer.channels, layer.filter_depth) == (720, 1280, 5, 10)
    # 2x2 max pooling, stride 2
    pool = shapes.pool_layer(720, 1280, 10, kernel=2, stride=2)
    assert (pool.height, pool.width, pool.channels) == (360, 640, 10)
    # ten 5x5 filters, stride 1, pad 2 on 32x32x3: 32x32x10 and 760 parameters
    layer = shapes.conv_layer(32, 32, 3, filters=10, kernel=5, stride=1, padding=2)
    assert (layer.height, layer.width, layer.channels, layer.parameters) == (32, 32, 10, 760)
    # 3x3 with stride 3 on 7x7 does not fit
    assert not shapes.fits(7, kernel=3, stride=3)
    assert not shapes.conv_layer(7, 7, 1, filters=1, kernel=3, stride=3).fits
    assert shapes.fits(7, kernel=3, stride=2) and shapes.fits(7, kernel=3, stride=1)


def test_output_size_formula():
    # (N - F + 2P) / S + 1
    assert shapes.conv_output_size(7, 3, stride=1) == 5
    assert shapes.conv_output_size(7, 3, stride=2) == 3
    assert shapes.conv_output_size(32, 5, stride=1, padding=2) == 32
    assert shapes.conv_transpose_output_size(4, 4, stride=2, padding=1) == 8
    assert shapes.pool_output_size(5, 2, 2, ceil_mode=True) == 3
    assert shapes.pool_output_size(5, 2, 2) == 2
    assert shapes.conv2d_parameter_count(3, 10, 3) == 280
    assert shapes.conv2d_weight_count(3, 10, 3) == 270
