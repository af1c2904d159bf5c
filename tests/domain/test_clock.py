"""VirtualClock: speed, freezing, advancing, and never moving backwards."""

from __future__ import annotations

import math
import time

import pytest

from mockpanel._domain.clock import VirtualClock


class FakeTimer:
    """A real-time source the test moves by hand."""

    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t


def make(speed: float = 1.0, start: float = 0.0) -> tuple[VirtualClock, FakeTimer]:
    timer = FakeTimer()
    return VirtualClock(speed=speed, start=start, timer=timer), timer


def test_default_start_is_wall_clock_time() -> None:
    before = time.time()
    clock = VirtualClock(speed=0)
    assert before <= clock.now() <= time.time()


def test_speed_scales_real_time() -> None:
    clock, timer = make(speed=60)
    timer.t += 1.5
    assert clock.now() == pytest.approx(90.0)
    assert clock.speed == 60 and not clock.frozen


def test_speed_zero_freezes() -> None:
    clock, timer = make(speed=0, start=500)
    timer.t += 3600
    assert clock.now() == 500
    assert clock.frozen


def test_real_clock_moves_with_speed_one() -> None:
    clock = VirtualClock(speed=1)
    first = clock.now()
    deadline = time.monotonic() + 2
    while clock.now() == first and time.monotonic() < deadline:
        pass
    assert clock.now() > first


@pytest.mark.parametrize(
    "kwargs, seconds",
    [
        ({"seconds": 5}, 5),
        ({"minutes": 2}, 120),
        ({"hours": 1.5}, 5400),
        ({"days": 2}, 172800),
        ({"seconds": 1, "minutes": 1, "hours": 1, "days": 1}, 1 + 60 + 3600 + 86400),
        ({}, 0),
    ],
)
def test_advance_units(kwargs: dict[str, float], seconds: float) -> None:
    clock, _ = make(speed=0, start=100)
    assert clock.advance(**kwargs) == 100 + seconds
    assert clock.now() == 100 + seconds


def test_advance_adds_to_a_running_clock() -> None:
    clock, timer = make(speed=2)
    timer.t += 10
    clock.advance(minutes=1)
    assert clock.now() == pytest.approx(80.0)
    timer.t += 1
    assert clock.now() == pytest.approx(82.0)


@pytest.mark.parametrize(
    "kwargs", [{"seconds": -1}, {"hours": -0.001}, {"seconds": math.nan}, {"days": math.inf}]
)
def test_advance_refuses_backwards_and_non_finite(kwargs: dict[str, float]) -> None:
    clock, _ = make(speed=0, start=100)
    with pytest.raises(ValueError, match="never moves backwards"):
        clock.advance(**kwargs)
    assert clock.now() == 100


def test_set_speed_keeps_elapsed_time() -> None:
    clock, timer = make(speed=2)
    timer.t += 10  # +20 virtual
    clock.set_speed(0)
    assert clock.now() == pytest.approx(20.0)
    timer.t += 100  # frozen: nothing
    assert clock.now() == pytest.approx(20.0)
    clock.set_speed(10)
    timer.t += 1  # +10
    assert clock.now() == pytest.approx(30.0)
    assert clock.speed == 10


def test_freeze_stops_the_clock_where_it_is() -> None:
    clock, timer = make(speed=1)
    timer.t += 7
    clock.freeze()
    timer.t += 7
    assert clock.now() == pytest.approx(7.0)
    assert clock.frozen


@pytest.mark.parametrize("speed", [-1, math.nan, math.inf])
def test_bad_speed_is_refused_with_a_reason(speed: float) -> None:
    with pytest.raises(ValueError, match="speed must be a finite number >= 0"):
        VirtualClock(speed=speed)
    clock, _ = make(speed=3)
    with pytest.raises(ValueError, match="speed must be a finite number >= 0"):
        clock.set_speed(speed)
    assert clock.speed == 3


def test_set_time_jumps_forward() -> None:
    clock, timer = make(speed=1, start=100)
    clock.set_time(5000)
    assert clock.now() == pytest.approx(5000)
    timer.t += 1
    assert clock.now() == pytest.approx(5001)
    clock.set_time(clock.now())  # to "now" is not backwards
    assert clock.now() == pytest.approx(5001)


def test_set_time_refuses_backwards() -> None:
    clock, _ = make(speed=0, start=100)
    with pytest.raises(ValueError, match="before the clock's current time.*never moves backwards"):
        clock.set_time(99.5)
    assert clock.now() == 100


@pytest.mark.parametrize("value", [math.nan, math.inf])
def test_set_time_refuses_non_finite(value: float) -> None:
    clock, _ = make(speed=0, start=100)
    with pytest.raises(ValueError, match="finite"):
        clock.set_time(value)
    assert clock.now() == 100


def test_never_backwards_under_speed_changes() -> None:
    clock, timer = make(speed=1)
    seen = [clock.now()]
    for step, speed in enumerate([5, 0, 0.5, 100, 0, 1] * 5):
        timer.t += step % 3
        clock.set_speed(speed)
        if step % 4 == 0:
            clock.advance(seconds=step)
        seen.append(clock.now())
    assert seen == sorted(seen)


def test_a_pin_holds_for_its_own_thread_only_and_ends_with_its_block() -> None:
    import threading

    ticks = iter(range(100))
    clock = VirtualClock(start=1000.0, timer=lambda: float(next(ticks)))
    seen: list[float] = []
    with clock.pinned() as at:
        assert clock.now() == at == clock.now()  # the same instant, however often it is read
        other = threading.Thread(target=lambda: seen.extend([clock.now(), clock.now()]))
        other.start()
        other.join()
        with clock.pinned_at(5.0):
            assert clock.now() == 5.0
        assert clock.now() == at
    assert seen[0] < seen[1]  # the other thread's clock ran on
    assert clock.now() > at  # and this one's runs again


class Guard:
    """A guard that holds readings at ``limit`` and refuses moves past ``refuse_past``; it notes what it saw."""

    def __init__(self, limit: float = math.inf, refuse_past: float = math.inf) -> None:
        self.limit, self.refuse_past = limit, refuse_past
        self.readings: list[float] = []
        self.moves: list[tuple[float, float]] = []

    def reading(self, at: float) -> float:
        self.readings.append(at)
        return min(at, self.limit)

    def moving(self, at: float, speed: float) -> None:
        self.moves.append((at, speed))
        if at > self.refuse_past:
            raise OSError("the guard refuses")


def test_a_guard_sees_every_reading_and_may_hold_time_back() -> None:
    clock, timer = make(speed=2, start=100)
    guard = Guard(limit=110)
    clock.set_guard(guard)
    timer.t += 3
    assert clock.now() == 106 and guard.readings == [106]
    timer.t += 10
    assert clock.now() == 110 and clock.natural() == 126  # held at the guard's limit; the clock runs on
    clock.set_guard(None)
    assert clock.now() == 126 and len(guard.readings) == 2


def test_a_guard_is_asked_once_before_a_move_and_a_refused_move_moves_nothing() -> None:
    clock, timer = make(speed=1, start=100)
    guard = Guard(refuse_past=1000)
    clock.set_guard(guard)
    assert clock.move(60, speed=5) == 160 and clock.speed == 5
    assert guard.moves == [(160, 5)]  # the new time and the new speed, told first, once
    clock.advance(minutes=1)
    clock.set_speed(0)
    clock.set_time(300)
    assert guard.moves[1:] == [(220, 5), (220, 0), (300, 0)]
    with pytest.raises(OSError):
        clock.move(3600, speed=1)
    with pytest.raises(OSError):
        clock.set_time(5000)
    assert clock.now() == 300 and clock.speed == 0  # neither the time nor the speed moved
    with pytest.raises(ValueError, match="never moves backwards"):
        clock.set_time(200)  # refused by the clock before the guard is asked
    assert len(guard.moves) == 6


def test_held_puts_the_clock_back_as_it_was() -> None:
    clock, timer = make(speed=1, start=100)
    with clock.held():
        clock.move(500, speed=0)
        clock.start_over_at(9000)
    timer.t += 1
    assert clock.now() == 101 and clock.speed == 1
