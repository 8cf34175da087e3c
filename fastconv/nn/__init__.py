"""fastconv.nn: torch.nn-style layers, losses and containers on fastconv's kernels, in NumPy.

    import fastconv.nn as nn
    model = nn.Sequential(nn.Conv2d(1, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                          nn.Flatten(), nn.Linear(16 * 4 * 4, 10))
    criterion = nn.CrossEntropyLoss()
    loss = criterion(model(x), y)              # forward
    model.zero_grad()
    model.backward(criterion.backward())        # backward: fills every parameter's .grad

Parameters are float32 by default (`model.double()` for float64); `nn.manual_seed(s)` seeds
initialisation and Dropout.
"""
from .layers import (AvgPool2d, BatchNorm1d, BatchNorm2d, Conv2d, ConvTranspose2d, Dropout,
                     Flatten, LeakyReLU, Linear, MaxPool2d, ReLU, Sigmoid, Tanh)
from .loss import BCELoss, BCEWithLogitsLoss, CrossEntropyLoss, MSELoss
from .module import Module, Parameter, Sequential, manual_seed

__all__ = ["Module", "Parameter", "Sequential", "manual_seed", "Conv2d", "ConvTranspose2d",
           "MaxPool2d", "AvgPool2d", "Linear", "Flatten", "ReLU", "LeakyReLU", "Sigmoid", "Tanh",
           "BatchNorm1d", "BatchNorm2d", "Dropout", "MSELoss", "BCELoss", "BCEWithLogitsLoss",
           "CrossEntropyLoss"]
