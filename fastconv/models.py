"""Models for the lecture's two stories: a CNN that classifies digits and a DCGAN that draws them.

All three are plain `fastconv.nn.Sequential` stacks sized for the 8x8 digits; the CNN also
takes larger square images (e.g. 28x28 MNIST) through `image_size`.
"""
from __future__ import annotations

from . import nn

__all__ = ["digits_cnn", "dcgan_generator", "dcgan_discriminator", "LATENT_DIM"]

LATENT_DIM = 32


def digits_cnn(num_classes: int = 10, image_size: int = 8, channels: int = 1) -> nn.Sequential:
    """conv/pool encoder and a fully connected head:
    [conv3x3 - BN - ReLU] x2 - maxpool2 - [conv3x3 - BN - ReLU] - maxpool2 - FC - ReLU - dropout - FC."""
    flat = 64 * (image_size // 4) ** 2
    return nn.Sequential(
        nn.Conv2d(channels, 32, 3, padding=1), nn.BatchNorm2d(32), nn.ReLU(),
        nn.Conv2d(32, 32, 3, padding=1), nn.BatchNorm2d(32), nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Conv2d(32, 64, 3, padding=1), nn.BatchNorm2d(64), nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(flat, 128), nn.ReLU(), nn.Dropout(0.3), nn.Linear(128, num_classes))


def dcgan_generator(latent_dim: int = LATENT_DIM) -> nn.Sequential:
    """(N, latent_dim, 1, 1) noise -> (N, 1, 8, 8) image in [-1, 1]:
    1x1 -> 2x2 -> 4x4 -> 8x8 by transposed convolutions, BatchNorm + ReLU between, Tanh out."""
    return nn.Sequential(
        nn.ConvTranspose2d(latent_dim, 128, 2, bias=False), nn.BatchNorm2d(128), nn.ReLU(),
        nn.ConvTranspose2d(128, 64, 4, stride=2, padding=1, bias=False), nn.BatchNorm2d(64), nn.ReLU(),
        nn.ConvTranspose2d(64, 1, 4, stride=2, padding=1), nn.Tanh())


def dcgan_discriminator() -> nn.Sequential:
    """(N, 1, 8, 8) image -> (N, 1) logit of "real": strided convolutions with LeakyReLU(0.2)
    (8x8 -> 4x4 -> 2x2 -> 1x1); the sigmoid lives in BCEWithLogitsLoss."""
    return nn.Sequential(
        nn.Conv2d(1, 64, 4, stride=2, padding=1), nn.LeakyReLU(0.2),
        nn.Conv2d(64, 128, 4, stride=2, padding=1), nn.LeakyReLU(0.2),
        nn.Conv2d(128, 1, 2), nn.Flatten())
