"""The event-loop benchmark's parts: the home it sets up, and how it times the loop."""

from __future__ import annotations

import asyncio
import gc
import json
import math
import time

import pytest

from benchmarks.history import SyntheticHome
from benchmarks.loop import LivingHome, LoopClock, entry_for, main
from custom_components.foresight.sources import Kind, room_sources


def test_the_entry_asks_for_every_series_the_history_holds() -> None:
    """The config entry names the very sources whose history was built: nothing is missing,
    and Foresight reads no empty history."""
    home = SyntheticHome(7, raw_from=0.0)
    entry = entry_for(home, "entry")
    asked = {
        source.key for sub in entry.subentries.values() for source in room_sources("", sub.data)
    }
    asked |= {
        *entry.data["people"],
        *entry.data["energy_sensor"],
        entry.data["outdoor_temperature"],
    }
    # Batteries are found by their device class, as at home.
    built = {key for key, source in home.sources.items() if source.kind is not Kind.BATTERY}
    assert asked == built
    assert len(entry.subentries) == 30
    living = LivingHome(home, 7)
    batteries = [e for e, kind in living.entities.items() if kind is Kind.BATTERY]
    assert len(batteries) == 60
    assert all(living.state(e)[1]["device_class"] == "battery" for e in batteries)


def test_the_clock_times_each_step_and_names_what_ran() -> None:
    """A task's step is named by its coroutines, a callback by its function; CPU time is the
    loop thread's own, waiting is not counted in it."""

    def busy(seconds: float) -> None:
        end = time.thread_time() + seconds
        while time.thread_time() < end:
            pass

    async def crunching() -> None:
        busy(0.02)
        await asyncio.sleep(0)

    async def waiting() -> None:
        time.sleep(0.02)  # noqa: ASYNC251  # the thread waits: wall clock, not CPU

    async def main() -> LoopClock:
        clock = LoopClock()
        with clock.installed(), clock.timing("phase"):
            await asyncio.create_task(crunching(), name="crunching")
            await asyncio.create_task(waiting(), name="waiting")
            asyncio.get_running_loop().call_soon(busy, 0.01)
            await asyncio.sleep(0)  # the callback runs before this task goes on
        return clock

    clock = asyncio.run(main())
    steps = {step.what.split(" (")[0]: step for step in clock.slow}
    here = "test_the_clock_times_each_step_and_names_what_ran.<locals>"
    crunched = steps[f"task 'crunching': {here}.crunching"]
    assert crunched.cpu_ms >= 19.0
    assert crunched.phase == "phase"
    waited = steps[f"task 'waiting': {here}.waiting"]
    assert waited.ms >= 19.0
    assert waited.cpu_ms < 5.0
    called = steps[f"callback {here}.busy"]
    assert called.cpu_ms >= 9.0
    assert len(clock.durations["phase"]) >= 4


def test_the_clock_counts_the_garbage_collections_a_step_ran() -> None:
    """A full collection of a big heap can land in any step: its time is shown apart."""
    heap = [[index] for index in range(300_000)]  # a collection has this much to look at

    def collecting() -> None:
        gc.collect()

    async def main() -> LoopClock:
        clock = LoopClock()
        with clock.installed(), clock.timing("phase"):
            asyncio.get_running_loop().call_soon(collecting)
            await asyncio.sleep(0)
        return clock

    clock = asyncio.run(main())
    assert len(heap) == 300_000
    (collected,) = (step for step in clock.slow if "collecting" in step.what)
    assert 0.0 < collected.gc_ms <= collected.cpu_ms


@pytest.mark.usefixtures("disable_block_async_io")  # the run turns Home Assistant's detection on
def test_a_short_run_reports_every_figure(capsys: pytest.CaptureFixture[str]) -> None:
    """A day of history and a few seconds of the home living, end to end in a real Home
    Assistant: every figure is there, every question is answered (or refused with an error the
    user reads), and Foresight logged no warning."""
    main(["--days", "1", "--minutes", "0.1", "--rate", "20"])
    result = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    # Every room, the home, energy, maintenance and both calendars; energy wants a few days.
    assert (result["answers"], result["refused"]) == (30 + 1 + 1 + 2, 1)
    assert result["foresight_log_problems"] == 0
    for phase in ("without_Foresight", "setup_and_first_training", "home_living", "retrain"):
        assert result[f"loop_cpu_{phase}"]["count"] > 0
        memory = result[f"memory_{phase}"]
        assert 0 < memory["rss_mb"] <= memory["peak_mb"]
    # A choice made on a controller was saved within seconds (the run checks the saved file).
    assert result["loop_cpu_a_choice_saved"]["count"] > 0
    # What Foresight took: the process grew once it was set up and trained.
    assert result["foresight_rss_mb"] > 0
    assert result["state_change_with_foresight"]["count"] > 0
    assert math.isfinite(result["longest_foresight_step_cpu_ms"])
    assert result["full_gc_ms"] > 0
    assert result["full_gc_ms_without_Foresight"] > 0
    assert result["steps_over_limit_cpu_less_gc"] <= result["steps_over_limit_cpu"]
