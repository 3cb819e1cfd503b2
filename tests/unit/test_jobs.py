"""The job contract: one spec, to Batch's parameters and back, names, exit codes and retries."""

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from conveyor.errors import BadEvent
from conveyor.events.batch import JobStateChange
from conveyor.jobs import (
    EXIT_BAD_INPUT,
    EXIT_TRANSIENT,
    JOB_NAME_MAX,
    PARAMETERS,
    RETRY_ATTEMPTS,
    JobSpec,
    retried,
)
from conveyor.ledger import transitions
from conveyor.ledger.entries import spec_of
from conveyor.objects import ObjectVersion
from conveyor.routing import Route
from conveyor.status import Status

VALID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,127}$")


def spec(key: str, version_id: str = "v", transform: str = "copy") -> JobSpec:
    return JobSpec(ObjectVersion("b", key, "e", 1, version_id=version_id), transform)


def test_names_are_valid_for_hostile_keys() -> None:
    keys = ["videos/My Holiday (2026) ü.mov", "ü/ß/日本.mov", "-x", "a" * 1024, "__/", "..."]
    for key in keys:
        name = spec(key, transform="h264-720p").name
        assert VALID.match(name), name
        assert len(name) <= JOB_NAME_MAX


def test_names_differ_per_version_and_read_like_the_key() -> None:
    one = spec("in/cat video.mov", "v1").name
    two = spec("in/cat video.mov", "v2").name
    assert one != two
    assert one.startswith("cat-video-mov-copy-")


def test_parameters_are_all_strings() -> None:
    version = ObjectVersion("b", "k", '"etag"', 1)
    params = JobSpec.for_route(version, Route(match="*", transform="gzip")).parameters()
    assert set(params) == set(PARAMETERS)
    assert params["version_id"] == "" and params["sequencer"] == "" and params["output_key"] == ""
    assert params["etag"] == "etag" and params["argv"] == ""
    assert all(isinstance(v, str) for v in params.values())


texts = st.text(min_size=1, max_size=40).filter(lambda t: t.strip() == t and "\x00" not in t)


@given(
    key=texts,
    version_id=st.one_of(st.none(), texts),
    size=st.integers(min_value=0, max_value=5 * 1024**4),
    sequencer=st.one_of(st.none(), st.from_regex(r"[0-9A-F]{16,18}", fullmatch=True)),
    transform=st.sampled_from(["copy", "gzip", "command", "h264-720p"]),
    template=st.one_of(st.none(), texts),
    argv=st.one_of(st.none(), st.lists(texts, min_size=1, max_size=4).map(tuple)),
)
def test_a_spec_survives_batch_parameters_and_the_ledger(
    key: str,
    version_id: str | None,
    size: int,
    sequencer: str | None,
    transform: str,
    template: str | None,
    argv: tuple[str, ...] | None,
) -> None:
    version = ObjectVersion("bucket", key, "0123abcd", size, version_id, sequencer)
    original = JobSpec(version, transform, template, argv)
    params = original.parameters()
    assert JobSpec.from_parameters(params) == original
    # The ledger keeps the last job's spec, whatever job came before it: a resubmission is the
    # same job again, never a mix of two (an earlier job here had a template and an argv).
    earlier = JobSpec(version, "command", "{key}.old", ("cat",))
    item = None
    for job_id, spec in (("job-1", earlier), ("job-2", original)):
        change = JobStateChange(
            job_id=job_id,
            status=Status.SUBMITTED,
            parameters=spec.parameters(),
            created_at=int(job_id[-1]),
        )
        item = transitions.apply(item, change, "2026-11-28T00:00:00.000Z")
        assert item is not None
        assert spec_of(item) == spec


def test_a_route_travels_whole_so_the_worker_never_routes_again() -> None:
    route = Route(match="*.txt", transform="command", output_key="{key}.xz", argv=("xz", "-c"))
    version = ObjectVersion("b", "notes.txt", "e", 5, "v1")
    back = JobSpec.from_parameters(JobSpec.for_route(version, route).parameters())
    assert (back.transform, back.output_template, back.argv) == (
        "command",
        "{key}.xz",
        ("xz", "-c"),
    )


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"key": "k"}, "'bucket'"),
        ({"bucket": "b", "key": "k", "size": "big"}, "size"),
        ({"bucket": "b", "key": "k", "argv": "xz -c"}, "JSON list"),
        ({"bucket": "b", "key": "k", "argv": '["xz", ""]'}, "non-empty strings"),
    ],
)
def test_malformed_parameters_are_named(params: dict[str, str], message: str) -> None:
    with pytest.raises(BadEvent, match=message):
        JobSpec.from_parameters(params)


def test_retries_follow_the_one_rule_list() -> None:
    exited = "Essential container in task exited"
    assert retried(EXIT_TRANSIENT, exited, attempt=1)
    assert not retried(EXIT_TRANSIENT, exited, attempt=RETRY_ATTEMPTS)
    assert not retried(EXIT_BAD_INPUT, exited, attempt=1)
    assert not retried(0, exited, attempt=1)
    assert retried(None, "Host EC2 (instance i-0abc) terminated.", attempt=1)
