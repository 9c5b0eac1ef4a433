"""A simulated home's week, minute by minute: who is where, and what the house does about it.

Pure Python, no Home Assistant: the seeding script (history before Home Assistant starts) and
the live simulation (the entities while it runs) share it, so the history a developer starts
with is the same routine the home then keeps living. Everything random comes from RNGs seeded
by the home's seed and the date, so a day is the same wherever it is simulated from.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta, tzinfo
from itertools import pairwise
import math
import random
from typing import Any

SEED = 2026
AWAY = "away"
HALLWAY = "hallway"

# Heated rooms: (name, volume m³, heater W, hours for the room to lose 63 % of its excess heat).
ROOMS: dict[str, tuple[str, float, float, float]] = {
    "living_room": ("Living room", 60.0, 1500.0, 22.0),
    "kitchen": ("Kitchen", 35.0, 800.0, 18.0),
    "bedroom": ("Bedroom", 35.0, 1000.0, 24.0),
    "bathroom": ("Bathroom", 15.0, 750.0, 14.0),
    "office": ("Office", 30.0, 800.0, 20.0),
}
AREAS: dict[str, str] = {**{room: spec[0] for room, spec in ROOMS.items()}, HALLWAY: "Hallway"}
PEOPLE: dict[str, str] = {"alice": "Alice", "bob": "Bob"}
LIGHT_W = {
    "living_room": 40,
    "kitchen": 30,
    "bedroom": 15,
    "bathroom": 20,
    "office": 25,
    HALLWAY: 8,
}
START_METER_KWH = 12_000.0
OUTDOOR_CO2 = 420.0


@dataclass(frozen=True, slots=True)
class EntitySpec:
    """One simulated entity: what it is, where it is, and how often it reports."""

    entity_id: str
    name: str
    area: str | None = None
    device_class: str | None = None
    unit: str | None = None
    state_class: str | None = None
    decimals: int = 1
    threshold: float = 0.0  # smallest change reported
    heartbeat: int = 0  # minutes after which any change is reported

    @property
    def domain(self) -> str:
        """The entity's domain."""
        return self.entity_id.split(".", 1)[0]


def _entities() -> dict[str, EntitySpec]:
    specs: list[EntitySpec] = []
    for room, (name, *_rest) in ROOMS.items():
        specs += [
            EntitySpec(f"binary_sensor.{room}_motion", f"{name} motion", room, "motion"),
            EntitySpec(f"binary_sensor.{room}_window", f"{name} window", room, "window"),
            EntitySpec(f"light.{room}", f"{name} light", room),
            EntitySpec(
                f"sensor.{room}_temperature",
                f"{name} temperature",
                room,
                "temperature",
                "°C",
                "measurement",
                threshold=0.2,
                heartbeat=15,
            ),
            EntitySpec(
                f"sensor.{room}_co2",
                f"{name} CO2",
                room,
                "carbon_dioxide",
                "ppm",
                "measurement",
                decimals=0,
                threshold=25,
                heartbeat=15,
            ),
            EntitySpec(f"climate.{room}", f"{name} thermostat", room),
        ]
    specs += [
        EntitySpec(
            "sensor.bathroom_humidity",
            "Bathroom humidity",
            "bathroom",
            "humidity",
            "%",
            "measurement",
            decimals=0,
            threshold=2,
            heartbeat=10,
        ),
        EntitySpec("binary_sensor.hallway_motion", "Hallway motion", HALLWAY, "motion"),
        EntitySpec("binary_sensor.front_door", "Front door", HALLWAY, "door"),
        EntitySpec("light.hallway", "Hallway light", HALLWAY),
    ]
    for entity_id, name, area in (
        ("sensor.living_room_tv_power", "TV power", "living_room"),
        ("sensor.kitchen_appliances_power", "Kitchen appliances power", "kitchen"),
        ("sensor.office_desk_power", "Desk power", "office"),
        ("sensor.washing_machine_power", "Washing machine power", "bathroom"),
    ):
        specs.append(
            EntitySpec(
                entity_id, name, area, "power", "W", "measurement", 0, threshold=5, heartbeat=5
            )
        )
    specs += [
        EntitySpec(
            "sensor.home_power",
            "Home power",
            None,
            "power",
            "W",
            "measurement",
            decimals=0,
            threshold=10,
            heartbeat=5,
        ),
        EntitySpec(
            "sensor.home_energy",
            "Home energy",
            None,
            "energy",
            "kWh",
            "total_increasing",
            decimals=3,
            threshold=0.05,
            heartbeat=5,
        ),
        EntitySpec(
            "sensor.outdoor_temperature",
            "Outdoor temperature",
            None,
            "temperature",
            "°C",
            "measurement",
            threshold=0.3,
            heartbeat=15,
        ),
    ]
    specs += [
        EntitySpec(f"device_tracker.{person}_phone", f"{name}'s phone")
        for person, name in PEOPLE.items()
    ]
    return {spec.entity_id: spec for spec in specs}


ENTITIES: dict[str, EntitySpec] = _entities()


@dataclass(frozen=True, slots=True)
class Climate:
    """A thermostat's reading: its set point, the room's temperature, whether it heats."""

    target: float
    current: float
    heating: bool


# --- the routine ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Household:
    """What the home decides together on one day."""

    weekend: bool
    bob_home_office: bool
    cook: str  # who cooks dinner
    shopping: tuple[int, int] | None  # both away (minutes of the local day)
    walk: tuple[int, int] | None
    night_out: tuple[int, int] | None
    laundry: int | None  # when the washing machine starts
    dishwasher: bool
    day_off: str | None  # someone staying home on a workday


def _rng(*parts: object) -> random.Random:
    return random.Random(":".join(str(part) for part in (SEED, *parts)))


def _minutes(rng: random.Random, hour: float, spread_min: float) -> int:
    return round(hour * 60 + rng.gauss(0, spread_min))


def household(day: date) -> Household:
    """The shared decisions of a day: who cooks, outings, laundry, days off."""
    rng = _rng("home", day.isoformat())
    weekday = day.weekday()
    weekend = weekday >= 5
    day_off = None
    if not weekend and rng.random() < 0.06:
        day_off = rng.choice(list(PEOPLE))
    shopping = walk = night_out = None
    if weekday == 5 and rng.random() < 0.75:
        start = _minutes(rng, 10.5, 30)
        shopping = (start, start + rng.randint(90, 150))
    if weekday == 6 and rng.random() < 0.55:
        start = _minutes(rng, 15.0, 40)
        walk = (start, start + rng.randint(90, 150))
    if weekday == 5 and rng.random() < 0.4:
        night_out = (_minutes(rng, 19.5, 20), _minutes(rng, 23.4, 15))
    laundry = None
    if weekday == 2:
        laundry = _minutes(rng, 19.0, 20)
    elif weekday == 5:
        laundry = _minutes(rng, 9.0, 15)
    return Household(
        weekend=weekend,
        bob_home_office=weekday in (0, 1, 3),
        cook="alice"
        if weekday in (0, 2, 4)
        else "bob"
        if weekday in (1, 3)
        else rng.choice(list(PEOPLE)),
        shopping=shopping,
        walk=walk,
        night_out=night_out,
        laundry=laundry,
        dishwasher=rng.random() < 0.55,
        day_off=day_off,
    )


class _Plan:
    """A person's day as a list of (start minute, place, activity), built in time order."""

    def __init__(self) -> None:
        self.points: list[tuple[int, str, str]] = [(0, "bedroom", "sleep")]
        self.now = 0

    def go(self, place: str, activity: str, minutes: int) -> None:
        self.until(place, activity, self.now + max(1, minutes))

    def until(self, place: str, activity: str, end: int) -> None:
        start = min(self.now, 1438)
        if self.points[-1][0] >= start:
            self.points[-1] = (self.points[-1][0], place, activity)
        else:
            self.points.append((start, place, activity))
        self.now = min(max(end, start + 1), 1439)

    def leave(self, back: int) -> None:
        self.go(HALLWAY, "leaving", 2)
        self.until(AWAY, "out", back)
        self.go(HALLWAY, "arriving", 2)

    def minutes(self) -> list[tuple[str, str]]:
        """Where the person is and what they do, for each minute of the day."""
        by_minute: list[tuple[str, str]] = []
        bounds = [*self.points, (1440, "", "")]
        for (start, place, activity), (end, _p, _a) in pairwise(bounds):
            by_minute += [(place, activity)] * (end - start)
        return by_minute


def _evening(plan: _Plan, rng: random.Random, home: Household, person: str, bedtime: int) -> None:
    """From coming home to sleep: cooking, dinner, the sofa, the bathroom, bed."""
    dinner = _minutes(rng, 19.6 if not home.weekend else 19.8, 10)
    if home.night_out:
        plan.until("living_room", "idle", home.night_out[0] - 20)
        plan.go("bathroom", "getting_ready", rng.randint(8, 15))
        plan.until("living_room", "idle", home.night_out[0])
        plan.leave(home.night_out[1])
    else:
        if home.cook == person:
            plan.until("living_room", "idle", dinner - rng.randint(35, 50))
            plan.until("kitchen", "cook", dinner)
        else:
            plan.until("living_room", "tv" if rng.random() < 0.5 else "idle", dinner)
        plan.go("kitchen", "dinner", rng.randint(25, 40))
        if person == "bob" and rng.random() < 0.25:
            plan.leave(plan.now + rng.randint(75, 100))  # the gym
        plan.until("living_room", "tv", bedtime - rng.randint(10, 18))
    plan.go("bathroom", "evening_routine", rng.randint(6, 12))
    plan.go("bedroom", "bed", rng.randint(5, 20))
    plan.until("bedroom", "sleep", 1440)


def _small_breaks(
    by_minute: list[tuple[str, str]], rng: random.Random, rooms: tuple[str, ...]
) -> None:
    """A few short visits (bathroom, kitchen) during long stays at home."""
    for _ in range(rng.randint(3, 6)):
        start = rng.randint(7 * 60, 22 * 60)
        place, activity = by_minute[start]
        if place in (AWAY, HALLWAY, "bathroom") or activity in ("sleep", "cook", "shower"):
            continue
        target = rng.choice(rooms)
        for minute in range(start, min(start + rng.randint(3, 8), 1440)):
            if by_minute[minute] != (place, activity):
                break
            by_minute[minute] = (target, "short_visit")


def person_day(person: str, day: date) -> list[tuple[str, str]]:
    """Where ``person`` is (a room, the hallway or away) and what they do, per local minute."""
    rng = _rng(person, day.isoformat())
    home = household(day)
    plan = _Plan()
    if rng.random() < 0.15:  # a night-time trip to the bathroom
        night = rng.randint(120, 300)
        plan.until("bedroom", "sleep", night)
        plan.go("bathroom", "night", rng.randint(3, 6))
        plan.until("bedroom", "sleep", night + 10)
    works_out = (
        not home.weekend
        and home.day_off != person
        and not (person == "bob" and home.bob_home_office)
    )
    if person == "alice":
        wake = _minutes(rng, 8.4 if home.weekend or home.day_off == person else 6.75, 20)
        bedtime = _minutes(rng, 23.5 if home.weekend else 22.8, 25)
    else:
        wake = _minutes(rng, 9.2 if home.weekend or home.day_off == person else 7.4, 25)
        bedtime = _minutes(rng, 23.8 if home.weekend else 23.2, 30)
    plan.until("bedroom", "sleep", wake)
    plan.go("bedroom", "waking", rng.randint(3, 8))
    plan.go("bathroom", "shower", rng.randint(10, 20))
    plan.go("bedroom", "dressing", rng.randint(4, 10))
    plan.go("kitchen", "breakfast", rng.randint(15, 30 if home.weekend else 22))
    if works_out:
        back = (
            _minutes(rng, 19.3, 40)
            if day.weekday() == 4 and rng.random() < 0.5
            else _minutes(rng, 17.8 if person == "alice" else 18.2, 30)
        )
        plan.leave(back)
    elif person == "bob" and home.bob_home_office and home.day_off != person:
        plan.until("office", "work", _minutes(rng, 12.5, 10))
        plan.go("kitchen", "lunch", rng.randint(30, 50))
        plan.until("office", "work", _minutes(rng, 17.5, 25))
    else:
        outings = [o for o in (home.shopping, home.walk) if o is not None]
        if person == "bob" and day.weekday() == 6 and rng.random() < 0.6:
            outings.insert(0, (_minutes(rng, 10.0, 15), _minutes(rng, 12.0, 15)))
        for start, end in sorted(outings):
            if start > plan.now + 10:
                plan.until("living_room", "idle", start)
            plan.leave(end)
        if plan.now < 12 * 60 + 30:
            plan.until("living_room", "idle", _minutes(rng, 12.6, 15))
            plan.go("kitchen", "lunch", rng.randint(30, 50))
    _evening(plan, rng, home, person, bedtime)
    by_minute = plan.minutes()
    _small_breaks(by_minute, rng, ("bathroom", "kitchen"))
    return by_minute


# --- the house --------------------------------------------------------------------------------


def outdoor_temperature(when: datetime) -> float:
    """A plausible outdoor temperature (°C) for Paris: season, time of day, weather of the day."""
    day = when.date()
    doy = day.timetuple().tm_yday
    season = 11.5 - 8.0 * math.cos(2 * math.pi * (doy - 20) / 365.0)
    hour = when.hour + when.minute / 60
    diurnal = 4.0 * math.sin(2 * math.pi * (hour - 9.0) / 24.0)

    def weather(d: date) -> float:
        return _rng("weather", d.isoformat()).gauss(0.0, 3.0)

    blend = hour / 24.0  # the day's weather drifts smoothly into the next day's
    return season + diurnal + (1 - blend) * weather(day) + blend * weather(day + timedelta(days=1))


def _dark(local: datetime) -> bool:
    doy = local.timetuple().tm_yday
    daylight = 12.2 + 4.0 * math.sin(2 * math.pi * (doy - 80) / 365.0)
    noon = 13.3 if local.utcoffset() == timedelta(hours=1) else 13.8  # solar noon, CET / CEST
    hour = local.hour + local.minute / 60
    return not noon - daylight / 2 + 0.5 < hour < noon + daylight / 2 - 0.5


def set_point(room: str, local: datetime, home: Household) -> float:
    """The thermostat's programme: comfort when the room is usually used, eco otherwise."""
    hour = local.hour + local.minute / 60
    early = home.weekend or home.day_off is not None
    if room == "living_room":
        comfort = 8.0 <= hour < 23.5 if early else 6.5 <= hour < 8 or 16.5 <= hour < 23
        return 20.5 if comfort else 17.0
    if room == "kitchen":
        comfort = 6.5 <= hour < 8.5 or 11.5 <= hour < 13.5 or 17.5 <= hour < 21
        return 19.5 if comfort else 16.5
    if room == "bedroom":
        return 19.0 if 6.5 <= hour < 7.5 else 18.0
    if room == "bathroom":
        return 22.0 if 6.25 <= hour < 8.5 or 20.5 <= hour < 23 else 17.0
    return 20.5 if home.bob_home_office and 8.25 <= hour < 17.75 else 16.0


_MOTION_RATE = {
    "sleep": 0.02,
    "bed": 0.3,
    "tv": 0.3,
    "work": 0.35,
    "dinner": 0.5,
    "lunch": 0.5,
    "cook": 0.9,
}
# (room, chance, minutes) of opening the window when an activity starts there.
_AIRING = {
    "waking": ("bedroom", 0.45, 15),
    "shower": ("bathroom", 0.5, 20),
    "cook": ("kitchen", 0.3, 25),
}


@dataclass(slots=True)
class HouseState:
    """Everything the house remembers from one minute to the next."""

    temperature: dict[str, float] = field(default_factory=lambda: dict.fromkeys(ROOMS, 19.0))
    co2: dict[str, float] = field(default_factory=lambda: dict.fromkeys(ROOMS, 600.0))
    humidity: float = 55.0
    heating: dict[str, bool] = field(default_factory=lambda: dict.fromkeys(ROOMS, False))
    motion_until: dict[str, int] = field(default_factory=dict)
    window_until: dict[str, int] = field(default_factory=dict)
    light_off_at: dict[str, int] = field(default_factory=dict)
    light_on: dict[str, bool] = field(default_factory=dict)
    door_until: int = 0
    dishwasher_start: int | None = None
    laundry_start: int | None = None
    meter_kwh: float = START_METER_KWH
    held: dict[str, tuple[float, int]] = field(default_factory=dict)  # set point, until minute
    switched_off: set[str] = field(default_factory=set)
    previous: dict[str, tuple[str, str]] = field(default_factory=dict)


class Home:
    """The simulated home, advanced one minute at a time from ``start`` (UTC)."""

    def __init__(self, start: datetime, time_zone: tzinfo, state: HouseState | None = None) -> None:
        """Start at ``start`` (rounded down to the minute) with a default or given house."""
        self.now = start.astimezone(UTC).replace(second=0, microsecond=0)
        self.time_zone = time_zone
        self.state = state or HouseState()
        self._days: dict[date, tuple[Household, dict[str, list[tuple[str, str]]]]] = {}
        self._rng = _rng("minutes", self.now.isoformat())

    def _day(self, day: date) -> tuple[Household, dict[str, list[tuple[str, str]]]]:
        if day not in self._days:
            self._days = {d: v for d, v in self._days.items() if d >= day - timedelta(days=1)}
            self._days[day] = (household(day), {p: person_day(p, day) for p in PEOPLE})
        return self._days[day]

    def where(self, when: datetime) -> dict[str, tuple[str, str]]:
        """Each person's place and activity at ``when``."""
        local = when.astimezone(self.time_zone)
        _home, people = self._day(local.date())
        minute = local.hour * 60 + local.minute
        return {person: by_minute[minute] for person, by_minute in people.items()}

    def step(self) -> dict[str, Any]:
        """Advance one minute; the value of every entity at the new time."""
        self.now += timedelta(minutes=1)
        now = self.now
        tick = int(now.timestamp() // 60)
        local = now.astimezone(self.time_zone)
        home, _people = self._day(local.date())
        minute_of_day = local.hour * 60 + local.minute
        where = self.where(now)
        state = self.state
        rng = self._rng
        outdoor = outdoor_temperature(local)
        dark = _dark(local)
        values: dict[str, Any] = {}

        occupants: dict[str, list[str]] = {}
        for person, (place, activity) in where.items():
            occupants.setdefault(place, []).append(activity)
            values[f"device_tracker.{person}_phone"] = place != AWAY
            if state.previous.get(person) != (place, activity):
                previous_place = state.previous.get(person, (place, ""))[0]
                if place != previous_place:
                    state.motion_until[place] = tick + 2  # walking in is always seen
                    if AWAY in (place, previous_place):
                        state.door_until = tick + 1
                if (airing := _AIRING.get(activity)) and rng.random() < airing[1]:
                    state.window_until[airing[0]] = tick + airing[2]
                state.previous[person] = (place, activity)

        if minute_of_day == 20 * 60 + 15 and home.dishwasher:
            state.dishwasher_start = tick
        if home.laundry is not None and minute_of_day == home.laundry:
            state.laundry_start = tick
        if outdoor > 21 and "living_room" in occupants and rng.random() < 0.02:
            state.window_until["living_room"] = tick + rng.randint(20, 60)

        power = 55.0 + rng.uniform(0, 6)  # router, standby, always-on
        fridge = 85.0 if tick % 50 < 18 else 0.0
        mean_temperature = sum(state.temperature.values()) / len(ROOMS)
        for room, (_name, volume, heater_w, loss_h) in ROOMS.items():
            here = occupants.get(room, [])
            window = state.window_until.get(room, 0) > tick
            temperature = state.temperature[room]
            target = set_point(room, local, home)
            if (held := state.held.get(room)) and held[1] > tick:
                target = held[0]
            if window or room in state.switched_off:
                state.heating[room] = False
            elif temperature < target - 0.3:
                state.heating[room] = True
            elif temperature > target + 0.2:
                state.heating[room] = False
            heating = state.heating[room]
            gain = (
                len(here) * 0.12
                + (1.0 if "cook" in here else 0.0)
                + (0.6 if "shower" in here else 0.0)
            )
            change = (
                (outdoor - temperature) / (loss_h * 60)
                + (mean_temperature - temperature) / (8 * 60)
                + (heater_w / volume / 12.5 if heating else 0.0) / 60
                + gain / 60
                + ((outdoor - temperature) / 90 if window else 0.0)
            )
            state.temperature[room] = temperature + change
            ventilation = 6.0 if window else 0.6  # air changes per hour
            emitted = sum(0.012 if activity == "sleep" else 0.02 for activity in here)  # m³/h
            co2 = state.co2[room]
            state.co2[room] = (
                co2 + (emitted / volume * 1e6 - ventilation * (co2 - OUTDOOR_CO2)) / 60
            )
            if heating:
                power += heater_w
            values[f"sensor.{room}_temperature"] = state.temperature[room]
            values[f"sensor.{room}_co2"] = state.co2[room]
            values[f"binary_sensor.{room}_window"] = window
            values[f"climate.{room}"] = Climate(target, state.temperature[room], heating)

        shower = "shower" in occupants.get("bathroom", [])
        ventilation = 6.0 if state.window_until.get("bathroom", 0) > tick else 1.5
        state.humidity += (2.5 if shower else 0.0) - ventilation / 60 * (state.humidity - 50.0)
        state.humidity = min(state.humidity, 95.0)
        values["sensor.bathroom_humidity"] = state.humidity

        for room in AREAS:
            here = occupants.get(room, [])
            awake = [a for a in here if a != "sleep"]
            rate = max((_MOTION_RATE.get(a, 0.6) for a in here), default=0.0)
            if here and rng.random() < rate:
                state.motion_until[room] = tick + 2
            values[f"binary_sensor.{room}_motion"] = state.motion_until.get(room, 0) > tick
            wants_light = bool(awake) and (dark or room in ("bathroom", HALLWAY))
            if wants_light:
                state.light_on[room] = True
                state.light_off_at.pop(room, None)
            elif state.light_on.get(room):
                if room not in state.light_off_at:  # sometimes a light is left on for a while
                    linger = rng.randint(5, 25) if rng.random() < 0.2 else 0
                    state.light_off_at[room] = tick + linger
                if state.light_off_at[room] <= tick:
                    state.light_on[room] = False
                    del state.light_off_at[room]
            values[f"light.{room}"] = state.light_on.get(room, False)
            if values[f"light.{room}"]:
                power += LIGHT_W[room]
        values["binary_sensor.front_door"] = state.door_until > tick

        tv = 105.0 + rng.uniform(-8, 8) if "tv" in occupants.get("living_room", []) else 1.0
        kitchen_here = occupants.get("kitchen", [])
        kitchen = fridge
        if "cook" in kitchen_here and rng.random() < 0.7:
            kitchen += 1800.0
        if "breakfast" in kitchen_here and tick % 20 < 3:
            kitchen += 2000.0  # the kettle
        if "lunch" in kitchen_here and tick % 30 < 3:
            kitchen += 900.0  # the microwave
        if state.dishwasher_start is not None:
            elapsed = tick - state.dishwasher_start
            if elapsed < 20 or 70 <= elapsed < 90:
                kitchen += 1900.0
            elif elapsed < 120:
                kitchen += 90.0
            else:
                state.dishwasher_start = None
        desk = 145.0 + rng.uniform(-10, 10) if "work" in occupants.get("office", []) else 3.0
        washing = 1.0
        if state.laundry_start is not None:
            elapsed = tick - state.laundry_start
            if elapsed < 15:
                washing = 2100.0
            elif elapsed < 95:
                washing = 150.0 + (350.0 if elapsed % 7 == 0 else 0.0)
            elif elapsed < 105:
                washing = 500.0  # spinning
            else:
                state.laundry_start = None
        values["sensor.living_room_tv_power"] = tv
        values["sensor.kitchen_appliances_power"] = kitchen
        values["sensor.office_desk_power"] = desk
        values["sensor.washing_machine_power"] = washing
        power += tv + kitchen + desk + washing
        state.meter_kwh += power / 60_000.0
        values["sensor.home_power"] = power
        values["sensor.home_energy"] = state.meter_kwh
        values["sensor.outdoor_temperature"] = outdoor
        return values

    def run(self, until: datetime) -> Iterator[tuple[datetime, dict[str, Any]]]:
        """Step up to ``until``, yielding each minute's time and values."""
        while self.now + timedelta(minutes=1) <= until:
            values = self.step()
            yield self.now, values


class Reporter:
    """Decides which values are reported, as real sensors do: on change, within their precision."""

    def __init__(self) -> None:
        """Nothing reported yet."""
        self.reported: dict[str, Any] = {}
        self._when: dict[str, int] = {}

    def changes(self, tick: int, values: dict[str, Any]) -> dict[str, Any]:
        """The values that changed enough to be reported at minute ``tick``, rounded."""
        changed: dict[str, Any] = {}
        for entity_id, value in values.items():
            spec = ENTITIES[entity_id]
            old = self.reported.get(entity_id)
            if isinstance(value, float):
                value = round(value, spec.decimals) if spec.decimals else float(round(value))
                if old is not None and value != old:
                    due = spec.heartbeat and tick - self._when[entity_id] >= spec.heartbeat
                    if abs(value - old) < spec.threshold - 1e-9 and not due:
                        continue
            elif isinstance(value, Climate):
                # Thermostats show the room's temperature to the half degree.
                value = Climate(value.target, round(value.current * 2) / 2, value.heating)
            if value == old:
                continue
            changed[entity_id] = value
            self.reported[entity_id] = value
            self._when[entity_id] = tick
        return changed
