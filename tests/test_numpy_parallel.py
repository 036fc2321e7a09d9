"""A large batch split across worker processes: the same answer as one process and as Keras, weights kept in
step, and a worker that fails or is turned off costs speed, never a result."""
from __future__ import annotations

import os
import pickle
from concurrent.futures import ThreadPoolExecutor
from typing import Iterator

import numpy as np
import pytest

import rnnspec
from rnnspec.backends.numpy import parallel
from rnnspec.backends.numpy.model import run_layers

SPEC = ("Embedding(40, 6, mask_zero=true) > Bidirectional(LSTM(5, seq)) > GRU(4, seq) > SimpleRNN(3, seq) "
        "> TimeDistributed(Dense(2)) > GlobalAveragePooling1D()")
EVERY_KERNEL = [
    "Input(9, 3) > Masking() > Conv1D(4, 3, padding=causal, dilation_rate=2) > MaxPooling1D(2) > "
    "BatchNormalization() > LayerNormalization() > Dropout(0.5) > Bidirectional(GRU(3, seq, reset_after=false), "
    "backward_layer=LSTM(3, seq, backwards), merge_mode=ave) > GlobalMaxPooling1D() > Dense(2, activation=softmax)",
    "Input(9, 3) > Bidirectional(SimpleRNN(4, seq, activation=relu), merge_mode=mul) > AveragePooling1D(3) > "
    "TimeDistributed(Dense(3)) > Flatten() > Dense(1, activation=sigmoid)",
    "Input(9, 3) > SpatialDropout1D(0.2) > Activation(tanh) > GRU(4) > RepeatVector(2) > Reshape((4, 2)) > LSTM(2)",
]


@pytest.fixture
def one_worker(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """A fresh pool with one worker, splitting every call of at least two rows."""
    monkeypatch.setenv("RNNSPEC_WORKERS", "1")
    monkeypatch.setattr(parallel, "SPLIT_WORK", 1)
    monkeypatch.setattr(parallel, "MIN_PART", 1)
    parallel.pool().close()
    monkeypatch.setattr(parallel, "_pool", None)
    assert parallel.wait_until_ready() == 1
    yield
    parallel.pool().close()


def ids(batch: int, seed: int = 0) -> np.ndarray:
    x = np.random.default_rng(seed).integers(1, 40, size=(batch, 8))
    x[0, 5:] = 0          # trailing padding
    x[1, :3] = 0          # leading padding
    x[2, 2:4] = 0         # a gap
    x[-1, :] = 0          # a fully padded row, in the worker's part
    return x


def test_a_split_call_equals_keras_and_one_process(one_worker: None) -> None:
    report = rnnspec.select(SPEC)
    keras_model = rnnspec.compile(report)
    model = rnnspec.compile(report, backend="numpy")
    model.set_weights(keras_model.get_weights())
    x = ids(7)
    before = parallel.splits
    out = model(x)
    assert parallel.splits == before + 1
    np.testing.assert_allclose(out, run_layers(model.layers, x, None), rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(out, keras_model.predict(x, verbose=0), rtol=1e-5, atol=1e-5)


def test_the_worker_follows_new_weights(one_worker: None) -> None:
    model = rnnspec.compile(SPEC, backend="numpy", seed=1)
    x = ids(6)
    first = model(x)
    changes = [lambda: model.reset_weights(seed=2),
               lambda: model.set_weights(rnnspec.compile(SPEC, backend="numpy", seed=3).get_weights())]
    for change in changes:
        change()
        out = model(x)
        np.testing.assert_allclose(out, run_layers(model.layers, x, None), rtol=1e-6, atol=1e-6)
        assert not np.allclose(out, first)


def test_a_user_mask_is_split_with_the_rows(one_worker: None) -> None:
    model = rnnspec.compile("Input(5, 2) > LSTM(3, seq) > GRU(2)", backend="numpy")
    x = np.random.default_rng(4).normal(size=(6, 5, 2)).astype("float32")
    mask = np.random.default_rng(5).random((6, 5)) > 0.3
    before = parallel.splits
    np.testing.assert_allclose(model(x, mask), run_layers(model.layers, x, mask), rtol=1e-6, atol=1e-6)
    assert parallel.splits == before + 1


@pytest.mark.parametrize("spec", EVERY_KERNEL)
def test_every_kernel_travels_to_a_worker_and_back(spec: str, one_worker: None) -> None:
    model = rnnspec.compile(spec, backend="numpy", seed=6)
    copy = pickle.loads(pickle.dumps(model.layers))
    x = np.random.default_rng(6).normal(size=(5, 9, 3)).astype("float32")
    np.testing.assert_array_equal(run_layers(copy, x, None), run_layers(model.layers, x, None))
    before = parallel.splits
    np.testing.assert_allclose(model(x), run_layers(model.layers, x, None), rtol=1e-6, atol=1e-6)
    assert parallel.splits == before + 1


def test_a_dead_worker_costs_speed_not_the_answer(one_worker: None) -> None:
    model = rnnspec.compile(SPEC, backend="numpy")
    x = ids(8)
    expected = run_layers(model.layers, x, None)
    worker = parallel.pool().workers[0]
    worker.process.kill()
    worker.process.wait()
    np.testing.assert_allclose(model(x), expected, rtol=1e-6, atol=1e-6)
    assert parallel.pool().failed and not parallel.pool().workers
    before = parallel.splits
    np.testing.assert_allclose(model(x), expected, rtol=1e-6, atol=1e-6)
    assert parallel.splits == before


def test_callers_on_several_threads_get_their_own_answers(one_worker: None) -> None:
    model = rnnspec.compile(SPEC, backend="numpy")
    inputs = [ids(6, seed) for seed in range(8)]
    before = [lib["num_threads"] for lib in parallel._blas().info()]
    with ThreadPoolExecutor(4) as callers:
        outputs = list(callers.map(model, inputs))
    for x, out in zip(inputs, outputs):
        np.testing.assert_allclose(out, run_layers(model.layers, x, None), rtol=1e-6, atol=1e-6)
    assert [lib["num_threads"] for lib in parallel._blas().info()] == before


def test_workers_can_be_turned_off(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RNNSPEC_WORKERS", "0")
    monkeypatch.setattr(parallel, "_pool", None)
    assert parallel.wait_until_ready() == 0
    model = rnnspec.compile(SPEC, backend="numpy")
    before = parallel.splits
    model(ids(64))
    assert parallel.splits == before and not parallel.pool().workers


def test_small_calls_stay_in_this_process(one_worker: None, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(parallel, "SPLIT_WORK", 10**12)
    model = rnnspec.compile(SPEC, backend="numpy")
    before = parallel.splits
    model(ids(8))
    assert parallel.splits == before


def test_a_forked_process_starts_its_own_workers(one_worker: None, monkeypatch: pytest.MonkeyPatch) -> None:
    parent = parallel.pool()
    monkeypatch.setattr(os, "getpid", lambda: parent.pid + 1)
    assert parallel.pool() is not parent and not parallel.pool().workers


def test_workers_start_with_the_second_large_call(monkeypatch: pytest.MonkeyPatch) -> None:
    """A process that makes one large call (`rnnspec run`) does not pay for starting a worker."""
    monkeypatch.setenv("RNNSPEC_WORKERS", "1")
    monkeypatch.setattr(parallel, "SPLIT_WORK", 1)
    monkeypatch.setattr(parallel, "MIN_PART", 1)
    monkeypatch.setattr(parallel, "_pool", None)
    model = rnnspec.compile(SPEC, backend="numpy")
    model(ids(4))
    assert not parallel.pool().workers
    model(ids(4))
    assert len(parallel.pool().workers) == 1
    parallel.pool().close()


def test_an_error_in_a_worker_runs_its_part_here(one_worker: None, monkeypatch: pytest.MonkeyPatch) -> None:
    """The worker cannot read the model it is sent: it says so, and the part runs in this process."""
    model = rnnspec.compile(SPEC, backend="numpy")
    x = ids(6)
    monkeypatch.setattr(parallel.pickle, "dumps", lambda *args: b"not a pickle")
    np.testing.assert_allclose(model(x), run_layers(model.layers, x, None), rtol=1e-6, atol=1e-6)
    assert parallel.pool().failed


def test_a_wide_model_is_split_only_into_parts_of_enough_rows(one_worker: None) -> None:
    """A product of few rows by many weights is slow: a part gets a row per WEIGHTS_PER_ROW weights of a step."""
    model = rnnspec.compile("Input(3, 8) > LSTM(64)", backend="numpy")
    rows = -(-model._multiply_adds_per_step // parallel.WEIGHTS_PER_ROW)
    assert rows >= 2
    x = np.random.default_rng(7).normal(size=(2 * rows, 3, 8)).astype("float32")
    before = parallel.splits
    model(x[:-1])
    assert parallel.splits == before
    np.testing.assert_allclose(model(x), run_layers(model.layers, x, None), rtol=1e-6, atol=1e-6)
    assert parallel.splits == before + 1
