"""Training loops behind `fastconv train cnn` and `fastconv train gan`.

    result = fastconv.train.train_cnn(epochs=15, out="runs/cnn")     # test accuracy, timings
    result = fastconv.train.train_gan(epochs=100, out="runs/gan", cnn="runs/cnn/cnn.npz")

Same seed, same result: `seed` fixes parameter initialisation, dropout, batch order,
augmentation and the generator's noise. The digits' train/test split is fixed separately
(fastconv.datasets). Plots need matplotlib and progress bars tqdm (`pip install fastconv[train]`).
"""
from __future__ import annotations

import contextlib
import functools
import json
import math
import time
from pathlib import Path

import numpy as np

from . import datasets, models, nn, optim

__all__ = ["train_cnn", "train_gan", "evaluate", "score_samples"]


def _require(module: str):
    import importlib
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise ImportError(f"fastconv train needs {module.split('.')[0]} for this; install it with "
                          f"pip install 'fastconv[train]'") from exc


def _one_blas_thread(fn):
    """Runs fn with NumPy's BLAS on one thread (via threadpoolctl, when installed): the
    Linear layers' small matrix products gain nothing from BLAS threads, and those threads
    fight fastconv's OpenMP pool for the cores (a 32x256x128 product took 8 ms instead of
    0.02 ms after a convolution on 2 cores)."""
    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            from threadpoolctl import threadpool_limits
            limit = threadpool_limits(1, user_api="blas")
        except ImportError:
            limit = contextlib.nullcontext()
        with limit:
            return fn(*args, **kwargs)
    return wrapper


def _progress(iterable, total, desc, enabled):
    if not enabled:
        return iterable
    return _require("tqdm").tqdm(iterable, total=total, desc=desc, leave=False, dynamic_ncols=True)


def _shift(images, rng, max_shift=1):
    """Random translations by up to max_shift pixels (zero fill): cheap augmentation that
    makes a small digits CNN generalise past 98%."""
    n, _, h, w = images.shape
    padded = np.pad(images, ((0, 0), (0, 0), (max_shift, max_shift), (max_shift, max_shift)))
    dy, dx = rng.integers(0, 2 * max_shift + 1, (2, n))
    rows = dy[:, None] + np.arange(h)
    cols = dx[:, None] + np.arange(w)
    return padded[np.arange(n)[:, None, None, None], np.arange(images.shape[1])[None, :, None, None],
                  rows[:, None, :, None], cols[:, None, None, :]]


def _load(data):
    """'digits', a folder of IDX files, or an already loaded (train, test) pair of Datasets."""
    return tuple(data) if isinstance(data, (tuple, list)) else datasets.load(data)


def _check_settings(epochs, batch_size, lr):
    for name, value in (("epochs", epochs), ("batch_size", batch_size)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"{name} must be a positive int, got {value!r}")
    if not lr > 0:
        raise ValueError(f"lr must be positive, got {lr!r}")


def evaluate(model, data, batch_size=256):
    """(accuracy, predicted labels, class probabilities) in eval mode."""
    model.eval()
    logits = np.concatenate([model(x) for x, _ in data.batches(batch_size)])
    probs = np.exp(logits - logits.max(axis=1, keepdims=True))
    probs /= probs.sum(axis=1, keepdims=True)
    pred = probs.argmax(axis=1)
    return float((pred == data.labels).mean()), pred, probs


@_one_blas_thread
def train_cnn(data="digits", epochs=20, batch_size=32, lr=2e-3, seed=0, out=None, progress=True,
              augment=True, log=print):
    """Trains models.digits_cnn with Adam and a cosine learning-rate decay; returns a dict of
    the history (per-epoch loss, accuracies, seconds), test accuracy and the model."""
    _check_settings(epochs, batch_size, lr)
    nn.manual_seed(seed)
    rng = np.random.default_rng(seed)
    train, test = _load(data)
    model = models.digits_cnn(num_classes=train.num_classes, image_size=train.images.shape[-1])
    opt = optim.Adam(model.parameters(), lr=lr)
    criterion = nn.CrossEntropyLoss()
    steps_per_epoch = math.ceil(len(train) / batch_size)
    total_steps, step = epochs * steps_per_epoch, 0
    history = {"train_loss": [], "train_acc": [], "test_acc": [], "epoch_seconds": []}
    for epoch in range(1, epochs + 1):
        model.train()
        started, losses, correct = time.perf_counter(), [], 0
        bar = _progress(train.batches(batch_size, rng), steps_per_epoch, f"epoch {epoch}/{epochs}",
                        progress)
        for x, y in bar:
            opt.lr = lr * 0.5 * (1 + math.cos(math.pi * step / total_steps))
            if augment:
                x = _shift(x, rng)
            logits = model(x)
            loss = criterion(logits, y)
            model.zero_grad()
            model.backward(criterion.backward())
            opt.step()
            step += 1
            losses.append(loss)
            correct += int((logits.argmax(axis=1) == y).sum())
            if progress:
                bar.set_postfix(loss=f"{loss:.3f}", acc=f"{correct / (len(losses) * batch_size):.3f}")
        seconds = time.perf_counter() - started
        test_acc = evaluate(model, test)[0]
        history["train_loss"].append(float(np.mean(losses)))
        history["train_acc"].append(correct / len(train))
        history["test_acc"].append(test_acc)
        history["epoch_seconds"].append(seconds)
        if log:
            log(f"epoch {epoch:3d}  loss {history['train_loss'][-1]:.4f}  train acc "
                f"{history['train_acc'][-1]:.4f}  test acc {test_acc:.4f}  {seconds:.2f} s/epoch")
    test_acc, pred, _ = evaluate(model, test)
    result = {"test_accuracy": test_acc, "train_seconds": float(sum(history["epoch_seconds"])),
              "seconds_per_epoch": float(np.mean(history["epoch_seconds"])), "epochs": epochs,
              "seed": seed, "data": data if isinstance(data, str) else "datasets", "history": history}
    if log:
        log(f"test accuracy {test_acc:.4f} on {len(test)} images; {result['train_seconds']:.1f} s "
            f"training, {result['seconds_per_epoch']:.2f} s/epoch")
    if out is not None:
        out = Path(out)
        out.mkdir(parents=True, exist_ok=True)
        model.save(out / "cnn.npz")
        (out / "cnn.json").write_text(json.dumps(result, indent=2))
        _plot_cnn(history, out / "cnn_curves.png")
        _plot_confusion(test.labels, pred, train.num_classes, out / "cnn_confusion.png")
        if log:
            log(f"saved {out / 'cnn.npz'}, cnn.json, cnn_curves.png, cnn_confusion.png")
    result["model"] = model
    return result


def load_cnn(path, num_classes=10, image_size=8):
    return models.digits_cnn(num_classes, image_size).load(path).eval()


def score_samples(cnn, images, num_classes=10):
    """How recognisable generated digits are: the CNN's mean top-class probability and the
    share of samples per predicted class (images in [-1, 1], as the generator draws them)."""
    x = ((images + 1) / 2).astype(np.float32)
    acc, pred, probs = evaluate(cnn, datasets.Dataset(x, np.zeros(len(x), np.int64)))
    histogram = np.bincount(pred, minlength=num_classes) / len(pred)
    return {"mean_top_probability": float(probs.max(axis=1).mean()),
            "class_fractions": [float(f) for f in histogram], "samples": len(x)}


@_one_blas_thread
def train_gan(data="digits", epochs=100, batch_size=64, lr=2e-4, seed=0, out=None, cnn=None,
              progress=True, samples=1000, log=print):
    """DCGAN on the digits: Adam(lr, betas=(0.5, 0.999)) for both players, BCE with logits,
    the non-saturating generator loss (-log D(G(z))). The learning rate stays at lr for the
    first half and falls linearly to 0 over the second (sharper digits at the end). A GAN has
    no use for a test split, so it learns from all images (train and test). Saves a sample grid
    per epoch and the loss curves; when a trained CNN is given (`cnn`: a path or model),
    scores `samples` generated digits with it."""
    _check_settings(epochs, batch_size, lr)
    nn.manual_seed(seed)
    rng = np.random.default_rng(seed)
    real_images = np.concatenate([split.images for split in _load(data)]) * 2 - 1   # Tanh range
    if len(real_images) < batch_size:
        raise ValueError(f"batch_size {batch_size} is larger than the {len(real_images)} images")
    generator, discriminator = models.dcgan_generator(), models.dcgan_discriminator()
    opt_g = optim.Adam(generator.parameters(), lr=lr, betas=(0.5, 0.999))
    opt_d = optim.Adam(discriminator.parameters(), lr=lr, betas=(0.5, 0.999))
    bce = nn.BCEWithLogitsLoss()
    fixed_noise = rng.standard_normal((100, models.LATENT_DIM, 1, 1)).astype(np.float32)
    steps_per_epoch = len(real_images) // batch_size         # full batches only: stable BatchNorm
    total_steps, step = epochs * steps_per_epoch, 0
    history = {"loss_d": [], "loss_g": [], "d_real": [], "d_fake": [], "epoch_seconds": []}
    out = Path(out) if out is not None else None
    if out is not None:
        out.mkdir(parents=True, exist_ok=True)
    for epoch in range(1, epochs + 1):
        generator.train()
        started, stats = time.perf_counter(), []
        order = rng.permutation(len(real_images))
        bar = _progress(range(steps_per_epoch), steps_per_epoch, f"epoch {epoch}/{epochs}", progress)
        for i in bar:
            opt_g.lr = opt_d.lr = lr * min(1.0, 2 * (1 - step / total_steps))
            step += 1
            real = real_images[order[i * batch_size:(i + 1) * batch_size]]
            noise = rng.standard_normal((batch_size, models.LATENT_DIM, 1, 1)).astype(np.float32)
            fake = generator(noise)
            ones, zeros = np.ones((batch_size, 1), np.float32), np.zeros((batch_size, 1), np.float32)
            # discriminator: real -> 1, fake -> 0
            discriminator.zero_grad()
            logit_real = discriminator(real)
            loss_real = bce(logit_real, ones)
            discriminator.backward(bce.backward())
            logit_fake = discriminator(fake)
            loss_fake = bce(logit_fake, zeros)
            discriminator.backward(bce.backward())
            opt_d.step()
            # generator: make the discriminator say 1 on fakes (non-saturating loss)
            loss_g = bce(discriminator(fake), ones)
            generator.zero_grad()
            generator.backward(discriminator.backward(bce.backward()))
            opt_g.step()
            stats.append((loss_real + loss_fake, loss_g, _mean_sigmoid(logit_real),
                          _mean_sigmoid(logit_fake)))
            if progress:
                bar.set_postfix(loss_d=f"{stats[-1][0]:.3f}", loss_g=f"{loss_g:.3f}")
        seconds = time.perf_counter() - started
        mean = np.mean(stats, axis=0)
        for key, value in zip(("loss_d", "loss_g", "d_real", "d_fake"), mean):
            history[key].append(float(value))
        history["epoch_seconds"].append(seconds)
        if log:
            log(f"epoch {epoch:3d}  loss D {mean[0]:.3f}  loss G {mean[1]:.3f}  D(real) {mean[2]:.2f}"
                f"  D(G(z)) {mean[3]:.2f}  {seconds:.2f} s/epoch")
        if out is not None:
            _save_grid(_sample(generator, fixed_noise), out / f"gan_samples_epoch{epoch:03d}.png")
    result = {"epochs": epochs, "seed": seed, "train_seconds": float(sum(history["epoch_seconds"])),
              "seconds_per_epoch": float(np.mean(history["epoch_seconds"])), "history": history}
    if cnn is not None:
        classifier = load_cnn(cnn) if isinstance(cnn, (str, Path)) else cnn.eval()
        noise = rng.standard_normal((samples, models.LATENT_DIM, 1, 1)).astype(np.float32)
        result["score"] = score_samples(classifier, _sample(generator, noise))
        if log:
            s = result["score"]
            log(f"{samples} samples scored by the CNN: mean top-class probability "
                f"{s['mean_top_probability']:.3f}; class shares "
                + " ".join(f"{c}:{f:.1%}" for c, f in enumerate(s["class_fractions"])))
    if out is not None:
        generator.save(out / "gan_generator.npz")
        discriminator.save(out / "gan_discriminator.npz")
        (out / "gan.json").write_text(json.dumps(result, indent=2))
        _plot_gan(history, out / "gan_losses.png")
        if "score" in result:
            _plot_classes(result["score"], out / "gan_classes.png")
        if log:
            log(f"saved {out}/gan_generator.npz, gan_discriminator.npz, gan.json, gan_losses.png, "
                f"gan_samples_epoch*.png" + (", gan_classes.png" if "score" in result else ""))
    result["generator"], result["discriminator"] = generator, discriminator
    return result


def _mean_sigmoid(logits):
    return float(np.mean(1 / (1 + np.exp(-logits.astype(np.float64)))))


def _sample(generator, noise, batch_size=500):
    generator.eval()
    images = np.concatenate([generator(noise[i:i + batch_size])
                             for i in range(0, len(noise), batch_size)])
    generator.train()
    return images


# -- pictures --------------------------------------------------------------------------------

def _pyplot():
    matplotlib = _require("matplotlib")
    matplotlib.use("Agg")
    return _require("matplotlib.pyplot")


def _save_grid(images, path, columns=10):
    """Images in [-1, 1] as one PNG grid, black digits on white."""
    plt = _pyplot()
    n, _, h, w = images.shape
    rows = math.ceil(n / columns)
    grid = np.ones((rows * (h + 1) + 1, columns * (w + 1) + 1), np.float32)
    for k in range(n):
        r, c = divmod(k, columns)
        grid[1 + r * (h + 1):1 + r * (h + 1) + h, 1 + c * (w + 1):1 + c * (w + 1) + w] = \
            (1 - images[k, 0]) / 2
    plt.imsave(path, np.kron(np.clip(grid, 0, 1), np.ones((4, 4))), cmap="gray", vmin=0, vmax=1)


def _plot_cnn(history, path):
    plt = _pyplot()
    epochs = np.arange(1, len(history["train_loss"]) + 1)
    fig, (left, right) = plt.subplots(1, 2, figsize=(9, 3.4))
    left.plot(epochs, history["train_loss"], marker="o")
    left.set(xlabel="epoch", ylabel="cross-entropy", title="training loss", yscale="log")
    right.plot(epochs, history["train_acc"], marker="o", label="train")
    right.plot(epochs, history["test_acc"], marker="o", label="test")
    right.set(xlabel="epoch", ylabel="accuracy", title="accuracy")
    right.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=80)
    plt.close(fig)


def _plot_confusion(labels, pred, num_classes, path):
    plt = _pyplot()
    matrix = np.zeros((num_classes, num_classes), np.int64)
    np.add.at(matrix, (labels, pred), 1)
    fig, ax = plt.subplots(figsize=(4.2, 4))
    ax.imshow(matrix, cmap="Blues")
    for (i, j), v in np.ndenumerate(matrix):
        if v:
            ax.text(j, i, str(v), ha="center", va="center", fontsize=7,
                    color="white" if v > matrix.max() / 2 else "black")
    ax.set(xlabel="predicted", ylabel="true", xticks=range(num_classes), yticks=range(num_classes),
           title=f"test accuracy {np.trace(matrix) / matrix.sum():.3f}")
    fig.tight_layout()
    fig.savefig(path, dpi=80)
    plt.close(fig)


def _plot_gan(history, path):
    plt = _pyplot()
    epochs = np.arange(1, len(history["loss_d"]) + 1)
    fig, (left, right) = plt.subplots(1, 2, figsize=(9, 3.4))
    left.plot(epochs, history["loss_d"], label="discriminator")
    left.plot(epochs, history["loss_g"], label="generator")
    left.set(xlabel="epoch", ylabel="BCE", title="losses")
    left.legend()
    right.plot(epochs, history["d_real"], label="D(real)")
    right.plot(epochs, history["d_fake"], label="D(G(z))")
    right.set(xlabel="epoch", ylabel="mean probability", title="discriminator outputs", ylim=(0, 1))
    right.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=80)
    plt.close(fig)


def _plot_classes(score, path):
    plt = _pyplot()
    fractions = score["class_fractions"]
    fig, ax = plt.subplots(figsize=(4.5, 3))
    ax.bar(range(len(fractions)), fractions)
    ax.axhline(0.03, color="gray", linestyle="--", linewidth=1)
    ax.set(xlabel="digit the CNN sees", ylabel="share of samples", xticks=range(len(fractions)),
           title=f"{score['samples']} samples, mean top-class p = "
                 f"{score['mean_top_probability']:.3f}")
    fig.tight_layout()
    fig.savefig(path, dpi=80)
    plt.close(fig)
