"""Seconds-long training runs: the loss falls, a seed fixes the result, outputs round-trip."""
from __future__ import annotations

import json

import numpy as np
import pytest

import fastconv as fc
from fastconv import cli, datasets, models, train


@pytest.fixture(autouse=True, scope="module")
def one_thread():
    before = fc.get_num_threads()
    fc.set_num_threads(1)
    yield
    fc.set_num_threads(before)


@pytest.fixture(scope="module")
def small_digits():
    tr, te = datasets.load_digits()
    return (datasets.Dataset(tr.images[:320], tr.labels[:320]),
            datasets.Dataset(te.images[:120], te.labels[:120]))


def same_state(a, b):
    return all(np.array_equal(x, y) for x, y in zip(a.state_dict().values(), b.state_dict().values()))


def test_cnn_loss_falls_and_seed_fixes_the_result(small_digits):
    runs = [train.train_cnn(small_digits, epochs=3, batch_size=16, lr=3e-3, seed=s, progress=False, log=None)
            for s in (4, 4, 5)]
    first, again, other = runs
    assert first["history"]["train_loss"][-1] < 0.6 * first["history"]["train_loss"][0]
    assert first["test_accuracy"] > 0.6
    assert first["history"]["train_loss"] == again["history"]["train_loss"]
    assert same_state(first["model"], again["model"])
    assert not same_state(first["model"], other["model"])


def test_cnn_outputs_round_trip(small_digits, tmp_path):
    pytest.importorskip("matplotlib")
    result = train.train_cnn(small_digits, epochs=1, seed=0, out=tmp_path, progress=False, log=None)
    for name in ("cnn.npz", "cnn.json", "cnn_curves.png", "cnn_confusion.png"):
        assert (tmp_path / name).stat().st_size > 0, name
    loaded = train.load_cnn(tmp_path / "cnn.npz")
    x = small_digits[1].images
    np.testing.assert_array_equal(loaded(x), result["model"].eval()(x))
    saved = json.loads((tmp_path / "cnn.json").read_text())
    assert saved["test_accuracy"] == result["test_accuracy"]


def test_gan_trains_deterministically_and_scores_samples(small_digits, tmp_path):
    pytest.importorskip("matplotlib")
    cnn = models.digits_cnn().eval()
    runs = [train.train_gan(small_digits, epochs=2, batch_size=32, seed=1, cnn=cnn, samples=50,
                            out=tmp_path if i == 0 else None, progress=False, log=None)
            for i in range(2)]
    first, again = runs
    assert first["history"] == {**again["history"], "epoch_seconds": first["history"]["epoch_seconds"]}
    assert same_state(first["generator"], again["generator"])
    assert all(np.isfinite(first["history"]["loss_d"] + first["history"]["loss_g"]))
    score = first["score"]
    assert score["samples"] == 50 and abs(sum(score["class_fractions"]) - 1) < 1e-9
    assert 0.1 <= score["mean_top_probability"] <= 1
    for name in ("gan_samples_epoch001.png", "gan_samples_epoch002.png", "gan_losses.png",
                 "gan_generator.npz", "gan_discriminator.npz", "gan.json", "gan_classes.png"):
        assert (tmp_path / name).stat().st_size > 0, name
    images = first["generator"].eval()(np.zeros((3, models.LATENT_DIM, 1, 1), np.float32))
    assert images.shape == (3, 1, 8, 8) and np.abs(images).max() <= 1


def test_cli_train_cnn_then_gan(tmp_path, capsys):
    pytest.importorskip("matplotlib")
    assert cli.main(["train", "cnn", "--epochs", "1", "--out", str(tmp_path), "--no-progress"]) == 0
    assert "test accuracy" in capsys.readouterr().out
    assert cli.main(["train", "gan", "--epochs", "1", "--out", str(tmp_path), "--no-progress",
                     "--cnn", str(tmp_path / "cnn.npz")]) == 0
    assert "mean top-class probability" in capsys.readouterr().out
    assert (tmp_path / "gan_samples_epoch001.png").exists()


@pytest.mark.parametrize("argv,message", [
    (["train", "cnn", "--data", "/nonexistent/folder"], "neither 'digits' nor an existing folder"),
    (["train", "cnn", "--epochs", "0"], "epochs must be a positive int"),
    (["train", "gan", "--lr", "-1", "--cnn", "x.npz"], "lr must be positive"),
])
def test_cli_train_reports_bad_settings(argv, message, capsys, tmp_path):
    assert cli.main(argv + ["--out", str(tmp_path), "--no-progress"]) == 2
    assert message in capsys.readouterr().err
