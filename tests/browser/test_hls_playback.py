"""The worker's `hls` output played by hls.js in a real headless Chromium: the playlists' numbers
(codecs, bandwidth) are only promises until a player that trusts them decodes every rendition.

The player page and web/node_modules/hls.js are put in the output bucket beside the master and
opened from the moto server, so the playlists, segments and thumbnails are same-origin GETs.
"""

from __future__ import annotations

import json
import shutil
import time
from collections.abc import Iterator
from itertools import pairwise
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest

from conveyor_local.media import make_video
from tests.conftest import Stack
from tests.integration.hls_checks import OUTPUT, check_tree
from tests.integration.worker import run_worker, upload

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMEDRIVER = shutil.which("chromedriver")
HLS_JS = Path(__file__).parents[2] / "web" / "node_modules" / "hls.js" / "dist" / "hls.min.js"
pytestmark = pytest.mark.skipif(
    not (CHROMIUM and CHROMEDRIVER),
    reason="needs Debian's chromium and chromium-driver (make test installs them as root)",
)
LADDER = ["1080", "360", "240"]
"""The job's rungs: 1080 is above the 640x360 source, so the worker keeps 360 and 240."""
AVC_AAC = 'video/mp4; codecs="avc1.64001f,mp4a.40.2"'

PLAYER = """<!doctype html>
<meta charset="utf-8">
<title>hls check</title>
<video id="video" muted playsinline width="640" height="360"></video>
<script src="hls.min.js"></script>
<script>
const MASTER = new URL(MASTER_KEY, location.href).href;
const result = window.result = {
  levels: null, errors: [], warnings: [], sessionData: null, played: null, switches: [],
  cues: [], sheets: {}, failed: null, done: false,
};
const video = document.getElementById('video');
const fragments = [];
const wait = (what, test, ms = 60000) => new Promise((resolve, reject) => {
  const start = performance.now();
  const tick = () => {
    const value = test();
    if (value) return resolve(value);
    if (performance.now() - start > ms) return reject(new Error('timed out waiting for ' + what));
    setTimeout(tick, 100);
  };
  tick();
});
const text = (args) => args.map((a) => (typeof a === 'string' ? a : String(a))).join(' ');
const hls = new Hls({
  debug: {
    debug() {}, log() {}, info() {},
    warn: (...args) => result.warnings.push(text(args)),
    error: (...args) => result.warnings.push('error: ' + text(args)),
  },
});
hls.on(Hls.Events.MANIFEST_LOADED, (_, data) => { result.sessionData = data.sessionData; });
hls.on(Hls.Events.MANIFEST_PARSED, (_, data) => {
  result.levels = data.levels.map((l) => ({
    height: l.height, width: l.width, bitrate: l.bitrate, codecs: l.codecSet,
    videoCodec: l.videoCodec, audioCodec: l.audioCodec,
  }));
});
hls.on(Hls.Events.ERROR, (_, data) => result.errors.push({
  type: data.type, details: data.details, fatal: data.fatal,
  reason: String(data.reason || data.error || ''), url: data.frag ? data.frag.url : '',
}));
hls.on(Hls.Events.FRAG_BUFFERED, (_, data) => fragments.push(
  {level: data.frag.level, sn: data.frag.sn, type: data.frag.type}));

function image(url) {
  return new Promise((resolve, reject) => {
    const img = new Image();
    img.onload = () => resolve([img.naturalWidth, img.naturalHeight]);
    img.onerror = () => reject(new Error('cannot load ' + url));
    img.src = url;
  });
}

async function thumbnails() {
  const vtt = new URL(result.sessionData['com.conveyor.thumbnails'].VALUE, MASTER).href;
  const track = document.createElement('track');
  track.kind = 'metadata';
  track.src = vtt;
  const loaded = new Promise((resolve, reject) => {
    track.addEventListener('load', resolve);
    track.addEventListener('error', () => reject(new Error('the track did not load: ' + vtt)));
  });
  video.appendChild(track);
  track.track.mode = 'hidden';
  await loaded;
  for (const cue of track.track.cues) {
    const [sheet, fragment] = cue.text.split('#');
    const [x, y, w, h] = fragment.replace('xywh=', '').split(',').map(Number);
    const url = new URL(sheet, vtt).href;
    if (!(url in result.sheets)) result.sheets[url] = await image(url);
    result.cues.push({start: cue.startTime, end: cue.endTime, sheet: url, x, y, w, h});
  }
  const poster = new URL(result.sessionData['com.conveyor.poster'].VALUE, MASTER).href;
  result.poster = await image(poster);
}

async function run() {
  hls.loadSource(MASTER);
  hls.attachMedia(video);
  await wait('the manifest', () => result.levels);
  video.play();
  await wait('playback past 2 s', () => video.readyState >= 3 && video.currentTime > 2);
  result.played = {
    currentTime: video.currentTime, readyState: video.readyState,
    height: video.videoHeight, level: hls.currentLevel,
  };
  for (let i = 0; i < hls.levels.length; i++) {
    const from = fragments.length;
    hls.currentLevel = i;
    video.currentTime = 0.5;
    video.play();
    await wait('level ' + i + ' playing', () => (
      fragments.slice(from).some((f) => f.level === i) && video.videoHeight === hls.levels[i].height
      && video.readyState >= 3 && video.currentTime > 1.5));
    result.switches.push({
      level: i, height: video.videoHeight, currentTime: video.currentTime,
      fragments: fragments.slice(from).filter((f) => f.level === i).map((f) => f.sn),
    });
  }
  video.pause();
  result.duration = video.duration;
  await thumbnails();
}

run().catch((err) => { result.failed = String(err && err.stack || err); })
  .finally(() => { result.done = true; });
</script>
"""


@pytest.fixture
def browser() -> Iterator[Any]:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage"):
        options.add_argument(argument)
    options.add_argument("--autoplay-policy=no-user-gesture-required")
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    try:
        yield driver
    finally:
        driver.quit()


def put(stack: Stack, key: str, body: bytes, content_type: str) -> None:
    stack.s3.put_object(Bucket=stack.settings[OUTPUT], Key=key, Body=body, ContentType=content_type)


def readable(stack: Stack, folder: str) -> None:
    """Let a browser GET the folder without signing (moto refuses anonymous reads of private
    objects), as a CDN's origin access would: the public access block goes, a policy grants it."""
    bucket = stack.settings[OUTPUT]
    statement = {
        "Effect": "Allow",
        "Principal": "*",
        "Action": "s3:GetObject",
        "Resource": f"arn:aws:s3:::{bucket}/{folder}*",
    }
    stack.s3.delete_public_access_block(Bucket=bucket)
    policy = {"Version": "2012-10-17", "Statement": [statement]}
    stack.s3.put_bucket_policy(Bucket=bucket, Policy=json.dumps(policy))


def played(browser: Any, url: str, timeout: float = 180) -> dict[str, Any]:
    """Open the player page and wait until its script finished (or gave up): what it saw."""
    browser.get(url)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = browser.execute_script("return window.result ?? null")
        if result and result["done"]:
            return result
        time.sleep(0.5)
    raise AssertionError(f"the page never finished: {json.dumps(result, indent=1)}")


def test_hls_js_plays_every_rendition_and_the_thumbnails_fit_their_sheets(
    stack: Stack, moto_endpoint: str, browser: Any, tmp_path: Path
) -> None:
    if not HLS_JS.exists():
        pytest.fail(f"{HLS_JS} is missing: run `make web` (npm ci installs hls.js)")
    browser.get("about:blank")
    assert browser.execute_script("return MediaSource.isTypeSupported(arguments[0])", AVC_AAC), (
        "this chromium cannot decode H.264/AAC in MSE (no proprietary codecs)"
    )
    clip = make_video(tmp_path / "clip.mp4", width=640, height=360, seconds=12, faststart=True)
    obj = upload(stack, "clips/clip.mp4", clip.read_bytes())
    result = run_worker(stack, obj, "hls", argv=LADDER, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    master_key = "clips/clip.mp4.hls/master.m3u8"
    tree = check_tree(stack, master_key)
    assert sorted(tree.media) == [240, 360]
    folder = master_key.rpartition("/")[0] + "/"
    readable(stack, folder)
    put(stack, folder + "hls.min.js", HLS_JS.read_bytes(), "text/javascript")
    page = PLAYER.replace("MASTER_KEY", json.dumps("master.m3u8"))
    put(stack, folder + "player.html", page.encode(), "text/html; charset=utf-8")
    url = f"{moto_endpoint}/{stack.settings[OUTPUT]}/{quote(folder)}player.html"

    seen = played(browser, url)
    print(json.dumps({k: v for k, v in seen.items() if k != "cues"}, indent=1))  # for the log
    assert seen["failed"] is None, seen
    assert [e for e in seen["errors"] if e["fatal"]] == [], seen["errors"]
    assert sorted(level["height"] for level in seen["levels"]) == [240, 360]
    assert seen["played"]["readyState"] >= 3 and seen["played"]["currentTime"] > 2
    assert [s["height"] for s in seen["switches"]] == [level["height"] for level in seen["levels"]]
    assert all(s["fragments"] for s in seen["switches"])
    codecs = {p.stream_info.resolution[1]: p.stream_info.codecs for p in tree.master.playlists}
    assert {lv["height"]: f"{lv['videoCodec']},{lv['audioCodec']}" for lv in seen["levels"]} == (
        codecs
    )
    assert seen["poster"] == [640, 360]
    # The sprite index: each tile inside its sheet, cues back to back from 0 to the video's end.
    cues = seen["cues"]
    for cue in cues:
        width, height = seen["sheets"][cue["sheet"]]
        assert cue["x"] >= 0 and cue["x"] + cue["w"] <= width, (cue, width)
        assert cue["y"] >= 0 and cue["y"] + cue["h"] <= height, (cue, height)
    assert cues and cues[0]["start"] == 0
    assert all(a["end"] == b["start"] for a, b in pairwise(cues))
    last = cues[-1]["end"]
    assert last == pytest.approx(seen["duration"], abs=1), f"{len(cues)} cues, up to {last} s"
