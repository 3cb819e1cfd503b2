import json

import pytest

from batch_job.transforms import REGISTRY
from conveyor.errors import ConfigError
from conveyor.routing import DEFAULT_ROUTES, TRANSFORMS, check_transform, parse_routes, route


def test_first_match_wins_and_sizes_bound() -> None:
    routes = parse_routes(
        json.dumps(
            [
                {"match": "videos/*.mov", "transform": "h264-1080p", "min_size": 100},
                {"match": "videos/*", "transform": "h264-720p", "job_queue": "big"},
                {"match": "logs/*.txt", "transform": "gzip", "max_size": 10},
            ]
        )
    )
    assert route("videos/a.mov", 500, routes).transform == "h264-1080p"
    small = route("videos/a.mov", 5, routes)
    assert small.transform == "h264-720p" and small.job_queue == "big"
    assert route("videos/deep/er/a.MOV", 500, routes).transform == "h264-1080p"
    assert route("logs/a.txt", 10, routes).transform == "gzip"
    assert route("logs/a.txt", 11, routes) is None
    assert route("other/a.txt", 1, routes) is None


def test_defaults_route_videos_only() -> None:
    assert parse_routes(None) == DEFAULT_ROUTES
    assert parse_routes("  ") == DEFAULT_ROUTES
    assert route("in/clip.MP4", 10, DEFAULT_ROUTES).transform == "h264-720p"
    assert route("in/notes.txt", 10, DEFAULT_ROUTES) is None


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("{", "not valid JSON"),
        ("{}", "non-empty JSON list"),
        ("[]", "non-empty JSON list"),
        ('["x"]', "rule 1: must be a JSON object"),
        ('[{"match": "*"}]', "rule 1.*'transform' is required"),
        (
            '[{"match": "*", "transform": "copy"}, {"match": "*", "transfrom": "x"}]',
            "rule 2.*'transfrom'",
        ),
        ('[{"match": "*", "transform": "copy", "min_size": "5"}]', "'min_size' must be a whole"),
        ('[{"match": "*", "transform": "copy", "max_size": -1}]', "'max_size' must be a whole"),
        ('[{"match": "*", "transform": "copy", "min_size": 9, "max_size": 1}]', "larger than"),
        ('[{"match": "", "transform": "copy"}]', "'match' must be a non-empty string"),
        ('[{"match": "*", "transform": "copy", "min_size": true}]', "'min_size'"),
        (
            '[{"match": "*", "transform": "copy"}, {"match": "*.mov", "transform": "h265"}]',
            "rule 2 .*unknown transform 'h265'; known: copy, gzip, command, h264-720p",
        ),
        ('[{"match": "*", "transform": "H264-720P"}]', "unknown transform 'H264-720P'"),
        (
            '[{"match": "*", "transform": "copy", "output_key": "{nope}.out"}]',
            "rule 1 .*output key template '{nope}.out' names nope; known: {key}",
        ),
        ('[{"match": "*", "transform": "copy", "output_key": "{key"}]', "rule 1 .*malformed"),
    ],
)
def test_invalid_routes_point_at_the_rule(text: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        parse_routes(text)


def test_the_core_knows_exactly_the_workers_transforms() -> None:
    """The core cannot import the worker; this keeps its list from drifting from the registry."""
    assert sorted(TRANSFORMS) == sorted(REGISTRY)
    assert {r.transform for r in DEFAULT_ROUTES} <= set(TRANSFORMS)


def test_check_transform_names_the_known_ones() -> None:
    assert check_transform("gzip") == "gzip"
    with pytest.raises(ConfigError, match=r"^--transform: unknown transform 'zip'; known: copy"):
        check_transform("zip", "--transform")
