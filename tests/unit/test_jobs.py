import re

from conveyor.jobs import JOB_NAME_MAX, PARAMETERS, job_name, job_parameters
from conveyor.objects import ObjectVersion
from conveyor.routing import Route

VALID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,127}$")


def test_names_are_valid_for_hostile_keys() -> None:
    keys = ["videos/My Holiday (2026) ü.mov", "ü/ß/日本.mov", "-x", "a" * 1024, "__/", "..."]
    for key in keys:
        name = job_name(ObjectVersion("b", key, "e", 1, version_id="v"), "h264-720p")
        assert VALID.match(name), name
        assert len(name) <= JOB_NAME_MAX


def test_names_differ_per_version_and_read_like_the_key() -> None:
    one = job_name(ObjectVersion("b", "in/cat video.mov", "e", 1, version_id="v1"), "copy")
    two = job_name(ObjectVersion("b", "in/cat video.mov", "e", 1, version_id="v2"), "copy")
    assert one != two
    assert one.startswith("cat-video-mov-copy-")


def test_parameters_are_all_strings() -> None:
    version = ObjectVersion("b", "k", '"etag"', 1)
    params = job_parameters(version, Route(match="*", transform="gzip"))
    assert set(params) == set(PARAMETERS)
    assert params["version_id"] == "" and params["sequencer"] == "" and params["output_key"] == ""
    assert params["etag"] == "etag"
    assert all(isinstance(v, str) for v in params.values())
