"""The NumPy backend's guarantees beyond the arithmetic: copies independent of their original, one weight set per
call under concurrent `set_weights`, every input it cannot run refused as a located error (where Keras refuses it
too, checked against Keras), the allocation limit, and BLAS threads scoped to the call."""
from __future__ import annotations

import copy
import pickle
import threading
import time
from typing import Any, Callable

import numpy as np
import pytest

import rnnspec
from rnnspec.backends.numpy import base, model as model_module
from rnnspec.errors import RnnspecError

SPEC = ("Embedding(40, 6, mask_zero=true) > Bidirectional(LSTM(5, seq)) > GRU(4, seq) > SimpleRNN(3, seq) "
        "> TimeDistributed(Dense(2)) > GlobalAveragePooling1D()")


def ids(batch: int, seed: int = 0) -> np.ndarray:
    x = np.random.default_rng(seed).integers(1, 40, size=(batch, 8))
    x[0, 5:] = 0
    x[-1, :3] = 0
    return x


def numpy_and_keras(spec: str) -> tuple[Any, Any]:
    report = rnnspec.select(spec)
    return rnnspec.compile(report, backend="numpy"), rnnspec.compile(report)


def refused(code: str, run: Callable[[], object], *parts: str) -> RnnspecError:
    with pytest.raises(RnnspecError) as caught:
        run()
    assert caught.value.code == code
    for part in parts:
        assert part in str(caught.value), str(caught.value)
    return caught.value


def keras_fails(run: Callable[[], object]) -> None:
    with pytest.raises(Exception):  # noqa: B017  (Keras raises a different TensorFlow error for each)
        run()


# ------------------------------------------------------------ copies


@pytest.mark.parametrize("duplicate", [copy.deepcopy, lambda m: pickle.loads(pickle.dumps(m))],
                         ids=["deepcopy", "pickle"])
def test_a_copy_computes_the_same_and_keeps_its_own_weights(duplicate: Callable[[Any], Any]) -> None:
    model = rnnspec.compile(SPEC, backend="numpy")
    x = ids(512)
    expected = model(x)
    twin = duplicate(model)
    np.testing.assert_array_equal(twin(x), expected)
    np.testing.assert_array_equal(twin.predict(x, batch_size=100), model.predict(x, batch_size=100))
    twin.reset_weights(seed=7)
    np.testing.assert_array_equal(model(x), expected)
    assert not np.allclose(twin(x), expected)
    model.set_weights([w * 2 for w in model.get_weights()])
    np.testing.assert_array_equal(twin(x), duplicate(twin)(x))
    assert not np.allclose(model(x), expected)


# ------------------------------------------------------------ one weight set per call


def test_weights_changed_during_calls_give_old_or_new_outputs_never_a_mix() -> None:
    """Two threads predict while a third swaps two weight sets in and out (set_weights and reset_weights): every
    output is exactly that of one set. Before the snapshot, calls mixed layers of both or failed (KeyError)."""
    model = rnnspec.compile(SPEC, backend="numpy", seed=0)
    first = model.get_weights()
    model.reset_weights(seed=1)
    second = model.get_weights()
    x = ids(64)
    outputs = []
    for weights in (first, second):
        model.set_weights(weights)
        outputs.append(model.predict(x, batch_size=16))
    assert not np.allclose(*outputs)
    failures: list[BaseException] = []
    seen = [0, 0]
    stop = time.monotonic() + 1.5

    def call() -> None:
        try:
            while time.monotonic() < stop:
                out = model.predict(x, batch_size=16)
                matches = [i for i, expected in enumerate(outputs) if np.array_equal(out, expected)]
                assert matches, "an output of neither weight set"
                seen[matches[0]] += 1
        except BaseException as error:  # noqa: BLE001  (reported by the main thread)
            failures.append(error)

    def swap() -> None:
        try:
            while time.monotonic() < stop:
                model.set_weights(first)
                model.reset_weights(seed=1)
        except BaseException as error:  # noqa: BLE001
            failures.append(error)

    threads = [threading.Thread(target=target) for target in (call, call, swap)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not failures, failures[0]
    assert all(seen), seen


# ------------------------------------------------------------ inputs Keras refuses


@pytest.mark.keras
def test_a_window_that_leaves_no_steps_before_a_recurrent_layer_is_refused_as_keras_does() -> None:
    spec = "Input(None, 3) > MaxPooling1D(2) > LSTM(4)"
    model, keras_model = numpy_and_keras(spec)
    x = np.ones((2, 1, 3), "float32")
    keras_fails(lambda: keras_model.predict(x, verbose=0))
    error = refused("E501", lambda: model(x), "MaxPooling1D", "leaves no output steps", "(2, 1, 3)")
    assert error.span is not None and spec[error.span.column - 1:].startswith("MaxPooling1D")
    assert model(np.ones((2, 4, 3), "float32")).shape == (2, 4)


@pytest.mark.keras
@pytest.mark.parametrize("layer", ["LSTM(4)", "Bidirectional(GRU(2))", "SimpleRNN(2, seq)", "GlobalMaxPooling1D",
                                   "TimeDistributed(Dense(2))"])
def test_an_empty_sequence_into_a_loop_or_reduction_is_refused_as_keras_does(layer: str) -> None:
    spec = f"Input(None, 3) > {layer}"
    model, keras_model = numpy_and_keras(spec)
    x = np.ones((2, 0, 3), "float32")
    keras_fails(lambda: keras_model(x))
    name = layer.split("(")[0]
    error = refused("E501", lambda: model(x), f"{name} '", "at least one step", "(2, 0, 3)")
    assert error.span is not None and spec[error.span.column - 1:].startswith(name)


@pytest.mark.keras
@pytest.mark.parametrize("layer", ["Dense(2)", "Dense(3) > Dense(2, activation=tanh)"])
def test_an_empty_sequence_through_per_step_layers_is_answered_as_keras_does(layer: str) -> None:
    model, keras_model = numpy_and_keras(f"Input(None, 3) > {layer}")
    x = np.ones((2, 0, 3), "float32")
    assert model(x).shape == keras_model.predict(x, verbose=0).shape == (2, 0, 2)


@pytest.mark.keras
def test_an_empty_batch_is_refused_where_keras_predict_fails() -> None:
    model, keras_model = numpy_and_keras("Input(5, 3) > Dense(2)")
    x = np.ones((0, 5, 3), "float32")
    keras_fails(lambda: keras_model.predict(x, verbose=0))
    refused("E501", lambda: model(x), "empty batch")
    refused("E501", lambda: model.predict(x), "empty batch")


@pytest.mark.keras
@pytest.mark.parametrize("bad", [10, -1, 2**40])
def test_ids_outside_the_vocabulary_are_refused_with_the_allowed_range(bad: int) -> None:
    spec = "Input(None, dtype=int64) > Embedding(10, 2) > LSTM(3)"
    model, keras_model = numpy_and_keras(spec)
    x = np.array([[1, 2], [3, bad]], "int64")
    if bad == 10:  # Keras refuses ids past the vocabulary; its CPU kernel reads others wherever they point
        keras_fails(lambda: keras_model.predict(x, verbose=0))
    error = refused("E501", lambda: model(x), "0..9", "input_dim=10", f"found {bad:,}", "(1, 1)")
    assert error.span is not None and spec[error.span.column - 1:].startswith("Embedding")


@pytest.mark.keras
def test_values_past_an_integer_input_type_are_refused_not_wrapped() -> None:
    model, keras_model = numpy_and_keras("Embedding(10, 2) > LSTM(3)")
    wrapped = np.array([[1, 2**32 + 1]], "int64")  # as int32: [1, 1], which Keras computes silently
    np.testing.assert_allclose(keras_model.predict(wrapped, verbose=0), keras_model.predict(wrapped.astype("int32"),
                                                                                          verbose=0))
    refused("E501", lambda: model(wrapped), "int32", "-2,147,483,648..2,147,483,647", "4,294,967,297", "(0, 1)")
    assert model(np.array([[1, 2]], "int64")).shape == (1, 3)


@pytest.mark.parametrize("x", [np.array([["a", "b"]]), [[1, 2], [3]], np.ones((1, 2), complex)],
                         ids=["strings", "ragged", "complex"])
def test_inputs_that_are_not_arrays_of_numbers_are_refused(x: object) -> None:
    model = rnnspec.compile("Input(2) > Dense(1)", backend="numpy")
    refused("E501", lambda: model(x), "model 'model' takes")


@pytest.mark.parametrize("mask", [np.ones((2, 3), bool), np.ones((2, 4, 1), bool), np.array([["x"] * 4] * 2)])
def test_a_mask_that_is_not_batch_by_steps_booleans_is_refused(mask: np.ndarray) -> None:
    model = rnnspec.compile("Input(None, 3) > LSTM(2)", backend="numpy")
    refused("E501", lambda: model(np.ones((2, 4, 3)), mask=mask), "(batch, steps)", "(2, 4)")


@pytest.mark.parametrize("batch_size", [0, -3, 2.5, True])
def test_predict_refuses_a_batch_size_that_is_not_a_positive_whole_number(batch_size: object) -> None:
    model = rnnspec.compile("Input(3) > Dense(1)", backend="numpy")
    refused("E501", lambda: model.predict(np.ones((4, 3)), batch_size=batch_size), "batch_size", repr(batch_size))


@pytest.mark.parametrize("dtype", ["int32", "nonsense", "bool", None])
def test_a_dtype_that_is_not_a_float_type_is_refused_at_construction(dtype: object) -> None:
    refused("E501", lambda: rnnspec.compile("Input(3) > Dense(1)", backend="numpy", dtype=dtype), "float type",
            repr(dtype))


# ------------------------------------------------------------ the allocation limit


def test_weights_past_the_allocation_limit_are_refused_before_any_is_drawn() -> None:
    start = time.perf_counter()
    error = refused("E503", lambda: rnnspec.compile("Input(100000) > Dense(100000)", backend="numpy"),
                    "10,000,100,000 weights", "37.3 GiB", "4 GiB")
    assert "Dense 'dense'" in (error.hint or "")
    assert time.perf_counter() - start < 2


def test_a_batch_whose_arrays_pass_the_limit_is_refused_at_its_layer() -> None:
    spec = "Input(None, 3) > Dense(100000)"
    model = rnnspec.compile(spec, backend="numpy")
    x = np.zeros((1, 20000, 3), "float32")  # Dense's output alone: 8 GB
    error = refused("E503", lambda: model.predict(x), "Dense 'dense'", "(1, 20000, 3)", "7.5 GiB")
    assert error.span is not None and spec[error.span.column - 1:].startswith("Dense")
    assert model(x[:, :2]).shape == (1, 2, 100000)


def test_a_predicted_output_past_the_limit_is_refused_before_its_slices_run(monkeypatch: pytest.MonkeyPatch
                                                                           ) -> None:
    model = rnnspec.compile("Input(4) > Dense(1000)", backend="numpy")
    monkeypatch.setattr(model_module, "run_layers", lambda *_: pytest.fail("a slice ran"))
    x = np.broadcast_to(np.float32(1), (1_100_000, 4))  # 1.1M rows x 1000 outputs: 4.1 GiB of output
    refused("E503", lambda: model.predict(x, batch_size=1000), "the output of model 'model'", "(1100000, 1000)")


# ------------------------------------------------------------ BLAS threads


def blas_threads_now() -> int:
    return base._blas_libraries()[0].num_threads


def test_a_small_call_runs_on_one_blas_thread_and_restores_the_count(monkeypatch: pytest.MonkeyPatch) -> None:
    model = rnnspec.compile("Input(10, 4) > LSTM(8)", backend="numpy")
    seen: list[int] = []
    real = model_module.run_layers
    monkeypatch.setattr(model_module, "run_layers", lambda *args: seen.append(blas_threads_now()) or real(*args))
    before = blas_threads_now()
    model(np.ones((2, 10, 4)))
    model.predict(np.ones((5, 10, 4)), batch_size=2)
    assert set(seen) == {1}
    assert blas_threads_now() == before


def test_a_large_product_keeps_blas_threads_only_while_another_core_is_idle(monkeypatch: pytest.MonkeyPatch
                                                                           ) -> None:
    before = blas_threads_now()
    monkeypatch.setattr(base, "idle_cores", lambda: 1.0)
    with base.blas_threads(base.ONE_THREAD_BELOW):
        assert blas_threads_now() == before
    monkeypatch.setattr(base, "idle_cores", lambda: 0.2)
    with base.blas_threads(base.ONE_THREAD_BELOW):
        assert blas_threads_now() == 1
    with base.blas_threads(base.ONE_THREAD_BELOW - 1):
        assert blas_threads_now() == 1


@pytest.mark.parametrize(("spec", "batch", "gains"), [
    ("Input(100, 32) > LSTM(32)", 48, False),    # 0.40M multiply-adds a step: 1.01x measured
    ("Input(100, 32) > LSTM(32)", 64, True),     # 0.53M: 1.11x
    ("Input(100, 32) > LSTM(128)", 4, False),    # 0.33M: 1.02x
    ("Input(100, 32) > LSTM(128)", 8, True),     # 0.66M: 1.33x
    ("Input(100, 32) > GRU(128)", 8, True),      # 0.66M with W_h x's rows apart: 1.38x
    ("Input(100, 32) > LSTM(512)", 1, True),     # 1.1M: 1.66x
])
def test_threads_go_to_calls_whose_products_gain_from_them(spec: str, batch: int, gains: bool) -> None:
    model = rnnspec.compile(spec, backend="numpy")
    product = model._plan(model.layers, (batch, 100, 32)).largest_product
    assert (product >= base.ONE_THREAD_BELOW) is gains


def test_idle_cores_are_those_other_processes_leave(monkeypatch: pytest.MonkeyPatch) -> None:
    """Machine busy time less this process's own, per second of wall clock, taken from the cores but ours."""
    clock, busy, own = [100.0], [50.0], [10.0]
    monkeypatch.setattr(base.time, "monotonic", lambda: clock[0])
    monkeypatch.setattr(base, "machine_busy", lambda: busy[0])
    monkeypatch.setattr(base.os, "times", lambda: type("T", (), {"user": own[0], "system": 0.0})())
    monkeypatch.setattr(base.os, "cpu_count", lambda: 4)
    idle = base.IdleCores()
    assert idle() == 0.0  # nothing measured yet: one thread
    clock[0], busy[0], own[0] = 101.0, 52.5, 11.0  # 2.5 s busy in 1 s, 1 s of it ours: others kept 1.5 cores
    assert idle() == pytest.approx(4 - 1.5 - 1)
    busy[0] = 60.0
    clock[0] = 101.2  # within SAMPLE_EVERY: the last figure stands
    assert idle() == pytest.approx(1.5)


def test_any_thread_can_be_the_first_or_last_one_thread_user() -> None:
    """threadpoolctl ignores a thread's limit once another thread has set one; ours must still apply."""
    before = blas_threads_now()
    with base.one_blas_thread():  # this thread sets and restores first
        pass
    inside: list[int] = []

    def user() -> None:
        with base.one_blas_thread():
            inside.append(blas_threads_now())

    other = threading.Thread(target=user)
    other.start()
    other.join(5)
    assert inside == [1]
    assert blas_threads_now() == before


def test_concurrent_one_thread_users_restore_the_count_only_when_the_last_leaves() -> None:
    before = blas_threads_now()
    with base.one_blas_thread():
        assert blas_threads_now() == 1
        entered, left = threading.Event(), threading.Event()

        def nested_user() -> None:
            with base.one_blas_thread():
                entered.set()
            left.set()

        other = threading.Thread(target=nested_user)
        other.start()
        other.join(5)
        assert entered.is_set() and left.is_set()
        assert blas_threads_now() == 1  # the other caller left, this one is still inside
        assert base._one_thread_users == 1
    assert blas_threads_now() == before
    assert base._one_thread_users == 0

