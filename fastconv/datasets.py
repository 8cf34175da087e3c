"""Image classification data for fastconv.nn: the embedded handwritten digits and IDX files.

    train, test = fastconv.datasets.load("digits")        # 1,437 / 360 images, 1x8x8
    train, test = fastconv.datasets.load("~/data/mnist")  # a folder of MNIST/Fashion IDX files

Images come as float32 (N, 1, H, W) in [0, 1], labels as int64 (N,).

The digits are the 1,797 8x8 images that scikit-learn ships as `load_digits` (the test set of
the UCI "Optical Recognition of Handwritten Digits" data, E. Alpaydin and C. Kaynak, 1998,
CC BY 4.0), stored in fastconv/data/digits.npz as uint8 counts 0..16 so that no download or
scikit-learn is needed. Their train/test split is fixed (stratified, seed 0, 20% test) and
does not depend on the training seed, so accuracies are comparable between runs.
"""
from __future__ import annotations

import gzip
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

__all__ = ["Dataset", "load", "load_digits", "load_idx_folder", "read_idx", "IDX_FILES"]

DIGITS_PATH = Path(__file__).parent / "data" / "digits.npz"
DIGITS_SPLIT_SEED = 0
DIGITS_TEST_FRACTION = 0.2

# IDX element types: the third byte of the magic number
IDX_DTYPES = {0x08: np.dtype("u1"), 0x09: np.dtype("i1"), 0x0B: np.dtype(">i2"),
              0x0C: np.dtype(">i4"), 0x0D: np.dtype(">f4"), 0x0E: np.dtype(">f8")}
# the names MNIST and Fashion-MNIST are distributed under (also accepted with '.' before idx)
IDX_FILES = {"train_images": "train-images-idx3-ubyte", "train_labels": "train-labels-idx1-ubyte",
             "test_images": "t10k-images-idx3-ubyte", "test_labels": "t10k-labels-idx1-ubyte"}


@dataclass
class Dataset:
    images: np.ndarray      # float32 (N, 1, H, W) in [0, 1]
    labels: np.ndarray      # int64 (N,)
    name: str = ""

    def __post_init__(self):
        if len(self.images) != len(self.labels):
            raise ValueError(f"Dataset: {len(self.images)} images but {len(self.labels)} labels")

    def __len__(self) -> int:
        return len(self.labels)

    @property
    def num_classes(self) -> int:
        return int(self.labels.max()) + 1 if len(self.labels) else 0

    def batches(self, batch_size: int, rng: np.random.Generator | None = None):
        """(images, labels) batches; shuffled when rng is given. The last batch may be short."""
        order = rng.permutation(len(self)) if rng is not None else np.arange(len(self))
        for start in range(0, len(self), batch_size):
            idx = order[start:start + batch_size]
            yield self.images[idx], self.labels[idx]


def load(data: str = "digits"):
    """(train, test): 'digits' for the embedded digits, else a folder of IDX files."""
    if data == "digits":
        return load_digits()
    return load_idx_folder(data)


def load_digits():
    """The embedded 8x8 digits as (train, test) with the fixed stratified split."""
    with np.load(DIGITS_PATH) as f:
        images, labels = f["images"], f["labels"].astype(np.int64)
    rng = np.random.default_rng(DIGITS_SPLIT_SEED)
    test = np.zeros(len(labels), bool)
    for c in np.unique(labels):
        members = rng.permutation(np.flatnonzero(labels == c))
        test[members[:round(DIGITS_TEST_FRACTION * len(members))]] = True
    x = (images.astype(np.float32) / 16)[:, None]
    return (Dataset(x[~test], labels[~test], "digits-train"),
            Dataset(x[test], labels[test], "digits-test"))


def read_idx(path) -> np.ndarray:
    """Reads one IDX file (plain or .gz): magic 0x0000TTDD (TT element type, DD dimensions),
    DD big-endian uint32 sizes, then the elements. Raises ValueError for a wrong magic number
    or a truncated file."""
    path = Path(path)
    opener = gzip.open if path.suffix == ".gz" else open
    try:
        with opener(path, "rb") as f:
            raw = f.read()
    except (EOFError, gzip.BadGzipFile, OSError) as exc:
        if isinstance(exc, FileNotFoundError):
            raise
        raise ValueError(f"{path}: cannot read the gzip stream ({exc}); the file is damaged or "
                         f"truncated") from exc
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] not in IDX_DTYPES or raw[3] == 0:
        raise ValueError(f"{path}: not an IDX file (magic number {raw[:4].hex() or 'missing'}; "
                         f"expected 0000TTDD with element type TT in "
                         f"{[f'{t:02x}' for t in IDX_DTYPES]} and DD >= 1 dimensions)")
    dtype, ndim = IDX_DTYPES[raw[2]], raw[3]
    header = 4 + 4 * ndim
    if len(raw) < header:
        raise ValueError(f"{path}: truncated IDX header ({len(raw)} bytes, need {header})")
    shape = tuple(int(d) for d in np.frombuffer(raw, ">u4", ndim, 4))
    expected = header + int(np.prod(shape)) * dtype.itemsize
    if len(raw) != expected:
        kind = "truncated" if len(raw) < expected else "longer than its header says"
        raise ValueError(f"{path}: {kind}: shape {list(shape)} needs {expected} bytes, file has "
                         f"{len(raw)}")
    return np.frombuffer(raw, dtype, offset=header).reshape(shape).astype(dtype.newbyteorder("="))


def _find_idx(folder: Path, stem: str) -> Path:
    candidates = [stem, stem.replace("-idx", ".idx")]
    for name in candidates:
        for suffix in ("", ".gz"):
            if (folder / (name + suffix)).is_file():
                return folder / (name + suffix)
    raise FileNotFoundError(f"{folder}: no file {stem} (also tried {candidates[1]} and .gz); "
                            f"an MNIST-style folder holds {sorted(IDX_FILES.values())} "
                            f"(each plain or .gz)")


def load_idx_folder(folder):
    """(train, test) from the four MNIST/Fashion-MNIST IDX files in `folder`."""
    folder = Path(os.path.expanduser(str(folder)))
    if not folder.is_dir():
        raise FileNotFoundError(f"--data: '{folder}' is neither 'digits' nor an existing folder "
                                f"of IDX files")
    arrays = {key: read_idx(_find_idx(folder, stem)) for key, stem in IDX_FILES.items()}
    out = []
    for split in ("train", "test"):
        images, labels = arrays[f"{split}_images"], arrays[f"{split}_labels"]
        if images.ndim != 3 or labels.ndim != 1 or len(images) != len(labels):
            raise ValueError(f"{folder}: {split} images {images.shape} and labels {labels.shape} "
                             f"do not form (N, H, W) images with N labels")
        scale = 255.0 if images.dtype == np.uint8 else max(float(images.max()), 1.0)
        out.append(Dataset((images.astype(np.float32) / scale)[:, None],
                           labels.astype(np.int64), f"{folder.name}-{split}"))
    return tuple(out)
