"""The `ladder` route field: hls only, validated at start-up, carried in the job's argv."""

import json

import pytest

from conveyor.errors import ConfigError
from conveyor.jobs import JobSpec
from conveyor.objects import ObjectVersion
from conveyor.routing import parse_routes, parse_rung, route


def test_ladder_becomes_the_jobs_argv() -> None:
    [rule] = parse_routes(
        json.dumps([{"match": "*.mov", "transform": "hls", "ladder": [1080, "720:3000k", 360]}])
    )
    assert rule.ladder == rule.argv == ("1080", "720:3000k", "360")
    version = ObjectVersion("b", "a.mov", "e", 1, "v1", None)
    spec = JobSpec.for_route(version, route("a.mov", 1, [rule]))
    assert JobSpec.from_parameters(spec.parameters()).argv == ("1080", "720:3000k", "360")


def test_hls_without_a_ladder_takes_the_default() -> None:
    [rule] = parse_routes(json.dumps([{"match": "*.mov", "transform": "hls"}]))
    assert rule.argv is None and rule.ladder is None


@pytest.mark.parametrize(
    ("rule", "message"),
    [
        ({"transform": "h264-720p", "ladder": [720]}, "for transform 'hls' only"),
        ({"transform": "hls", "ladder": [720], "argv": ["x"]}, "takes 'ladder', not 'argv'"),
        ({"transform": "hls", "ladder": []}, "non-empty list"),
        ({"transform": "hls", "ladder": "720"}, "non-empty list"),
        ({"transform": "hls", "ladder": [720.5]}, "must be a height or a string"),
        ({"transform": "hls", "ladder": [True]}, "must be a height or a string"),
        ({"transform": "hls", "ladder": ["720p"]}, "is not HEIGHT or HEIGHT:BITRATE"),
        ({"transform": "hls", "ladder": [721]}, "height must be even"),
        ({"transform": "hls", "ladder": [8000]}, "height must be even, 64..4320"),
        ({"transform": "hls", "ladder": ["720:10k"]}, "bitrate must be 50k..100000k"),
        ({"transform": "hls", "ladder": [720, "720:2000k"]}, "names a height twice"),
    ],
)
def test_bad_ladders_name_the_rule_and_why(rule: dict, message: str) -> None:
    with pytest.raises(ConfigError, match="rule 1") as raised:
        parse_routes(json.dumps([{"match": "*", **rule}]))
    assert message in str(raised.value)


def test_rung_grammar() -> None:
    assert parse_rung("720") == (720, None)
    assert parse_rung(" 720:3000k ") == (720, 3000)
    assert parse_rung("1080:5M") == (1080, 5000)
    with pytest.raises(ValueError, match="HEIGHT:BITRATE"):
        parse_rung("720:3000")
