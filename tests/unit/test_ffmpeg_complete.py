"""A cut video must not pass for a success (ffmpeg exits 0 with what it could decode), and a
complete one with glitched frames must not fail."""

from __future__ import annotations

import pytest

from batch_job.errors import BadInput, Transient
from batch_job.transforms.ffmpeg import Probe, Report, incomplete, parse_probe

# ffmpeg 5.1's stderr (-loglevel error -progress pipe:2) on a 6 s MP4 (moov first) cut in half.
CUT_IN_HALF = """\
frame=40
fps=0.00
bitrate=   2.1kbits/s
out_time_us=1018594
speed= 6.3x
progress=continue
[aac @ 0x55fc06f3ccc0] Input buffer exhausted before END element found
Error while decoding stream #0:1: Invalid data found when processing input
[mov,mp4,m4a,3gp,3g2,mj2 @ 0x55fc06f37400] stream 0, offset 0xab62b: partial file
frame=75
bitrate= 216.5kbits/s
total_size=565016
out_time_us=3018594
out_time_ms=3018594
out_time=00:00:03.018594
speed=8.71x
progress=end"""


def read(text: str) -> tuple[Report, list[str]]:
    report, kept = Report(), []
    for line in text.splitlines():
        if not report.read(line):
            kept.append(line)
    return report, kept


def probe(seconds: float | None, **streams: float | None) -> Probe:
    return Probe("mov,mp4", seconds, 640, 360, True, **streams)  # type: ignore[arg-type]


def finished(seconds: float) -> Report:
    report, _ = read(f"out_time_us={int(seconds * 1e6)}\nprogress=end")
    return report


# ffmpeg 5.1 on a complete MPEG-TS with a few packets garbled (a broadcast recording's glitches):
# it decodes all 6 s and exits 0.
GLITCHED = """\
[h264 @ 0x558d6c7c5280] co located POCs unavailable
[h264 @ 0x558d6c7c5280] error while decoding MB 12 8, bytestream -5
[h264 @ 0x558d6c7c5280] concealing 212 DC, 212 AC, 212 MV errors in P frame
[aac @ 0x558d6c863700] channel element 0.14 is not allocated
Error while decoding stream #0:1: Invalid data found when processing input
[mpeg2video @ 0x558d6c880480] ac-tex damaged at 22 17
[mp2 @ 0x558d6c863900] decoding error
out_time_us=6037333
progress=end"""


def test_the_report_follows_progress_and_keeps_the_first_early_end_and_decoder_error() -> None:
    report, kept = read(CUT_IN_HALF)
    assert report.out_seconds == pytest.approx(3.018594) and report.ended
    assert report.ended_early == (
        "[mov,mp4,m4a,3gp,3g2,mj2 @ 0x55fc06f37400] stream 0, offset 0xab62b: partial file"
    )
    assert (
        report.damage
        == "Error while decoding stream #0:1: Invalid data found when processing input"
    )
    assert all("=" not in line for line in kept)  # every -progress line consumed, even `bitrate= 2`
    assert len(kept) == 3


def test_a_file_cut_in_half_is_bad_input_with_the_durations() -> None:
    report, kept = read(CUT_IN_HALF)
    error = incomplete(report, probe(6.0, video_duration=6.0, audio_duration=6.0), "\n".join(kept))
    assert isinstance(error, BadInput)
    assert str(error) == (
        "decoded 3.0 s of the 6.0 s the file declares: the file is truncated or damaged (ffmpeg: "
        "[mov,mp4,m4a,3gp,3g2,mj2 @ 0x55fc06f37400] stream 0, offset 0xab62b: partial file)"
    )


def test_decoder_errors_alone_do_not_fail_a_complete_file() -> None:
    report, kept = read(GLITCHED)
    assert report.damage is not None and report.ended_early is None
    assert (
        incomplete(report, probe(6.0, video_duration=6.0, frame_seconds=0.04), "\n".join(kept))
        is None
    )
    assert incomplete(report, probe(None), "\n".join(kept)) is None  # nothing declared either


def test_decoder_errors_explain_a_shortfall() -> None:
    report, kept = read(GLITCHED.replace("out_time_us=6037333", "out_time_us=2000000"))
    error = incomplete(report, probe(6.0, video_duration=6.0), "\n".join(kept))
    assert isinstance(error, BadInput)
    assert str(error) == (
        "decoded 2.0 s of the 6.0 s the file declares: the file is truncated or damaged "
        "(ffmpeg: [h264 @ 0x558d6c7c5280] error while decoding MB 12 8, bytestream -5)"
    )


@pytest.mark.parametrize(
    "said",
    [
        "[mov,mp4,m4a,3gp,3g2,mj2 @ 0x1] stream 1, offset 0x5e02f: partial file",
        "[mov,mp4,m4a,3gp,3g2,mj2 @ 0x1] root atom offset 0x3c000: partial file",
        "[mxf @ 0x1] failed to seek to FooterPartition @ 0x4f9a2 (326050) - partial file?",
        "[matroska,webm @ 0x1] File ended prematurely",
        "[avi @ 0x1] premature end of file while reading INFO tag",
    ],
)
def test_an_early_end_fails_even_at_full_length(said: str) -> None:
    report, kept = read(f"{said}\nout_time_us=6000000\nprogress=end")
    error = incomplete(report, probe(6.0), "\n".join(kept))
    assert isinstance(error, BadInput)
    assert str(error) == f"the file is truncated or damaged (ffmpeg: {said})"


@pytest.mark.parametrize(
    ("declared", "decoded", "frame", "complete"),
    [
        (6.0, 6.014, 0.04, True),  # audio priming: a little longer
        (6.0, 5.96, 0.04, True),  # output time stops at the last frame's start
        (6.0, 5.0, 1.0, True),  # 1 fps: a whole second is one frame
        (6.0, 5.0, 0.04, False),
        (6.0, 5.45, None, False),  # 0.55 s short of a short clip: more than 0.5 s
        (3600.0, 3540.0, 0.04, True),  # within 2 % of an hour
        (3600.0, 3500.0, 0.04, False),
    ],
)
def test_the_shortfall_tolerance(
    declared: float, decoded: float, frame: float | None, complete: bool
) -> None:
    error = incomplete(finished(decoded), probe(declared, frame_seconds=frame), "")
    assert (error is None) is complete


def test_the_mapped_streams_count_not_a_longer_subtitle_track() -> None:
    with_subtitles = probe(60.0, video_duration=6.0, audio_duration=5.9, frame_seconds=0.04)
    assert incomplete(finished(6.0), with_subtitles, "") is None
    assert isinstance(incomplete(finished(3.0), with_subtitles, ""), BadInput)


def test_without_stream_durations_the_container_counts() -> None:
    matroska = probe(6.023, frame_seconds=0.04)  # Matroska streams have no duration of their own
    assert incomplete(finished(6.037), matroska, "") is None
    assert isinstance(incomplete(finished(3.06), matroska, ""), BadInput)


def test_an_early_end_alone_is_bad_input_and_hides_the_signed_url() -> None:
    report, kept = read(
        "[matroska,webm @ 0x1] File ended prematurely at https://s3/b/k.mkv?X-Amz-Signature=s\n"
        "out_time_us=5900000\nprogress=end"
    )
    error = incomplete(report, probe(6.0), "\n".join(kept))
    assert isinstance(error, BadInput)
    assert str(error).startswith("the file is truncated or damaged (ffmpeg: [matroska")
    assert "File ended prematurely at https://s3/b/k.mkv)" in str(error)
    assert "Signature" not in str(error)


def test_a_read_broken_by_the_network_is_transient() -> None:
    stderr = "[tls @ 0x1] Error in the pull function.\nhttps://s3/b/k.mp4: Input/output error"
    assert isinstance(incomplete(finished(3.0), probe(6.0), stderr), Transient)


def test_complete_or_unknown_duration_is_accepted() -> None:
    assert incomplete(finished(6.0), probe(6.0, video_duration=6.0), "") is None
    assert incomplete(finished(1.0), probe(None), "") is None  # nothing declared, nothing said


def test_no_final_progress_report_is_a_bug_not_bad_input() -> None:
    report, _ = read("out_time_us=6000000\nprogress=continue")
    assert isinstance(incomplete(report, probe(6.0), ""), RuntimeError)


def test_parse_probe_reads_stream_durations_and_frame_rate() -> None:
    parsed = parse_probe(
        {
            "streams": [
                {
                    "codec_type": "video",
                    "width": 640,
                    "height": 360,
                    "duration": "6.000000",
                    "avg_frame_rate": "25/1",
                },
                {"codec_type": "audio", "duration": "5.828200"},
            ],
            "format": {"duration": "6.023222"},
        }
    )
    assert (parsed.video_duration, parsed.audio_duration) == (6.0, 5.8282)
    assert parsed.frame_seconds == pytest.approx(0.04) and parsed.declared() == 6.0
    unknown = parse_probe(
        {
            "streams": [
                {
                    "codec_type": "video",
                    "width": 1,
                    "height": 1,
                    "duration": "N/A",
                    "avg_frame_rate": "0/0",
                    "r_frame_rate": "0/0",
                }
            ],
            "format": {"duration": "N/A"},
        }
    )
    assert (unknown.duration, unknown.video_duration, unknown.frame_seconds) == (None, None, None)
    assert unknown.declared() is None
