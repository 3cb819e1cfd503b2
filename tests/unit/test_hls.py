"""The hls transform's pure parts: the ladder, the master playlist, the WebVTT index, which files
are ready to upload, when ffmpeg is paused, which run directories go."""

from __future__ import annotations

import m3u8
import pytest
import webvtt

from batch_job.errors import BadInput
from batch_job.transforms.hls import command, ladder, playlists, stream, thumbnails
from batch_job.transforms.hls.ladder import DEFAULT_LADDER, Rendition, Rung, choose, parse_ladder
from batch_job.tree_runs import doomed_runs, new_run_id, tree_dir, version_prefix


def heights(renditions: list[Rendition]) -> list[int]:
    return [r.height for r in renditions]


def test_never_upscaled_and_widths_keep_the_aspect() -> None:
    assert heights(choose(DEFAULT_LADDER, 1920, 1080)) == [1080, 720, 480, 360]
    chosen = choose(DEFAULT_LADDER, 1280, 720)
    assert [(r.width, r.height) for r in chosen] == [(1280, 720), (854, 480), (640, 360)]
    assert heights(choose(DEFAULT_LADDER, 1000, 719)) == [480, 360]
    top = chosen[0]
    assert (top.video_kbps, top.maxrate_kbps, top.bufsize_kbps) == (2800, 2996, 4200)


def test_a_source_below_every_rung_keeps_its_own_even_height() -> None:
    [only] = choose(DEFAULT_LADDER, 320, 239)
    assert (only.width, only.height, only.video_kbps) == (318, 238, 800)
    [odd] = choose(DEFAULT_LADDER, 175, 99)
    assert odd.height == 98 and odd.width % 2 == 0


def test_rotated_sources_use_the_display_size() -> None:
    # A phone's 1920x1080 clip turned 90 degrees is shown 1080 wide, 1920 tall.
    portrait = choose(DEFAULT_LADDER, 1080, 1920)
    assert heights(portrait) == [1080, 720, 480, 360]
    assert [r.width for r in portrait] == [608, 404, 270, 202]


def test_job_ladder_parsing() -> None:
    assert parse_ladder(None) == DEFAULT_LADDER
    assert parse_ladder(["360", "1080:6M", "720:3000k"]) == (
        Rung(1080, 6000),
        Rung(720, 3000),
        Rung(360, 800),
    )
    assert parse_ladder(["540"])[0].video_kbps == ladder.default_kbps(540)
    for bad in (["abc"], ["721"], ["720", "720:1M"]):
        with pytest.raises(BadInput, match="hls"):
            parse_ladder(bad)


def test_command_maps_audio_only_when_there_is_some() -> None:
    renditions = choose(DEFAULT_LADDER, 1280, 720)
    with_audio = command.plan_encode(renditions, has_audio=True, duration=300)
    args = command.hls_args(with_audio, "https://example.invalid/x")
    assert args[args.index("-var_stream_map") + 1] == (
        "v:0,a:0,name:720p v:1,a:1,name:480p v:2,a:2,name:360p"
    )
    assert args.count("0:a:0") == 3
    assert "fps=1/3," in args[args.index("-filter_complex") + 1]  # 300 s / 100 thumbnails
    assert with_audio.poster_at == 5.0
    silent = command.hls_args(
        command.plan_encode(renditions, has_audio=False, duration=20), "https://x.invalid/y"
    )
    assert "0:a:0" not in silent
    assert (
        silent[silent.index("-var_stream_map") + 1] == "v:0,name:720p v:1,name:480p v:2,name:360p"
    )
    assert "trim=start=2.0:end=3.0" in silent[silent.index("-filter_complex") + 1]


JPEG_MAX = 65_535
"""Pixels a JPEG's side may have (its header holds 16 bits)."""


@pytest.mark.parametrize(
    ("width", "height", "thumbnail"),
    [(1280, 720, (160, 90)), (1080, 1920, (90, 160)), (64, 4320, (2, 160)), (4320, 64, (160, 2))],
)
def test_thumbnails_fit_160_square_so_sheets_stay_jpeg_sized(
    width: int, height: int, thumbnail: tuple[int, int]
) -> None:
    """A 64x4320 source's thumbnails were 160x10800: a sheet of 10 rows, 108,000 pixels high."""
    encode = command.plan_encode(
        choose(DEFAULT_LADDER, width, height), has_audio=False, duration=60
    )
    s = encode.sprites
    assert (s.width, s.height) == thumbnail
    assert s.width * s.columns <= JPEG_MAX and s.height * s.rows <= JPEG_MAX
    graph = command.filter_graph(encode)
    assert f"scale={s.width}:{s.height},setsar=1,format=yuvj420p,tile=10x10" in graph


MEDIA = """#EXTM3U
#EXT-X-VERSION:7
#EXT-X-TARGETDURATION:6
#EXT-X-PLAYLIST-TYPE:VOD
#EXT-X-MAP:URI="init_0.mp4"
#EXTINF:6.000000,
seg_00000.m4s
#EXTINF:6.000000,
seg_00001.m4s
#EXTINF:1.000000,
seg_00002.m4s
#EXT-X-ENDLIST
"""


def test_media_playlist_and_bandwidths() -> None:
    media = playlists.parse_media(MEDIA)
    assert media.init == "init_0.mp4" and media.target == 6
    assert media.segments[2] == ("seg_00002.m4s", 1.0)
    durations = [d for _, d in media.segments]
    # The short last segment alone is not a run of 3..9 s; with the one before it, it is.
    sizes = [600_000, 750_000, 400_000]
    assert playlists.peak_bandwidth(durations, sizes, 6) == 8 * 1_150_000 // 7 + 1
    assert playlists.average_bandwidth(durations, sizes) == 8 * 1_750_000 // 13 + 1
    assert playlists.peak_bandwidth([1.0], [1000], 6) == 8000  # shorter than half a segment


def test_codec_string_from_the_avcc_box() -> None:
    init = b"\x00\x00\x00\x2favcC\x01\x64\x00\x1f\xff"
    assert playlists.avc_codec(init) == "avc1.64001f"
    with pytest.raises(RuntimeError):
        playlists.avc_codec(b"no box here")


def test_master_playlist_text_parses_and_is_highest_first() -> None:
    low = playlists.Variant(
        "r-1/360p/index.m3u8", 900_000, 800_000, 640, 360, "avc1.64001e", True, 25.0
    )
    high = playlists.Variant(
        "r-1/720p/index.m3u8", 3_100_000, 2_900_000, 1280, 720, "avc1.64001f", True, 25.0
    )
    text = playlists.master([low, high], poster="r-1/poster.jpg", thumbnails="r-1/thumbnails.vtt")
    assert text.splitlines()[:3] == ["#EXTM3U", "#EXT-X-VERSION:7", "#EXT-X-INDEPENDENT-SEGMENTS"]
    assert (
        "#EXT-X-STREAM-INF:BANDWIDTH=3100000,AVERAGE-BANDWIDTH=2900000,RESOLUTION=1280x720,"
        'CODECS="avc1.64001f,mp4a.40.2",FRAME-RATE=25.000'
    ) in text
    parsed = m3u8.loads(text)
    assert [p.uri for p in parsed.playlists] == [high.uri, low.uri]
    assert {d.data_id: d.value for d in parsed.session_data} == {
        "com.conveyor.poster": "r-1/poster.jpg",
        "com.conveyor.thumbnails": "r-1/thumbnails.vtt",
    }
    quiet = playlists.Variant(low.uri, 1, 1, 640, 360, "avc1.64001e", False, None)
    silent = playlists.master([quiet], poster=None, thumbnails=None)
    assert 'CODECS="avc1.64001e"' in silent and "FRAME-RATE" not in silent
    assert "SESSION-DATA" not in silent


def test_webvtt_cues_point_at_tiles_that_exist() -> None:
    sprites = command.Sprites(interval=2, width=160, height=90, columns=10, rows=10)
    text = thumbnails.webvtt(205.5, sprites, sheets=2)
    cues = webvtt.from_string(text).captions
    assert len(cues) == 103  # ceil(205.5 / 2)
    assert (cues[0].start, cues[0].end, cues[0].text) == (
        "00:00:00.000",
        "00:00:02.000",
        "sprite_001.jpg#xywh=0,0,160,90",
    )
    assert cues[11].text == "sprite_001.jpg#xywh=160,90,160,90"
    assert cues[100].text == "sprite_002.jpg#xywh=0,0,160,90"
    assert (cues[-1].start, cues[-1].end) == ("00:03:24.000", "00:03:25.500")
    # Only one sheet made (ffmpeg stopped early): no cue points at the second.
    assert len(webvtt.from_string(thumbnails.webvtt(205.5, sprites, sheets=1)).captions) == 100


def test_files_are_uploaded_only_once_complete() -> None:
    on_disk = [
        "720p/init_0.mp4",
        "480p/init_1.mp4",
        "480p/seg_00000.m4s.tmp",
        "360p/init_2.mp4",
        "360p/seg_00000.m4s",
        "360p/index.m3u8",
        "poster.jpg",
        "sprite_001.jpg.tmp",
    ]
    assert stream.finished(on_disk, exited=False) == [
        "360p/init_2.mp4",
        "360p/seg_00000.m4s",
        "480p/init_1.mp4",
        "poster.jpg",
    ]
    assert "720p/init_0.mp4" in stream.finished(on_disk, exited=True)


def test_ffmpeg_is_paused_over_the_bound_and_resumed_at_half() -> None:
    limit = 100
    assert stream.pace(100, False, limit) is stream.Pace.KEEP
    assert stream.pace(101, False, limit) is stream.Pace.PAUSE
    assert stream.pace(80, True, limit) is stream.Pace.KEEP
    assert stream.pace(50, True, limit) is stream.Pace.RESUME
    assert stream.pace(10, False, limit) is stream.Pace.KEEP
    # What ffmpeg wrote at most between two looks counts ahead: pause before it is too late.
    assert stream.pace(70, False, limit, burst=40) is stream.Pace.PAUSE
    assert stream.pace(50, True, limit, burst=40) is stream.Pace.RESUME


def test_cleanup_removes_this_versions_other_runs_and_the_replaced_one() -> None:
    ours = version_prefix("a.mov", "v2")
    mine, killed = new_run_id("a.mov", "v2"), new_run_id("a.mov", "v2")
    replaced = new_run_id("a.mov", "v1")
    writing = new_run_id("a.mov", "v3")  # a newer version's job, still writing: never touched
    runs = [mine, killed, replaced, writing]
    # We committed: the master references ours and names the run it replaced.
    assert doomed_runs(runs, ours=ours, current=mine, replaced=replaced) == {killed, replaced}
    # Superseded by v3's master: all of ours go, v3's stays, and so does v1's unless replaced.
    assert doomed_runs(runs, ours=ours, current=writing, replaced=None) == {mine, killed}
    # Already written by an earlier run of ours that was killed before it removed anything.
    assert doomed_runs(runs, ours=ours, current=killed, replaced=replaced) == {mine, replaced}
    # The replaced run already gone: nothing to do for it.
    assert doomed_runs([mine], ours=ours, current=mine, replaced=replaced) == set()


def test_run_ids_and_their_folder() -> None:
    run = new_run_id("a.mov", "v1")
    assert run.startswith(version_prefix("a.mov", "v1")) and len(run) == 2 + 16 + 1 + 12 + 1 + 8
    assert run != new_run_id("a.mov", "v1")
    assert tree_dir("a/b.mov.hls/master.m3u8") == "a/b.mov.hls/"
    assert tree_dir("master.m3u8") == ""
