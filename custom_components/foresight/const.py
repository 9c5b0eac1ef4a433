"""Constants shared by Foresight's Home Assistant side."""

from __future__ import annotations

from datetime import timedelta
from typing import Final

DOMAIN: Final = "foresight"

SUBENTRY_ROOM: Final = "room"

# Home (config entry data).
CONF_PEOPLE: Final = "people"
CONF_ENERGY_SENSOR: Final = "energy_sensor"
CONF_PRODUCTION_SENSOR: Final = "production_sensor"  # the home's own (solar) production
CONF_EXPORT_SENSOR: Final = "export_sensor"  # what the home sends to the grid
CONF_BATTERY_DISCHARGE_SENSOR: Final = "battery_discharge_sensor"  # out of the home battery
CONF_BATTERY_CHARGE_SENSOR: Final = "battery_charge_sensor"  # into the home battery
# How each electricity sensor counts toward the home's use:
# import + production − export + battery discharge − battery charge.
# Each setting holds a list: a meter with two tariffs, two inverters, two batteries.
ELECTRICITY_FLOWS: Final = {
    CONF_ENERGY_SENSOR: 1.0,
    CONF_PRODUCTION_SENSOR: 1.0,
    CONF_EXPORT_SENSOR: -1.0,
    CONF_BATTERY_DISCHARGE_SENSOR: 1.0,
    CONF_BATTERY_CHARGE_SENSOR: -1.0,
}
CONF_OUTDOOR_TEMPERATURE: Final = "outdoor_temperature"

# Home settings (config entry options).
CONF_RETENTION_DAYS: Final = "retention_days"
CONF_WORKDAY_SENSOR: Final = "workday_sensor"
DEFAULT_RETENTION_DAYS: Final = 400
MIN_RETENTION_DAYS: Final = 30
MAX_RETENTION_DAYS: Final = 1500

# Room (config subentry data).
CONF_AREA: Final = "area"
CONF_NAME: Final = "name"
CONF_CLIMATE: Final = "climate"
# A room's presence sensors trusted to say when it is in use: they teach its other sensors.
CONF_TRUSTED_PRESENCE: Final = "trusted_presence"

# How often buffered samples are written to Foresight's own history and the models asked.
FLUSH_INTERVAL: Final = timedelta(minutes=5)
# How often the history is pruned and summarised (days held, coverage): the days it counts
# change slowly.
SUMMARY_INTERVAL: Final = timedelta(hours=1)
# Occupancy is published at most this often after state changes, and at least every minute.
OCCUPANCY_COOLDOWN_S: Final = 1.0
OCCUPANCY_INTERVAL: Final = timedelta(minutes=1)
# A choice made on a controller (on or off, a setting) is saved this many seconds after the last
# one: Home Assistant saves restorable states itself only when it stops and every 15 minutes.
KEEP_CHOICES_AFTER_S: Final = 5.0
# Numeric sources keep at most one raw sample per this many seconds (the hourly summary sees all).
NUMERIC_RESOLUTION_S: Final = 60
# Raw numeric samples are kept this long; older ones live on as hourly summaries.
RAW_NUMERIC_DAYS: Final = 14

HISTORY_DIR: Final = "foresight"

# Events.
EVENT_UNUSUAL_ENERGY: Final = "foresight_unusual_energy"

# Models are trained again every night at this local time (and on foresight.retrain).
# No time zone changes its clocks between 04:00 and 05:00: this time occurs once every day.
TRAIN_AT: Final = (4, 47, 0)
EVENT_MAINTENANCE: Final = "foresight_maintenance"

# Maintenance settings (config entry options).
CONF_EXCLUDED_BATTERIES: Final = "excluded_batteries"
CONF_BATTERY_LOW_LEVEL: Final = "battery_low_level"
CONF_BATTERY_LOW_LEVELS: Final = "battery_low_levels"  # per battery sensor: its own low level
CONF_WATCHED_APPLIANCES: Final = "watched_appliances"
DEFAULT_BATTERY_LOW_LEVEL: Final = 10
# Watched appliances keep their raw power this long: their cycles are learned from it.
APPLIANCE_RAW_DAYS: Final = 31
# Batteries predicted to run out within this many days are on the maintenance calendar.
CALENDAR_DAYS: Final = 60
# A new battery prediction this close is announced with foresight_maintenance.
ANNOUNCE_DAYS: Final = 7

# Controllers' settings (config entry options).
CONF_PET_PRONE: Final = "pet_prone"  # motion sensors a pet can set off
CONF_SIMULATION_LIGHTS: Final = "simulation_lights"  # presence simulation: the lights it uses
CONF_SIMULATION_MEDIA: Final = "simulation_media"  # and the media players it may switch on too
EVENT_UNEXPECTED_ACTIVITY: Final = "foresight_unexpected_activity"
# Activity this close to a person arriving or leaving is that person.
ARRIVAL_GRACE: Final = timedelta(minutes=3)
# Sources or batteries an entity's attributes name at most (get_forecast lists them all): a hub
# dropping hundreds must stay within what Home Assistant keeps of a state.
LISTED: Final = 20
