"""Training keeps to one core: numpy's BLAS computes on one thread while Foresight trains.

The matrix products of training run fastest on one thread here (splitting them costs more than
it gains at their size), and a Raspberry Pi's other cores stay Home Assistant's. BLAS's thread
count is the whole process's: it is lowered while a training runs and given back when it ends.
Foresight trains one model at a time; threadpoolctl lets one thread at a time set the count, so
a training started in another thread meanwhile would only share the limit while it lasts.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps

from threadpoolctl import threadpool_limits


def on_one_thread[**P, R](function: Callable[P, R]) -> Callable[P, R]:
    """Run ``function`` with BLAS limited to one thread."""

    @wraps(function)
    def limited(*args: P.args, **kwargs: P.kwargs) -> R:
        with threadpool_limits(limits=1, user_api="blas"):
            return function(*args, **kwargs)

    return limited
