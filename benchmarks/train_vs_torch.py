"""Seconds per training epoch: fastconv.nn vs the same model, data and optimiser in PyTorch.

    PYTHONPATH=. python benchmarks/train_vs_torch.py --threads 2 --epochs 3

Both sides train the digits CNN (fastconv.models.digits_cnn, Adam, batch 32, no augmentation)
and the DCGAN (one discriminator and one generator step per batch of 64) on the embedded
digits; each epoch is timed with time.perf_counter and the median over --epochs is reported.
"""
from __future__ import annotations

import argparse
import statistics
import time

import numpy as np

import fastconv as fc
from fastconv import datasets, models, nn, optim, train

BATCH_CNN, BATCH_GAN = 32, 64


def torch_cnn(torch, image_size=8):
    t = torch.nn
    return t.Sequential(
        t.Conv2d(1, 32, 3, padding=1), t.BatchNorm2d(32), t.ReLU(),
        t.Conv2d(32, 32, 3, padding=1), t.BatchNorm2d(32), t.ReLU(), t.MaxPool2d(2),
        t.Conv2d(32, 64, 3, padding=1), t.BatchNorm2d(64), t.ReLU(), t.MaxPool2d(2),
        t.Flatten(), t.Linear(64 * (image_size // 4) ** 2, 128), t.ReLU(), t.Dropout(0.3),
        t.Linear(128, 10))


def torch_gan(torch):
    t, z = torch.nn, models.LATENT_DIM
    g = t.Sequential(t.ConvTranspose2d(z, 128, 2, bias=False), t.BatchNorm2d(128), t.ReLU(),
                     t.ConvTranspose2d(128, 64, 4, 2, 1, bias=False), t.BatchNorm2d(64), t.ReLU(),
                     t.ConvTranspose2d(64, 1, 4, 2, 1), t.Tanh())
    d = t.Sequential(t.Conv2d(1, 64, 4, 2, 1), t.LeakyReLU(0.2), t.Conv2d(64, 128, 4, 2, 1),
                     t.LeakyReLU(0.2), t.Conv2d(128, 1, 2), t.Flatten())
    return g, d


def epoch_cnn_fastconv(model, opt, criterion, data, rng):
    model.train()
    for x, y in data.batches(BATCH_CNN, rng):
        criterion(model(x), y)
        model.zero_grad()
        model.backward(criterion.backward())
        opt.step()


def epoch_cnn_torch(torch, model, opt, criterion, data, rng):
    model.train()
    for x, y in data.batches(BATCH_CNN, rng):
        loss = criterion(model(torch.from_numpy(x)), torch.from_numpy(y))
        opt.zero_grad()
        loss.backward()
        opt.step()


def epoch_gan_fastconv(g, d, opt_g, opt_d, bce, images, rng):
    ones, zeros = np.ones((BATCH_GAN, 1), np.float32), np.zeros((BATCH_GAN, 1), np.float32)
    order = rng.permutation(len(images))
    for i in range(len(images) // BATCH_GAN):
        real = images[order[i * BATCH_GAN:(i + 1) * BATCH_GAN]]
        fake = g(rng.standard_normal((BATCH_GAN, models.LATENT_DIM, 1, 1)).astype(np.float32))
        d.zero_grad()
        bce(d(real), ones)
        d.backward(bce.backward())
        bce(d(fake), zeros)
        d.backward(bce.backward())
        opt_d.step()
        bce(d(fake), ones)
        g.zero_grad()
        g.backward(d.backward(bce.backward()))
        opt_g.step()


def epoch_gan_torch(torch, g, d, opt_g, opt_d, bce, images, rng):
    ones, zeros = torch.ones(BATCH_GAN, 1), torch.zeros(BATCH_GAN, 1)
    order = rng.permutation(len(images))
    for i in range(len(images) // BATCH_GAN):
        real = torch.from_numpy(images[order[i * BATCH_GAN:(i + 1) * BATCH_GAN]])
        fake = g(torch.from_numpy(rng.standard_normal((BATCH_GAN, models.LATENT_DIM, 1, 1))
                                  .astype(np.float32)))
        opt_d.zero_grad()
        (bce(d(real), ones) + bce(d(fake.detach()), zeros)).backward()
        opt_d.step()
        opt_g.zero_grad()
        bce(d(fake), ones).backward()
        opt_g.step()


def timed(fn, epochs):
    seconds = []
    for _ in range(epochs + 1):          # the first epoch warms caches and allocators: dropped
        start = time.perf_counter()
        fn()
        seconds.append(time.perf_counter() - start)
    return statistics.median(seconds[1:])


@train._one_blas_thread
def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--epochs", type=int, default=3, help="timed epochs per side (median)")
    parser.add_argument("--model", choices=["cnn", "gan", "both"], default="both")
    args = parser.parse_args()
    fc.set_num_threads(args.threads)
    train, _ = datasets.load_digits()
    rng = np.random.default_rng(0)
    rows = []
    try:
        import torch
        torch.set_num_threads(args.threads)
        torch.manual_seed(0)
    except ImportError:
        torch = None
    if args.model in ("cnn", "both"):
        model, criterion = models.digits_cnn(), nn.CrossEntropyLoss()
        opt = optim.Adam(model.parameters(), lr=2e-3)
        ours = timed(lambda: epoch_cnn_fastconv(model, opt, criterion, train, rng), args.epochs)
        theirs = None
        if torch is not None:
            tm = torch_cnn(torch)
            topt, tcrit = torch.optim.Adam(tm.parameters(), lr=2e-3), torch.nn.CrossEntropyLoss()
            theirs = timed(lambda: epoch_cnn_torch(torch, tm, topt, tcrit, train, rng), args.epochs)
        rows.append(("cnn", len(train), BATCH_CNN, ours, theirs))
    if args.model in ("gan", "both"):
        images = train.images * 2 - 1
        g, d = models.dcgan_generator(), models.dcgan_discriminator()
        opt_g = optim.Adam(g.parameters(), lr=2e-4, betas=(0.5, 0.999))
        opt_d = optim.Adam(d.parameters(), lr=2e-4, betas=(0.5, 0.999))
        ours = timed(lambda: epoch_gan_fastconv(g, d, opt_g, opt_d, nn.BCEWithLogitsLoss(), images,
                                                rng), args.epochs)
        theirs = None
        if torch is not None:
            tg, td = torch_gan(torch)
            topt_g = torch.optim.Adam(tg.parameters(), lr=2e-4, betas=(0.5, 0.999))
            topt_d = torch.optim.Adam(td.parameters(), lr=2e-4, betas=(0.5, 0.999))
            theirs = timed(lambda: epoch_gan_torch(torch, tg, td, topt_g, topt_d,
                                                   torch.nn.BCEWithLogitsLoss(), images, rng),
                           args.epochs)
        rows.append(("gan", len(images), BATCH_GAN, ours, theirs))
    print(f"threads {args.threads}, median of {args.epochs} epochs, fastconv backend {fc.get_backend()}")
    print(f"{'model':6} {'images':>6} {'batch':>5} {'fastconv s':>10} {'torch s':>8} {'ratio':>6}")
    for name, n, batch, ours, theirs in rows:
        ratio = f"{ours / theirs:6.2f}" if theirs else "     -"
        torch_s = f"{theirs:8.3f}" if theirs else "       -"
        print(f"{name:6} {n:6d} {batch:5d} {ours:10.3f} {torch_s} {ratio}")


if __name__ == "__main__":
    main()
