#!/usr/bin/env python3
"""clip.cut against the ffmpeg CLI on a long recording (issue 6's benchmark), printed as Markdown.

Makes (once, cached in --work) a 60-minute 720p H.264 + AAC recording with a keyframe every 2 s,
then cuts 10 clips of 30 s at offsets spread over the hour:

- aiv: one `aiv run` of a workflow whose clip.cut step has the 10 clips as a for_each
  (--max-parallel 1 for the like-for-like row, and the default for the parallel row);
- ffmpeg: `ffmpeg -ss A -to B -i in.mp4 -c copy -movflags +faststart out.mp4`, 10 processes
  one after the other;
- the floor: reading the clips' bytes from the file (the raw read speed of the disk cache).

Then the cost of one clip against its length (10, 30, 120, 300 s) and its offset (the start, the
middle, the end of the hour), to show that a clip costs what it copies, not the recording's length.

Then clip.reframe (a vertical Short, re-encoded) on a 30 s 1080p clip, cropped, padded and cropped
with captions drawn on, against the ffmpeg program doing the same with the same encoder settings.

    swift build -c release --static-swift-stdlib --product aiv && python3 bench/media_bench.py
    python3 bench/media_bench.py --only reframe      # the re-encoding table alone
"""
import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def make_recording(path):
    if os.path.exists(path):
        return
    print("making a 60-minute 720p recording (once) …", file=sys.stderr)
    subprocess.run(["ffmpeg", "-v", "error", "-y", "-f", "lavfi", "-i", "testsrc2=size=1280x720:rate=30",
                    "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000", "-t", "3600",
                    "-c:v", "libx264", "-preset", "ultrafast", "-g", "60", "-keyint_min", "60", "-sc_threshold", "0",
                    "-pix_fmt", "yuv420p", "-b:v", "2500k", "-c:a", "aac", "-b:a", "128k", path + ".part.mp4"], check=True)
    os.rename(path + ".part.mp4", path)


def clip_workflow(recording, clips):
    items = ", ".join("{start: %s, end: %s}" % (a, b) for a, b in clips)
    return f"""name: media-bench
steps:
  - id: clips
    uses: clip.cut
    for_each: [{items}]
    with:
      input: {recording}
      start: ${{{{ item.start }}}}
      end: ${{{{ item.end }}}}
      output: ${{{{ format('clip-{{0}}.mp4', index) }}}}
"""


def time_aiv(aiv, recording, clips, parallel, repeat):
    walls = []
    for _ in range(repeat):
        folder = tempfile.mkdtemp(prefix="aiv-media-bench-")
        try:
            with open(os.path.join(folder, "bench.yaml"), "w") as f:
                f.write(clip_workflow(recording, clips))
            args = [aiv, "run", "bench.yaml", "--no-cache", "--json", "--run-dir", "out"]
            if parallel:
                args += ["--max-parallel", str(parallel)]
            started = time.monotonic()
            result = subprocess.run(args, cwd=folder, capture_output=True, text=True)
            walls.append(time.monotonic() - started)
            if result.returncode != 0:
                sys.exit("aiv failed:\n" + result.stdout[-2000:] + result.stderr[-2000:])
        finally:
            shutil.rmtree(folder, ignore_errors=True)
    return statistics.median(walls)


def time_ffmpeg(recording, clips, repeat):
    walls = []
    for _ in range(repeat):
        folder = tempfile.mkdtemp(prefix="ffmpeg-media-bench-")
        try:
            started = time.monotonic()
            for i, (a, b) in enumerate(clips):
                subprocess.run(["ffmpeg", "-v", "error", "-y", "-ss", str(a), "-to", str(b), "-i", recording, "-c", "copy",
                                "-movflags", "+faststart", os.path.join(folder, "clip-%d.mp4" % i)], check=True)
            walls.append(time.monotonic() - started)
        finally:
            shutil.rmtree(folder, ignore_errors=True)
    return statistics.median(walls)


def read_floor(recording, clips):
    """Seconds to read the clips' share of the file, at the speed the whole file reads."""
    size = os.path.getsize(recording)
    started = time.monotonic()
    with open(recording, "rb") as f:
        while f.read(8 << 20):
            pass
    seconds = time.monotonic() - started
    share = sum(b - a for a, b in clips) / 3600
    return seconds * share, size / seconds / 1e6


CAPTIONS = "".join("%d\n00:00:%02d,000 --> 00:00:%02d,500\nやばい、今の見た？ 第%d回\n(Did you see that? Part %d)\n\n" % (i + 1, i * 3, i * 3 + 2, i, i)
                   for i in range(10))
# The style clip.reframe gives SRT lines (ReframeRequest.Captions), for ffmpeg's own subtitles filter.
STYLE = "FontName=sans-serif,FontSize=14,Bold=1,PrimaryColour=&H00FFFFFF,OutlineColour=&H00000000,BorderStyle=1,Outline=2,Shadow=0,Alignment=2,MarginV=60"


def time_reframe(aiv, work, repeat):
    clip = os.path.join(work, "clip-1080p-30s.mp4")
    if not os.path.exists(clip):
        subprocess.run(["ffmpeg", "-v", "error", "-y", "-f", "lavfi", "-i", "testsrc2=size=1920x1080:rate=30", "-f", "lavfi",
                        "-i", "sine=frequency=440:sample_rate=48000", "-t", "30", "-c:v", "libx264", "-preset", "veryfast", "-g", "60",
                        "-pix_fmt", "yuv420p", "-c:a", "aac", "-b:a", "128k", clip + ".part.mp4"], check=True)
        os.rename(clip + ".part.mp4", clip)
    captions = os.path.join(work, "captions.srt")
    with open(captions, "w") as f:
        f.write(CAPTIONS)
    x264 = ["-c:v", "libx264", "-preset", "veryfast", "-crf", "21", "-c:a", "copy", "-movflags", "+faststart"]
    cases = [
        ("crop to 606x1080", "fit: crop", ["-vf", "crop=606:1080:656:0"]),
        ("pad to 1080x1920", "fit: pad", ["-vf", "scale=1080:606,pad=1080:1920:0:656"]),
        ("crop, ten caption lines drawn on", "fit: crop, captions: %s" % captions,
         ["-vf", "crop=606:1080:656:0,subtitles=%s:force_style='%s'" % (captions, STYLE)]),
    ]
    rows = []
    for name, arguments, filters in cases:
        walls = {"aiv": [], "ffmpeg": []}
        sizes = {}
        for _ in range(repeat):
            folder = tempfile.mkdtemp(prefix="aiv-reframe-bench-")
            try:
                with open(os.path.join(folder, "bench.yaml"), "w") as f:
                    f.write("name: reframe-bench\nsteps:\n  - id: v\n    uses: clip.reframe\n"
                            "    with: {input: %s, output: v.mp4, %s}\n" % (clip, arguments))
                started = time.monotonic()
                result = subprocess.run([aiv, "run", "bench.yaml", "--no-cache", "--json", "--run-dir", "out"], cwd=folder,
                                        capture_output=True, text=True)
                walls["aiv"].append(time.monotonic() - started)
                if result.returncode != 0:
                    sys.exit("aiv failed:\n" + result.stdout[-2000:] + result.stderr[-2000:])
                sizes["aiv"] = os.path.getsize(os.path.join(folder, "out", "v.mp4"))
                started = time.monotonic()
                subprocess.run(["ffmpeg", "-v", "error", "-y", "-i", clip] + filters + x264 + [os.path.join(folder, "f.mp4")], check=True)
                walls["ffmpeg"].append(time.monotonic() - started)
                sizes["ffmpeg"] = os.path.getsize(os.path.join(folder, "f.mp4"))
            finally:
                shutil.rmtree(folder, ignore_errors=True)
        rows.append((name, statistics.median(walls["aiv"]), statistics.median(walls["ffmpeg"]), sizes["aiv"], sizes["ffmpeg"]))
    return rows


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--aiv", default=os.path.join(ROOT, ".build", "release", "aiv"))
    parser.add_argument("--work", default="/tmp/aiv-media-bench")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--only", choices=["cut", "reframe"], help="one part of the benchmark")
    args = parser.parse_args()
    os.makedirs(args.work, exist_ok=True)
    if args.only != "cut":
        rows = time_reframe(args.aiv, args.work, args.repeat)
        print("\n## clip.reframe: a 30 s 1080p30 clip made vertical (libx264 veryfast, CRF 21; audio copied), median of %d, %d cores\n"
              % (args.repeat, os.cpu_count()))
        print("| how | aiv run | ffmpeg | aiv's file | ffmpeg's file |\n|---|---:|---:|---:|---:|")
        for name, aiv, ffmpeg, aiv_size, ffmpeg_size in rows:
            print("| %s | %.2f s | %.2f s | %.2f MB | %.2f MB |" % (name, aiv, ffmpeg, aiv_size / 1e6, ffmpeg_size / 1e6))
        if args.only == "reframe":
            return
    recording = os.path.join(args.work, "recording-60min.mp4")
    make_recording(recording)
    offsets = [60 + i * 350 for i in range(10)]          # spread over the hour
    clips = [(a, a + 30) for a in offsets]

    # Warm the page cache, so every tool reads from memory.
    read_floor(recording, clips)
    floor, speed = read_floor(recording, clips)
    aiv_serial = time_aiv(args.aiv, recording, clips, 1, args.repeat)
    aiv_parallel = time_aiv(args.aiv, recording, clips, None, args.repeat)
    ffmpeg = time_ffmpeg(recording, clips, args.repeat)

    print("\n## 10 clips of 30 s from a 60-minute 720p recording (%.0f MB), median of %d\n" % (os.path.getsize(recording) / 1e6, args.repeat))
    print("| how | wall | per clip |\n|---|---:|---:|")
    print("| aiv run, clip.cut for_each, --max-parallel 1 (whole process) | %.2f s | %.0f ms |" % (aiv_serial, aiv_serial / 10 * 1000))
    print("| aiv run, clip.cut for_each, default parallelism (%d cores) | %.2f s | %.0f ms |" % (os.cpu_count(), aiv_parallel, aiv_parallel / 10 * 1000))
    print("| ffmpeg -ss A -to B -i in.mp4 -c copy, 10 processes | %.2f s | %.0f ms |" % (ffmpeg, ffmpeg / 10 * 1000))
    print("| floor: reading the clips' bytes (%.0f MB/s) | %.3f s | %.1f ms |" % (speed, floor, floor / 10 * 1000))

    print("\n## One clip: cost against its length and its place in the hour (aiv, --max-parallel 1)\n")
    print("| clip | wall |\n|---|---:|")
    for a, b in [(60, 70), (60, 90), (60, 180), (60, 360), (1800, 1830), (3500, 3530)]:
        wall = time_aiv(args.aiv, recording, [(a, b)], 1, args.repeat)
        print("| %d s at %d:%02d | %.3f s |" % (b - a, a // 60, a % 60, wall))


if __name__ == "__main__":
    main()
