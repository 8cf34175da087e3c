"""fastconv.datasets: the embedded digits and the IDX reader, on IDX files written here."""
from __future__ import annotations

import gzip

import numpy as np
import pytest

from fastconv import datasets


def test_digits_split_is_fixed_stratified_and_disjoint():
    train, test = datasets.load("digits")
    assert len(train) + len(test) == 1797 and len(test) == 359
    assert train.images.shape[1:] == (1, 8, 8) and train.images.dtype == np.float32
    assert train.labels.dtype == np.int64 and train.num_classes == 10
    assert 0 <= train.images.min() and train.images.max() == 1
    per_class = np.bincount(test.labels) / np.bincount(np.concatenate([train.labels, test.labels]))
    assert np.all(np.abs(per_class - 0.2) < 0.01)
    again, _ = datasets.load_digits()
    np.testing.assert_array_equal(again.images, train.images)
    np.testing.assert_array_equal(again.labels, train.labels)
    rows = {x.tobytes() + bytes([y]) for x, y in zip(train.images, train.labels)}
    assert sum(x.tobytes() + bytes([y]) in rows for x, y in zip(test.images, test.labels)) < 5


def test_batches_cover_the_data_once():
    train, _ = datasets.load_digits()
    seen = np.concatenate([y for _, y in train.batches(100, np.random.default_rng(0))])
    assert len(seen) == len(train)
    np.testing.assert_array_equal(np.sort(seen), np.sort(train.labels))


def idx_bytes(array: np.ndarray, code: int) -> bytes:
    header = bytes([0, 0, code, array.ndim]) + np.asarray(array.shape, ">u4").tobytes()
    return header + array.astype(datasets.IDX_DTYPES[code]).tobytes()


def write_mnist_folder(folder, compress, n_train=6, n_test=4, size=5):
    rng = np.random.default_rng(0)
    arrays = {"train_images": rng.integers(0, 256, (n_train, size, size), dtype=np.uint8),
              "train_labels": rng.integers(0, 10, n_train, dtype=np.uint8),
              "test_images": rng.integers(0, 256, (n_test, size, size), dtype=np.uint8),
              "test_labels": rng.integers(0, 10, n_test, dtype=np.uint8)}
    for key, stem in datasets.IDX_FILES.items():
        data = idx_bytes(arrays[key], 0x08)
        if compress:
            (folder / (stem + ".gz")).write_bytes(gzip.compress(data))
        else:
            (folder / stem).write_bytes(data)
    return arrays


@pytest.mark.parametrize("compress", [False, True], ids=["plain", "gz"])
def test_idx_folder_round_trip(tmp_path, compress):
    arrays = write_mnist_folder(tmp_path, compress)
    train, test = datasets.load(str(tmp_path))
    assert train.images.shape == (6, 1, 5, 5) and test.images.shape == (4, 1, 5, 5)
    np.testing.assert_allclose(train.images[:, 0] * 255, arrays["train_images"], atol=1e-4)
    np.testing.assert_array_equal(test.labels, arrays["test_labels"])


@pytest.mark.parametrize("code", sorted(datasets.IDX_DTYPES))
def test_read_idx_every_element_type(tmp_path, code):
    array = np.arange(24).reshape(2, 3, 4) - 5 * (code != 0x08)
    path = tmp_path / "x.idx"
    path.write_bytes(idx_bytes(array, code))
    got = datasets.read_idx(path)
    assert got.shape == (2, 3, 4) and got.dtype.isnative
    np.testing.assert_array_equal(got, array)


def test_missing_file_is_named(tmp_path):
    write_mnist_folder(tmp_path, compress=False)
    (tmp_path / "t10k-labels-idx1-ubyte").unlink()
    with pytest.raises(FileNotFoundError, match="t10k-labels-idx1-ubyte"):
        datasets.load(str(tmp_path))
    with pytest.raises(FileNotFoundError, match="neither 'digits' nor an existing folder"):
        datasets.load(str(tmp_path / "nowhere"))


@pytest.mark.parametrize("damage,match", [
    (lambda b: b[:-7], "truncated"),
    (lambda b: b[:6], "truncated IDX header"),
    (lambda b: b + b"\0", "longer than its header"),
    (lambda b: b"\x12\x34" + b[2:], "not an IDX file"),
    (lambda b: b[:2] + b"\x07" + b[3:], "not an IDX file"),
    (lambda b: b"", "not an IDX file"),
])
def test_damaged_idx_files_raise(tmp_path, damage, match):
    path = tmp_path / "train-images-idx3-ubyte"
    path.write_bytes(damage(idx_bytes(np.zeros((3, 4, 4), np.uint8), 0x08)))
    with pytest.raises(ValueError, match=match):
        datasets.read_idx(path)


def test_truncated_gzip_raises(tmp_path):
    path = tmp_path / "x.gz"
    path.write_bytes(gzip.compress(idx_bytes(np.zeros((30, 8, 8), np.uint8), 0x08))[:-10])
    with pytest.raises(ValueError, match="damaged or truncated"):
        datasets.read_idx(path)
