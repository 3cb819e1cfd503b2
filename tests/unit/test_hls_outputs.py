"""An hls run's objects as the ledger's `outputs`, from a listing of its directory (for a job that
finds its master already written): each object's role by its name, segments counted into their
playlist, widths and bandwidths from the master."""

from __future__ import annotations

from batch_job.transforms.hls import Hls, outputs, playlists

RUN = "r-0123456789abcdef-0123456789ab-01234567"
FOLDER = "clips/a.mp4.hls/"
PREFIX = FOLDER + RUN + "/"

LISTING = [
    ("720p/index.m3u8", 400),
    ("720p/init_0.mp4", 800),
    ("720p/seg_00000.m4s", 1000),
    ("720p/seg_00001.m4s", 500),
    ("360p/index.m3u8", 300),
    ("360p/init_1.mp4", 700),
    ("360p/seg_00000.m4s", 200),
    ("poster.jpg", 50),
    ("sprite_001.jpg", 60),
    ("sprite_002.jpg", 70),
    ("thumbnails.vtt", 90),
    ("notes.txt", 5),  # no role: left out
]


def variant(height: int, width: int, bandwidth: int, average: int) -> playlists.Variant:
    return playlists.Variant(
        uri=f"{RUN}/{height}p/index.m3u8",
        bandwidth=bandwidth,
        average_bandwidth=average,
        width=width,
        height=height,
        video_codec="avc1.64001f",
        has_audio=True,
        frame_rate=25.0,
    )


MASTER = playlists.master(
    [variant(360, 640, 900_000, 800_000), variant(720, 1280, 3_100_000, 2_900_000)],
    poster=f"{RUN}/poster.jpg",
    thumbnails=f"{RUN}/thumbnails.vtt",
)


def test_roles_from_a_listing_and_the_master() -> None:
    described = outputs.describe_run("out", FOLDER, RUN, LISTING, MASTER)
    assert described == [
        {
            "bucket": "out",
            "key": PREFIX + "720p/index.m3u8",
            "role": "playlist",
            "bytes": 400,
            "height": 720,
            "width": 1280,
            "bandwidth": 3_100_000,
            "average_bandwidth": 2_900_000,
            "segments": 2,
            "segment_bytes": 1500,  # init segments are not counted, as when written
        },
        {
            "bucket": "out",
            "key": PREFIX + "360p/index.m3u8",
            "role": "playlist",
            "bytes": 300,
            "height": 360,
            "width": 640,
            "bandwidth": 900_000,
            "average_bandwidth": 800_000,
            "segments": 1,
            "segment_bytes": 200,
        },
        {"bucket": "out", "key": PREFIX + "poster.jpg", "role": "poster", "bytes": 50},
        {"bucket": "out", "key": PREFIX + "sprite_001.jpg", "role": "sprite", "bytes": 60},
        {"bucket": "out", "key": PREFIX + "sprite_002.jpg", "role": "sprite", "bytes": 70},
        {"bucket": "out", "key": PREFIX + "thumbnails.vtt", "role": "thumbnails", "bytes": 90},
    ]


def test_without_the_master_playlists_have_their_height_and_counts_only() -> None:
    described = outputs.describe_run("out", FOLDER, RUN, LISTING)
    top = described[0]
    assert top["height"] == 720 and top["segments"] == 2
    assert not {"width", "bandwidth", "average_bandwidth"} & set(top)
    # Another run's variants in the master give nothing to this one's playlists.
    other = MASTER.replace(RUN, "r-ffffffffffffffff-ffffffffffff-ffffffff")
    assert "bandwidth" not in outputs.describe_run("out", FOLDER, RUN, LISTING, other)[0]


def test_an_empty_run_describes_nothing_and_the_transform_exposes_it() -> None:
    assert outputs.describe_run("out", FOLDER, RUN, []) == []
    assert Hls().describe_run("out", FOLDER, RUN, LISTING, MASTER) == outputs.describe_run(
        "out", FOLDER, RUN, LISTING, MASTER
    )


def test_stream_infos_read_quoted_codecs_with_commas() -> None:
    infos = outputs.stream_infos(MASTER)
    assert infos[f"{RUN}/720p/index.m3u8"] == {
        "width": 1280,
        "bandwidth": 3_100_000,
        "average_bandwidth": 2_900_000,
    }
