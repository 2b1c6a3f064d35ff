#!/usr/bin/env python3
"""aiv's service transport under load, against a local server that speaks Gemini's wire format.

Two measurements (issue 4), printed as Markdown:

1. rate limit: the server accepts R generateContent requests per sliding minute and answers the
   rest 429 with a google.rpc.RetryInfo delay. aiv runs N gemini.generate items whose workflow
   declares twice that rate, so the limiter has to learn the real one from the first 429. Printed:
   wall time against the theoretical N/R minutes, and 429s before and after the limiter learned.
2. throughput: the server answers every call after a fixed latency (50 ms). aiv runs 1,000
   gemini.generate items at --max-parallel 8; Python's httpx sends the same 1,000 requests with 8
   in flight, in the same run, against the same server. Printed: requests per second and the
   per-call overhead beyond the server's latency, (wall x concurrency / calls) - latency.

The server runs in its own process (asyncio, standard library only); httpx comes from PyPI into
the benchmark virtualenv. Usage:

    swift build -c release --static-swift-stdlib --product aiv && python3 bench/service_bench.py
    python3 bench/service_bench.py --only throughput --calls 1000
    python3 bench/service_bench.py --only rate --rate 120 --rate-calls 360
"""
import argparse
import asyncio
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)


# ---------------------------------------------------------------- the server

class FakeGemini:
    def __init__(self, latency, rate, window):
        self.latency = latency
        self.rate = rate
        self.window = window
        self.accepted = []
        self.stats = {"accepted": 0, "rejected": 0, "reject_times": []}
        self.started = time.monotonic()

    def answer(self, path, body):
        if not path.startswith("/v1beta/models/") or not path.endswith(":generateContent"):
            return 404, {"error": {"code": 404, "message": "not found", "status": "NOT_FOUND"}}
        if path == "/stats":
            return 200, self.stats
        now = time.monotonic()
        if self.rate:
            self.accepted = [t for t in self.accepted if t > now - self.window]
            if len(self.accepted) >= self.rate:
                delay = self.accepted[0] + self.window - now
                self.stats["rejected"] += 1
                self.stats["reject_times"].append(round(now - self.started, 3))
                return 429, {"error": {"code": 429, "status": "RESOURCE_EXHAUSTED",
                                       "message": "Resource has been exhausted (e.g. check quota).",
                                       "details": [{"@type": "type.googleapis.com/google.rpc.RetryInfo",
                                                    "retryDelay": "%.3fs" % max(delay, 0.001)}]}}
            self.accepted.append(now)
        self.stats["accepted"] += 1
        text = json.dumps({"items": []})
        return 200, {"candidates": [{"content": {"role": "model", "parts": [{"text": text}]}, "finishReason": "STOP", "index": 0}],
                     "usageMetadata": {"promptTokenCount": 12, "candidatesTokenCount": 4, "totalTokenCount": 16},
                     "modelVersion": "gemini-2.5-flash"}

    async def respond(self, method, path, body):
        if path == "/stats":
            return 200, self.stats, {}
        status, payload = self.answer(path.split("?")[0], body)
        if status == 200 and self.latency:
            await asyncio.sleep(self.latency)
        return status, payload, {}


class FakeNotion:
    """Notion's page, query and database routes, enough for notion.upsert, limited to `rps` requests
    a second on average (a bucket of 3, as Notion allows short bursts), 429 rate_limited with
    Retry-After beyond it."""
    def __init__(self, rps):
        self.rps = rps
        self.tokens = 3.0
        self.last = time.monotonic()
        self.pages = []
        self.stats = {"accepted": 0, "rejected": 0, "reject_times": [], "pages": 0}
        self.started = time.monotonic()

    def answer(self, method, path, body):
        now = time.monotonic()
        self.tokens = min(3.0, self.tokens + (now - self.last) * self.rps)
        self.last = now
        if self.tokens < 1:
            self.stats["rejected"] += 1
            self.stats["reject_times"].append(round(now - self.started, 3))
            return 429, {"object": "error", "status": 429, "code": "rate_limited",
                         "message": "You have been rate limited. Please try again in a few minutes."}, {"Retry-After": "1"}
        self.tokens -= 1
        self.stats["accepted"] += 1
        request = json.loads(body or b"{}")
        if method == "GET" and path.startswith("/v1/databases/"):
            return 200, {"object": "database", "id": path.split("/")[3], "properties": {
                "Japanese": {"id": "title", "name": "Japanese", "type": "title", "title": {}},
                "English": {"id": "e", "name": "English", "type": "rich_text", "rich_text": {}}}}, {}
        if method == "POST" and path.endswith("/query"):
            wanted = request["filter"]["title"]["equals"]
            found = [p for p in self.pages if p["key"] == wanted]
            return 200, {"object": "list", "results": [p["page"] for p in found], "has_more": False, "next_cursor": None}, {}
        if method == "POST" and path == "/v1/pages":
            key = "".join(t["text"]["content"] for t in request["properties"]["Japanese"]["title"])
            page = {"object": "page", "id": "%032x" % (len(self.pages) + 1), "url": "https://www.notion.so/p%d" % len(self.pages),
                    "properties": request["properties"]}
            self.pages.append({"key": key, "page": page})
            self.stats["pages"] = len(self.pages)
            return 200, page, {}
        return 404, {"object": "error", "status": 404, "code": "object_not_found", "message": path}, {}

    async def respond(self, method, path, body):
        if path == "/stats":
            return 200, self.stats, {}
        return self.answer(method, path, body)


def serve(args):
    if args.notion_rps:
        return serve_with(FakeNotion(args.notion_rps))
    return serve_with(FakeGemini(args.latency_ms / 1000, args.rate, args.window))


async def serve_connection(server, reader, writer):
    """HTTP/1.1 keep-alive for either fake: each request to `server.respond`, JSON answers."""
    try:
        while True:
            head = await reader.readuntil(b"\r\n\r\n")
            lines = head.decode("latin-1").split("\r\n")
            method, path, _ = lines[0].split(" ", 2)
            headers = {k.strip().lower(): v.strip() for k, v in (l.split(":", 1) for l in lines[1:] if ":" in l)}
            body = await reader.readexactly(int(headers.get("content-length", "0")))
            status, payload, extra = await server.respond(method, path, body)
            data = json.dumps(payload).encode()
            more = "".join("%s: %s\r\n" % item for item in extra.items()).encode()
            writer.write(b"HTTP/1.1 %d X\r\nContent-Type: application/json\r\n" % status + more
                         + b"Content-Length: %d\r\n\r\n" % len(data) + data)
            await writer.drain()
    except (asyncio.IncompleteReadError, ConnectionError):
        pass
    finally:
        writer.close()


def serve_with(server):

    async def main():
        srv = await asyncio.start_server(lambda r, w: serve_connection(server, r, w), "127.0.0.1", 0, backlog=512)
        print("ready", srv.sockets[0].getsockname()[1], flush=True)
        await srv.serve_forever()
    asyncio.run(main())


class Server:
    """The fake in a child process."""
    def __init__(self, latency_ms=0, rate=0, window=60, notion_rps=0):
        self.process = subprocess.Popen([sys.executable, __file__, "serve", "--latency-ms", str(latency_ms),
                                         "--rate", str(rate), "--window", str(window), "--notion-rps", str(notion_rps)],
                                        stdout=subprocess.PIPE, text=True)
        line = self.process.stdout.readline().split()
        self.url = "http://127.0.0.1:%s" % line[1]

    def stats(self):
        import urllib.request
        with urllib.request.urlopen(self.url + "/stats") as answer:
            return json.load(answer)

    def stop(self):
        self.process.kill()
        self.process.wait()


# ---------------------------------------------------------------- aiv

def workflow(calls, rpm):
    items = ", ".join(str(i) for i in range(calls))
    return f"""name: service-bench
services:
  gemini:
    model: gemini-2.5-flash
    limits: {{requests_per_minute: {rpm}, tokens_per_minute: 1000000000, requests_per_day: 100000000}}
steps:
  - id: call
    uses: gemini.generate
    for_each: [{items}]
    with:
      prompt: bench.prompt
      values: {{n: "${{{{ item }}}}"}}
"""


PROMPT = """---
output:
  schema: {type: object, properties: {items: {type: array, items: {type: string}}}}
---
Call number {{n}}.
"""


def run_aiv(aiv, url, calls, rpm, parallel):
    folder = tempfile.mkdtemp(prefix="aiv-service-bench-")
    try:
        with open(os.path.join(folder, "bench.yaml"), "w") as f:
            f.write(workflow(calls, rpm))
        with open(os.path.join(folder, "bench.prompt"), "w") as f:
            f.write(PROMPT)
        env = dict(os.environ, GEMINI_API_KEY="bench-key", GEMINI_BASE_URL=url)
        started = time.monotonic()
        result = subprocess.run([aiv, "run", "bench.yaml", "--max-parallel", str(parallel), "--json", "--no-cache"],
                                cwd=folder, env=env, capture_output=True, text=True)
        wall = time.monotonic() - started
        if result.returncode != 0:
            sys.exit("aiv failed:\n" + result.stdout[-3000:] + result.stderr[-3000:])
        calls_seen = [json.loads(line) for line in result.stdout.splitlines() if '"service_call"' in line]
        return wall, calls_seen
    finally:
        shutil.rmtree(folder, ignore_errors=True)


# ---------------------------------------------------------------- httpx

def ensure_httpx(venv):
    python = os.path.join(venv, "bin", "python")
    if not os.path.exists(python):
        subprocess.run([sys.executable, "-m", "venv", venv], check=True)
    if subprocess.run([python, "-c", "import httpx"], capture_output=True).returncode != 0:
        subprocess.run([python, "-m", "pip", "install", "-q", "httpx"], check=True)
    return python


HTTPX_LOAD = r"""
import asyncio, json, sys, time, httpx
url, calls, concurrency = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
async def main():
    limit = asyncio.Semaphore(concurrency)
    async with httpx.AsyncClient(timeout=30, limits=httpx.Limits(max_connections=concurrency)) as client:
        async def one(i):
            async with limit:
                body = {"contents": [{"role": "user", "parts": [{"text": "Call number %d." % i}]}],
                        "generationConfig": {"responseMimeType": "application/json"}}
                r = await client.post(url + "/v1beta/models/gemini-2.5-flash:generateContent", json=body,
                                      headers={"x-goog-api-key": "bench-key"})
                r.raise_for_status()
                json.loads(r.json()["candidates"][0]["content"]["parts"][0]["text"])
        started = time.monotonic()
        await asyncio.gather(*(one(i) for i in range(calls)))
        print(time.monotonic() - started)
asyncio.run(main())
"""


def run_httpx(python, url, calls, concurrency):
    result = subprocess.run([python, "-c", HTTPX_LOAD, url, str(calls), str(concurrency)], capture_output=True, text=True, check=True)
    return float(result.stdout.strip())


# ---------------------------------------------------------------- the two benchmarks

def rate_benchmark(args):
    server = Server(rate=args.rate, window=60)
    try:
        wall, calls = run_aiv(args.aiv, server.url, args.rate_calls, args.rate * 2, args.parallel)
        stats = server.stats()
    finally:
        server.stop()
    theoretical = args.rate_calls / args.rate * 60
    # The limiter has learned once the first 429 came back: 429s provoked by requests sent more
    # than a second after it count against the target.
    print("\n## Rate limit: %d calls, server allows %d per sliding minute, workflow declares %d\n" % (args.rate_calls, args.rate, args.rate * 2))
    print("| measure | value |\n|---|---:|")
    print("| wall time (whole `aiv run`) | %.1f s |" % wall)
    print("| theoretical N/R | %.1f s |" % theoretical)
    print("| difference | %+.1f%% |" % ((wall - theoretical) / theoretical * 100))
    print("| 429s in all | %d |" % stats["rejected"])
    learned_at = stats["reject_times"][0] if stats["reject_times"] else None
    late = [t for t in stats["reject_times"] if learned_at is not None and t > learned_at + 1.0]
    print("| 429s more than 1 s after the first (after learning) | %d |" % len(late))
    print("| requests accepted | %d |" % stats["accepted"])
    return abs(wall - theoretical) / theoretical <= 0.05 and not late


def throughput_benchmark(args):
    python = ensure_httpx(args.venv)
    server = Server(latency_ms=args.latency_ms)
    try:
        aiv_walls, httpx_walls = [], []
        for _ in range(args.repeat):
            wall, calls = run_aiv(args.aiv, server.url, args.calls, 10_000_000, args.concurrency)
            if len(calls) != args.calls:
                sys.exit("aiv made %d calls, expected %d" % (len(calls), args.calls))
            aiv_walls.append(wall)
            httpx_walls.append(run_httpx(python, server.url, args.calls, args.concurrency))
    finally:
        server.stop()
    latency = args.latency_ms / 1000
    print("\n## Throughput: %d calls, %d ms server latency, %d in flight (median of %d)\n" % (args.calls, args.latency_ms, args.concurrency, args.repeat))
    print("| client | wall | requests/s | overhead per call | ideal requests/s |\n|---|---:|---:|---:|---:|")
    ideal = args.concurrency / latency
    for name, walls in (("aiv run (whole process: start, validate, run, history)", aiv_walls), ("Python httpx AsyncClient", httpx_walls)):
        wall = statistics.median(walls)
        overhead = wall * args.concurrency / args.calls - latency
        print("| %s | %.2f s | %.1f | %.2f ms | %.0f |" % (name, wall, args.calls / wall, overhead * 1000, ideal))


NOTION_WORKFLOW = """name: notion-bench
services:
  notion:
    database_id: 0b6d2bc1a7a94f4b9d8d1a2b3c4d5e6f
steps:
  - id: publish
    uses: notion.upsert
    for_each: [%s]
    with:
      key: Japanese
      properties: {Japanese: "${{ format('expression {0}', item) }}", English: "${{ format('meaning {0}', item) }}"}
"""


def notion_benchmark(args):
    server = Server(notion_rps=3)
    folder = tempfile.mkdtemp(prefix="aiv-notion-bench-")
    try:
        with open(os.path.join(folder, "bench.yaml"), "w") as f:
            f.write(NOTION_WORKFLOW % ", ".join(str(i) for i in range(args.upserts)))
        env = dict(os.environ, NOTION_TOKEN="secret_bench", NOTION_BASE_URL=server.url)
        started = time.monotonic()
        result = subprocess.run([args.aiv, "run", "bench.yaml", "--max-parallel", "8", "--json"], cwd=folder, env=env,
                                capture_output=True, text=True)
        wall = time.monotonic() - started
        if result.returncode != 0:
            sys.exit("aiv failed:\n" + result.stdout[-3000:] + result.stderr[-3000:])
        stats = server.stats()
    finally:
        server.stop()
        shutil.rmtree(folder, ignore_errors=True)
    requests = stats["accepted"]
    # A bucket of 3 lets the first 3 requests through at once; after that, one every 1/3 s.
    floor = max(0, requests - 3) / 3
    late = [t for t in stats["reject_times"] if stats["reject_times"] and t > stats["reject_times"][0] + 1.5]
    print("\n## Notion: %d upserts (query, then create) against a server allowing 3 requests/s\n" % args.upserts)
    print("| measure | value |\n|---|---:|")
    print("| wall time (whole `aiv run`) | %.1f s |" % wall)
    print("| requests the server accepted | %d |" % requests)
    print("| floor the limit allows ((requests - 3) / 3) | %.1f s |" % floor)
    print("| above the floor | %+.1f%% |" % ((wall - floor) / floor * 100))
    print("| pages created | %d |" % stats["pages"])
    print("| 429s in all | %d |" % stats["rejected"])
    print("| 429s after the first second and a half | %d |" % len(late))


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command")
    s = sub.add_parser("serve")
    s.add_argument("--port", type=int, default=0)
    s.add_argument("--latency-ms", type=float, default=0)
    s.add_argument("--rate", type=int, default=0)
    s.add_argument("--window", type=float, default=60)
    s.add_argument("--notion-rps", type=float, default=0)
    parser.add_argument("--aiv", default=os.path.join(ROOT, ".build", "release", "aiv"))
    parser.add_argument("--only", choices=["rate", "throughput", "notion"])
    parser.add_argument("--upserts", type=int, default=200, help="pages in the Notion benchmark (default 200)")
    parser.add_argument("--rate", type=int, default=120, help="requests per minute the server allows (default 120)")
    parser.add_argument("--rate-calls", type=int, default=360, help="calls in the rate benchmark (default 360: 3 minutes)")
    parser.add_argument("--parallel", type=int, default=8)
    parser.add_argument("--calls", type=int, default=1000)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--latency-ms", type=float, default=50)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--venv", default="/tmp/aiv-bench-venv")
    args = parser.parse_args()
    if args.command == "serve":
        return serve(args)
    if not os.path.exists(args.aiv):
        sys.exit("no aiv at %s: swift build -c release --static-swift-stdlib --product aiv" % args.aiv)
    if args.only in (None, "throughput"):
        throughput_benchmark(args)
    if args.only in (None, "rate"):
        met = rate_benchmark(args)
        print("\nrate target (within 5%% of N/R, no 429 after learning): %s" % ("met" if met else "NOT met"))
    if args.only in (None, "notion"):
        notion_benchmark(args)


if __name__ == "__main__":
    main()
