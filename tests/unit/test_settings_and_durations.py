from datetime import UTC, datetime, timedelta

import pytest

from conveyor import settings
from conveyor.durations import parse_duration, since
from conveyor.errors import ConfigError, ConveyorError
from trigger_lambda.config import TriggerConfig


def test_missing_settings_are_all_named() -> None:
    with pytest.raises(ConfigError) as info:
        settings.require([settings.LEDGER_TABLE, settings.JOB_QUEUE], {"CONVEYOR_JOB_QUEUE": ""})
    assert "CONVEYOR_LEDGER_TABLE" in str(info.value) and "CONVEYOR_JOB_QUEUE" in str(info.value)


def test_trigger_config_fails_fast_on_bad_routes() -> None:
    env = {
        settings.LEDGER_TABLE: "t",
        settings.JOB_QUEUE: "q",
        settings.JOB_DEFINITION: "d",
        settings.ROUTES: '[{"match": "*"}]',
    }
    with pytest.raises(ConfigError, match="rule 1"):
        TriggerConfig.from_env(env)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("90s", timedelta(seconds=90)),
        ("15m", timedelta(minutes=15)),
        ("2h30m", timedelta(hours=2, minutes=30)),
        ("1d", timedelta(days=1)),
        ("2W", timedelta(weeks=2)),
    ],
)
def test_durations(text: str, expected: timedelta) -> None:
    assert parse_duration(text) == expected


@pytest.mark.parametrize("text", ["", "h", "5", "5x", "1d 2h", "-1d"])
def test_bad_durations(text: str) -> None:
    with pytest.raises(ConveyorError, match="not a duration"):
        parse_duration(text)


def test_since_accepts_durations_and_times() -> None:
    now = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)
    assert since("1d", now) == datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
    assert since("2026-11-01T00:00:00Z", now) == datetime(2026, 11, 1, tzinfo=UTC)
    assert since("2026-11-01", now) == datetime(2026, 11, 1, tzinfo=UTC)


def test_worker_tuning_is_validated() -> None:
    from batch_job.config import WorkerConfig

    base = {settings.OUTPUT_BUCKET: "o", settings.ARCHIVE_BUCKET: "a"}
    assert (
        WorkerConfig.from_env({**base, "CONVEYOR_PROGRESS_SECONDS": "0.5"}).progress_seconds == 0.5
    )
    with pytest.raises(ConfigError, match="CONVEYOR_PART_SIZE must be at least"):
        WorkerConfig.from_env({**base, "CONVEYOR_PART_SIZE": "1024"})
    with pytest.raises(ConfigError, match="CONVEYOR_PROGRESS_SECONDS must be a number"):
        WorkerConfig.from_env({**base, "CONVEYOR_PROGRESS_SECONDS": "soon"})
    with pytest.raises(ConfigError, match="missing setting: CONVEYOR_ARCHIVE_BUCKET"):
        WorkerConfig.from_env({settings.OUTPUT_BUCKET: "o"})
