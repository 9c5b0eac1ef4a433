"""Training computes on one core and gives the others back when it ends."""

from __future__ import annotations

from collections.abc import Iterator
import threading

import numpy as np
import pytest
from threadpoolctl import OpenBLASController, threadpool_info, threadpool_limits

from custom_components.foresight.learning.energy import EnergyForecaster, UnusualUseDetector
from custom_components.foresight.learning.occupancy import train_occupancy
from custom_components.foresight.learning.one_thread import on_one_thread


def blas_threads() -> int:
    """numpy's BLAS threads now."""
    return max(info["num_threads"] for info in threadpool_info() if info["user_api"] == "blas")


@pytest.fixture(autouse=True)
def two_blas_threads() -> Iterator[None]:
    """Two BLAS threads outside training, as on a machine with two cores or more.

    Set without keeping the control of them: whichever thread trains must be able to lower them.
    """
    np.ones((2, 2)) @ np.ones((2, 2))  # BLAS is loaded
    limits = threadpool_limits(limits=2, user_api="blas")
    OpenBLASController.clear_controlling_thread()
    assert blas_threads() == 2
    yield
    limits.restore_original_limits()
    OpenBLASController.clear_controlling_thread()


def test_blas_has_one_thread_while_training_runs() -> None:
    @on_one_thread
    def train() -> int:
        return blas_threads()

    assert train() == 1
    assert blas_threads() == 2


def test_each_training_has_one_thread_whichever_worker_thread_runs_it() -> None:
    """Home Assistant's executor runs each training in any of its long-lived threads."""
    seen: list[int] = []

    @on_one_thread
    def train() -> None:
        seen.append(blas_threads())

    trained, done = threading.Event(), threading.Event()
    workers = [threading.Thread(target=train), threading.Thread(target=train)]
    # The first worker stays alive after its training, as an executor's threads do; Foresight
    # trains one model at a time, so the others train after it.
    idle = threading.Thread(target=lambda: (train(), trained.set(), done.wait(10)))
    idle.start()
    assert trained.wait(10)
    for worker in workers:
        worker.start()
        worker.join(10)
    done.set()
    idle.join(10)
    assert seen == [1, 1, 1]
    assert blas_threads() == 2


def test_a_failed_training_gives_the_threads_back() -> None:
    @on_one_thread
    def failing() -> None:
        raise ValueError("bad history")

    with pytest.raises(ValueError, match="bad history"):
        failing()
    assert blas_threads() == 2


@pytest.mark.parametrize(
    "training", [train_occupancy, EnergyForecaster.train, UnusualUseDetector.train]
)
def test_every_model_trains_on_one_thread(training: object) -> None:
    limited = on_one_thread(lambda: None)
    assert getattr(training, "__code__", None) is limited.__code__  # on_one_thread's wrapper
