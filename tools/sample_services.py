#!/usr/bin/env python3
"""Local stand-ins for the Gemini and Notion APIs, for recording aiv's sample fixtures.

One process serves both on 127.0.0.1 (Python 3 standard library only, everything in memory):

- Gemini: POST /v1beta/models/{model}:generateContent answers from a model-answers.json file
  (see samples/stream-02/README.md): the prompt's "Task: analyse|moments|metadata" line picks the
  answer, and for analyse its "Chunk: N" line picks the window.
- Notion (Notion-Version 2022-06-28): one vocabulary database (Japanese, Reading, English,
  Category, Context, Difficulty, Tags, Source, Timestamp) with GET /v1/databases/{id},
  POST /v1/databases/{id}/query, POST /v1/pages, GET and PATCH /v1/pages/{id}.

Answers are deterministic: page ids are uuid5 of the page's key (its title) in the database's
namespace, and every time stamp is a fixed one, so recording twice gives the same fixtures.

    python3 tools/sample_services.py --answers samples/stream-02/model-answers.json \\
        --database-id 7f3b2c1d-4e5a-4b6c-8d7e-9f0a1b2c3d4e --gemini-port 0 --notion-port 0

The first line on stdout is "gemini PORT notion PORT"; then it serves until it is killed. Each
request is logged on stderr (--quiet to stop that).
"""

import argparse
import copy
import hashlib
import json
import os
import re
import sys
import threading
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

DEFAULT_DATABASE_ID = "7f3b2c1d-4e5a-4b6c-8d7e-9f0a1b2c3d4e"
NOTION_VERSION = "2022-06-28"
FIXED_TIME = "2026-11-25T00:00:00.000Z"
BOT_USER_ID = "a1b2c3d4-0000-4000-8000-000000000001"
COLORS = ["default", "gray", "brown", "orange", "yellow", "green", "blue", "purple", "pink", "red"]

# The vocabulary database: property name → type, in the order Notion lists them.
PROPERTIES = [
    ("Japanese", "title"),
    ("Reading", "rich_text"),
    ("English", "rich_text"),
    ("Category", "select"),
    ("Context", "rich_text"),
    ("Difficulty", "select"),
    ("Tags", "multi_select"),
    ("Source", "url"),
    ("Timestamp", "url"),
]
INITIAL_OPTIONS = {
    "Category": ["slang", "culture", "grammar", "mistake"],
    "Difficulty": ["N5", "N4", "N3", "N2", "N1"],
    "Tags": [],
}
TEXT_LIMIT = 2000


class ServiceError(Exception):
    """An error answer: HTTP status, a code and a message."""

    def __init__(self, status, code, message):
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message


def digest_id(text, length=4):
    """A short, stable id made from a name (Notion's property and option ids are short strings)."""
    return hashlib.sha1(text.encode("utf-8")).hexdigest()[:length]


def compact_id(value):
    """An id as Notion accepts it: with or without dashes, any case."""
    return value.replace("-", "").lower()


def dashed(value):
    raw = compact_id(value)
    if re.fullmatch(r"[0-9a-f]{32}", raw):
        return str(uuid.UUID(raw))
    return value


# --------------------------------------------------------------------------------------------
# Gemini


class Gemini:
    def __init__(self, answers):
        self.answers = answers

    def generate(self, model, body):
        contents = body.get("contents") if isinstance(body, dict) else None
        if not isinstance(contents, list) or not contents:
            raise ServiceError(400, "INVALID_ARGUMENT", "* GenerateContentRequest.contents: contents is not specified")
        # The first user turn holds the rendered prompt (a repair round appends more turns).
        try:
            prompt = contents[0]["parts"][0]["text"]
        except (KeyError, IndexError, TypeError):
            raise ServiceError(400, "INVALID_ARGUMENT", "* GenerateContentRequest.contents[0].parts[0]: the first part must be text")
        if not isinstance(prompt, str):
            raise ServiceError(400, "INVALID_ARGUMENT", "* GenerateContentRequest.contents[0].parts[0].text: must be a string")
        task_match = re.search(r"^Task:\s*(\S+)\s*$", prompt, re.MULTILINE)
        task = task_match.group(1) if task_match else None
        if task == "analyse":
            chunk_match = re.search(r"^Chunk:\s*(\d+)\s*$", prompt, re.MULTILINE)
            if not chunk_match:
                raise ServiceError(400, "INVALID_ARGUMENT", "sample_services: an analyse prompt needs a 'Chunk: N' line")
            chunk = str(int(chunk_match.group(1)))
            windows = self.answers.get("analyse", {})
            if chunk not in windows:
                raise ServiceError(400, "INVALID_ARGUMENT",
                                   f"sample_services: model-answers.json has no analyse answer for chunk {chunk} "
                                   f"(it has {', '.join(sorted(windows, key=int)) or 'none'})")
            answer = windows[chunk]
        elif task in ("moments", "metadata") and task in self.answers:
            answer = self.answers[task]
        else:
            raise ServiceError(400, "INVALID_ARGUMENT",
                               f"sample_services: unknown task {task!r} (the prompt needs a 'Task: analyse|moments|metadata' line)")
        text = json.dumps(answer, ensure_ascii=False)
        prompt_tokens = len(prompt) // 4
        answer_tokens = len(text) // 4
        return {
            "candidates": [{
                "content": {"role": "model", "parts": [{"text": text}]},
                "finishReason": "STOP",
                "index": 0,
            }],
            "usageMetadata": {
                "promptTokenCount": prompt_tokens,
                "candidatesTokenCount": answer_tokens,
                "totalTokenCount": prompt_tokens + answer_tokens,
            },
            "modelVersion": model,
        }


class ServiceHandler(BaseHTTPRequestHandler):
    """What both fake services share: HTTP/1.1 keep-alive, every method to handle_request, quiet logs."""
    protocol_version = "HTTP/1.1"
    sys_version = ""

    def do_GET(self):
        self.handle_request("GET")

    def do_POST(self):
        self.handle_request("POST")

    def do_PATCH(self):
        self.handle_request("PATCH")

    def do_DELETE(self):
        self.handle_request("DELETE")

    def log_message(self, format, *args):
        log(self.server, self.service_name, format % args)


class GeminiHandler(ServiceHandler):
    server_version = "sample-gemini/1"
    service_name = "gemini"

    def handle_request(self, method):
        try:
            raw = read_body(self)
            url = urlsplit(self.path)
            match = re.fullmatch(r"/v1beta/models/([^/:]+):generateContent", url.path)
            if not match:
                raise ServiceError(404, "NOT_FOUND", f"Requested entity was not found. ({method} {url.path})")
            if method != "POST":
                raise ServiceError(405, "METHOD_NOT_ALLOWED", f"Method {method} is not allowed for {url.path}")
            key = self.headers.get("x-goog-api-key") or parse_qs(url.query).get("key", [""])[0]
            if not key.strip():
                raise ServiceError(403, "PERMISSION_DENIED",
                                   "Method doesn't allow unregistered callers (callers without established identity). "
                                   "Please use API Key or other form of API consumer identity to call this API.")
            try:
                body = json.loads(raw.decode("utf-8") or "null")
            except (UnicodeDecodeError, json.JSONDecodeError) as error:
                raise ServiceError(400, "INVALID_ARGUMENT", f"Invalid JSON payload received. {error}")
            answer = self.server.gemini.generate(match.group(1), body)
            send_json(self, 200, answer)
        except ServiceError as error:
            send_json(self, error.status, {"error": {"code": error.status, "message": error.message, "status": error.code}})


# --------------------------------------------------------------------------------------------
# Notion


class Notion:
    def __init__(self, database_id):
        self.database_id = dashed(database_id)
        self.lock = threading.Lock()
        self.properties = [(name, kind, "title" if kind == "title" else digest_id(name)) for name, kind in PROPERTIES]
        self.types = {name: kind for name, kind, _ in self.properties}
        self.options = {name: [self.option(name, value) for value in values] for name, values in INITIAL_OPTIONS.items()}
        self.pages = {}  # id → page object, in creation order

    # -- shapes

    @staticmethod
    def option(prop, name):
        return {"id": digest_id(f"{prop}/{name}", 8), "name": name,
                "color": COLORS[int(digest_id(f"{prop}/{name}", 8), 16) % len(COLORS)], "description": None}

    def database(self):
        properties = {}
        for name, kind, pid in self.properties:
            config = {}
            if kind in ("select", "multi_select"):
                config = {"options": copy.deepcopy(self.options[name])}
            properties[name] = {"id": pid, "name": name, "type": kind, kind: config}
        return {
            "object": "database",
            "id": self.database_id,
            "cover": None,
            "icon": None,
            "created_time": FIXED_TIME,
            "created_by": {"object": "user", "id": BOT_USER_ID},
            "last_edited_by": {"object": "user", "id": BOT_USER_ID},
            "last_edited_time": FIXED_TIME,
            "title": rich_text_out([{"type": "text", "text": {"content": "aiv vocabulary (sample)"}}]),
            "description": [],
            "is_inline": False,
            "properties": properties,
            "parent": {"type": "workspace", "workspace": True},
            "url": "https://www.notion.so/" + compact_id(self.database_id),
            "public_url": None,
            "archived": False,
            "in_trash": False,
        }

    def empty_value(self, kind):
        return {"title": [], "rich_text": [], "select": None, "multi_select": [], "url": None}[kind]

    def new_page(self, page_id):
        return {
            "object": "page",
            "id": page_id,
            "created_time": FIXED_TIME,
            "last_edited_time": FIXED_TIME,
            "created_by": {"object": "user", "id": BOT_USER_ID},
            "last_edited_by": {"object": "user", "id": BOT_USER_ID},
            "cover": None,
            "icon": None,
            "parent": {"type": "database_id", "database_id": self.database_id},
            "archived": False,
            "in_trash": False,
            "properties": {name: {"id": pid, "type": kind, kind: self.empty_value(kind)} for name, kind, pid in self.properties},
            "url": "https://www.notion.so/" + compact_id(page_id),
            "public_url": None,
        }

    # -- checks

    def check_database(self, database_id):
        if compact_id(database_id) != compact_id(self.database_id):
            raise ServiceError(404, "object_not_found",
                               f"Could not find database with ID: {dashed(database_id)}. "
                               "Make sure the relevant pages and databases are shared with your integration.")

    def convert(self, name, value):
        """A request's property value → the value as a page object shows it (raises a 400)."""
        kind = self.types.get(name)
        if kind is None:
            raise ServiceError(400, "validation_error", f"{name} is not a property that exists.")
        if not isinstance(value, dict):
            raise ServiceError(400, "validation_error", f"body failed validation: body.properties.{name} should be an object.")
        given = [key for key in value if key not in ("id", "type")]
        if value.get("type", kind) != kind or given != [kind]:
            raise ServiceError(400, "validation_error", f"{name} is expected to be {kind}.")
        item = value[kind]
        if kind in ("title", "rich_text"):
            if not isinstance(item, list):
                raise ServiceError(400, "validation_error", f"body failed validation: body.properties.{name}.{kind} should be an array.")
            if len(item) > 100:
                raise ServiceError(400, "validation_error",
                                   f"body failed validation: body.properties.{name}.{kind}.length should be ≤ `100`, instead was `{len(item)}`.")
            for index, part in enumerate(item):
                content = (part.get("text") or {}).get("content") if isinstance(part, dict) else None
                if not isinstance(content, str):
                    raise ServiceError(400, "validation_error",
                                       f"body failed validation: body.properties.{name}.{kind}[{index}].text.content should be defined.")
                if len(content.encode("utf-16-le")) // 2 > TEXT_LIMIT:
                    raise ServiceError(400, "validation_error",
                                       f"body failed validation: body.properties.{name}.{kind}[{index}].text.content.length should be ≤ `{TEXT_LIMIT}`.")
            return rich_text_out(item)
        if kind == "select":
            if item is None:
                return None
            return self.use_option(name, item)
        if kind == "multi_select":
            if not isinstance(item, list):
                raise ServiceError(400, "validation_error", f"body failed validation: body.properties.{name}.multi_select should be an array.")
            return [self.use_option(name, entry) for entry in item]
        if kind == "url":
            if item is not None and not isinstance(item, str):
                raise ServiceError(400, "validation_error", f"body failed validation: body.properties.{name}.url should be a string or `null`.")
            if isinstance(item, str) and len(item) > TEXT_LIMIT:
                raise ServiceError(400, "validation_error", f"body failed validation: body.properties.{name}.url.length should be ≤ `{TEXT_LIMIT}`.")
            return item
        raise ServiceError(400, "validation_error", f"{name} is expected to be {kind}.")

    def use_option(self, prop, entry):
        name = entry.get("name") if isinstance(entry, dict) else None
        if not isinstance(name, str) or not name.strip():
            raise ServiceError(400, "validation_error", f"body failed validation: body.properties.{prop} options need a name.")
        if "," in name:
            raise ServiceError(400, "validation_error", f"Select option names cannot contain commas: \"{name}\".")
        options = self.options[prop]
        for option in options:
            if option["name"] == name:
                break
        else:
            option = self.option(prop, name)
            options.append(option)
        return {"id": option["id"], "name": option["name"], "color": option["color"]}

    def apply(self, page, properties):
        if properties is None:
            return
        if not isinstance(properties, dict):
            raise ServiceError(400, "validation_error", "body failed validation: body.properties should be an object.")
        converted = {name: self.convert(name, value) for name, value in properties.items()}
        for name, value in converted.items():
            kind = self.types[name]
            page["properties"][name][kind] = value

    @staticmethod
    def title_of(page):
        for value in page["properties"].values():
            if value["type"] == "title":
                return "".join(part["plain_text"] for part in value["title"])
        return ""

    # -- routes

    def get_database(self, database_id):
        with self.lock:
            self.check_database(database_id)
            return self.database()

    def query(self, database_id, body):
        with self.lock:
            self.check_database(database_id)
            body = body or {}
            if not isinstance(body, dict):
                raise ServiceError(400, "validation_error", "body failed validation: body should be an object.")
            page_size = body.get("page_size", 100)
            if not isinstance(page_size, int) or not 1 <= page_size <= 100:
                raise ServiceError(400, "validation_error", "body failed validation: body.page_size should be between 1 and 100.")
            pages = [page for page in self.pages.values() if not page["archived"] and not page["in_trash"]]
            condition = body.get("filter")
            if condition is not None:
                pages = [page for page in pages if self.matches(page, condition)]
            for sort in reversed(body.get("sorts") or []):
                pages = self.sorted_pages(pages, sort)
            start = 0
            cursor = body.get("start_cursor")
            if cursor is not None:
                ids = [page["id"] for page in pages]
                if cursor not in ids:
                    raise ServiceError(400, "validation_error", f"start_cursor provided is invalid: {cursor}")
                start = ids.index(cursor)
            chunk = pages[start:start + page_size]
            more = start + page_size < len(pages)
            return {
                "object": "list",
                "results": copy.deepcopy(chunk),
                "next_cursor": pages[start + page_size]["id"] if more else None,
                "has_more": more,
                "type": "page_or_database",
                "page_or_database": {},
            }

    def sorted_pages(self, pages, sort):
        if not isinstance(sort, dict):
            raise ServiceError(400, "validation_error", "body failed validation: body.sorts items should be objects.")
        descending = sort.get("direction", "ascending") == "descending"
        if "timestamp" in sort:
            # Every page has the same fixed time stamps: creation order stands in for them.
            return list(reversed(pages)) if descending else list(pages)
        name = sort.get("property")
        if name not in self.types:
            raise ServiceError(400, "validation_error", f"Could not find sort property with name or id: {name}")
        return sorted(pages, key=lambda page: sort_key(page["properties"][name]), reverse=descending)

    def matches(self, page, condition):
        if not isinstance(condition, dict):
            raise ServiceError(400, "validation_error", "body failed validation: body.filter should be an object.")
        if "and" in condition:
            return all(self.matches(page, part) for part in condition["and"])
        if "or" in condition:
            return any(self.matches(page, part) for part in condition["or"])
        name = condition.get("property")
        kind = self.types.get(name)
        if kind is None:
            raise ServiceError(400, "validation_error", f"Could not find property with name or id: {name}")
        given = [key for key in condition if key != "property"]
        if len(given) != 1:
            raise ServiceError(400, "validation_error", "body failed validation: body.filter should have one type condition.")
        filter_type = given[0]
        # Notion lets a text property be filtered as rich_text whatever its kind of text.
        if filter_type != kind and not (filter_type == "rich_text" and kind == "title"):
            raise ServiceError(400, "validation_error",
                               f"body failed validation: the {name} property is a {kind} property, not {filter_type}.")
        test = condition[filter_type]
        if not isinstance(test, dict) or len(test) != 1:
            raise ServiceError(400, "validation_error", f"body failed validation: body.filter.{filter_type} should have one operator.")
        operator, operand = next(iter(test.items()))
        value = page["properties"][name][kind]
        if kind in ("title", "rich_text"):
            text = "".join(part["plain_text"] for part in value)
        elif kind == "select":
            text = value["name"] if value else None
        elif kind == "multi_select":
            names = [option["name"] for option in value]
            if operator == "contains":
                return operand in names
            if operator == "does_not_contain":
                return operand not in names
            if operator == "is_empty":
                return not names
            if operator == "is_not_empty":
                return bool(names)
            raise ServiceError(400, "validation_error", f"body failed validation: multi_select has no operator {operator}.")
        else:
            text = value
        if operator == "equals":
            return text == operand
        if operator == "does_not_equal":
            return text != operand
        if operator == "contains":
            return text is not None and operand in text
        if operator == "does_not_contain":
            return text is None or operand not in text
        if operator == "starts_with":
            return text is not None and text.startswith(operand)
        if operator == "ends_with":
            return text is not None and text.endswith(operand)
        if operator == "is_empty":
            return not text
        if operator == "is_not_empty":
            return bool(text)
        raise ServiceError(400, "validation_error", f"body failed validation: {filter_type} has no operator {operator}.")

    def create(self, body):
        with self.lock:
            if not isinstance(body, dict):
                raise ServiceError(400, "validation_error", "body failed validation: body should be an object.")
            parent = body.get("parent")
            database_id = parent.get("database_id") if isinstance(parent, dict) else None
            if not database_id:
                raise ServiceError(400, "validation_error", "body failed validation: body.parent.database_id should be defined.")
            self.check_database(database_id)
            properties = body.get("properties")
            if not isinstance(properties, dict):
                raise ServiceError(400, "validation_error", "body failed validation: body.properties should be defined.")
            # Checked before the page exists, so a bad create leaves nothing behind.
            scratch = self.new_page("00000000-0000-0000-0000-000000000000")
            self.apply(scratch, properties)
            key = self.title_of(scratch)
            namespace = uuid.UUID(compact_id(self.database_id))
            page_id = str(uuid.uuid5(namespace, key))
            twin = 1
            while page_id in self.pages:  # a second page with the same title (real Notion allows twins)
                twin += 1
                page_id = str(uuid.uuid5(namespace, f"{key}#{twin}"))
            page = self.new_page(page_id)
            page["properties"] = scratch["properties"]
            self.pages[page_id] = page
            return copy.deepcopy(page)

    def find_page(self, page_id):
        for known, page in self.pages.items():
            if compact_id(known) == compact_id(page_id):
                return page
        raise ServiceError(404, "object_not_found",
                           f"Could not find page with ID: {dashed(page_id)}. "
                           "Make sure the relevant pages and databases are shared with your integration.")

    def get_page(self, page_id):
        with self.lock:
            return copy.deepcopy(self.find_page(page_id))

    def update(self, page_id, body):
        with self.lock:
            page = self.find_page(page_id)
            if not isinstance(body, dict):
                raise ServiceError(400, "validation_error", "body failed validation: body should be an object.")
            unarchive = body.get("archived") is False or body.get("in_trash") is False
            if (page["archived"] or page["in_trash"]) and not unarchive:
                raise ServiceError(400, "validation_error",
                                   "Can't edit block that is archived. You must unarchive the block before editing.")
            scratch = copy.deepcopy(page)
            self.apply(scratch, body.get("properties"))
            for flag in ("archived", "in_trash"):
                if isinstance(body.get(flag), bool):
                    scratch["archived"] = scratch["in_trash"] = body[flag]
            self.pages[page["id"]] = scratch
            return copy.deepcopy(scratch)


def rich_text_out(parts):
    out = []
    for part in parts:
        text = part.get("text") or {}
        content = text.get("content", "")
        link = text.get("link")
        annotations = {"bold": False, "italic": False, "strikethrough": False, "underline": False, "code": False, "color": "default"}
        annotations.update(part.get("annotations") or {})
        out.append({
            "type": "text",
            "text": {"content": content, "link": link},
            "annotations": annotations,
            "plain_text": content,
            "href": link.get("url") if isinstance(link, dict) else None,
        })
    return out


def sort_key(value):
    kind = value["type"]
    item = value[kind]
    if kind in ("title", "rich_text"):
        return "".join(part["plain_text"] for part in item)
    if kind == "select":
        return item["name"] if item else ""
    if kind == "multi_select":
        return ",".join(option["name"] for option in item)
    return item or ""


class NotionHandler(ServiceHandler):
    server_version = "sample-notion/1"
    service_name = "notion"

    def handle_request(self, method):
        try:
            raw = read_body(self)
            auth = self.headers.get("Authorization", "")
            if not auth.startswith("Bearer ") or not auth[len("Bearer "):].strip():
                raise ServiceError(401, "unauthorized", "API token is invalid.")
            version = self.headers.get("Notion-Version")
            if not version:
                raise ServiceError(400, "missing_version",
                                   "Notion-Version header failed validation: Notion-Version header should be defined, instead was `undefined`.")
            if version != NOTION_VERSION:
                raise ServiceError(400, "validation_error",
                                   f"sample_services serves Notion-Version {NOTION_VERSION} only, not {version}.")
            body = None
            if raw.strip():
                try:
                    body = json.loads(raw.decode("utf-8"))
                except (UnicodeDecodeError, json.JSONDecodeError):
                    raise ServiceError(400, "invalid_json", "Error parsing JSON body.")
            notion = self.server.notion
            path = urlsplit(self.path).path.rstrip("/")
            if match := re.fullmatch(r"/v1/databases/([^/]+)", path):
                self.expect(method, "GET")
                answer = notion.get_database(match.group(1))
            elif match := re.fullmatch(r"/v1/databases/([^/]+)/query", path):
                self.expect(method, "POST")
                answer = notion.query(match.group(1), body)
            elif path == "/v1/pages":
                self.expect(method, "POST")
                answer = notion.create(body)
            elif match := re.fullmatch(r"/v1/pages/([^/]+)", path):
                self.expect(method, "GET", "PATCH")
                answer = notion.get_page(match.group(1)) if method == "GET" else notion.update(match.group(1), body)
            else:
                raise ServiceError(400, "invalid_request_url", "Invalid request URL.")
            send_json(self, 200, answer)
        except ServiceError as error:
            send_json(self, error.status, {"object": "error", "status": error.status, "code": error.code, "message": error.message})

    def expect(self, method, *allowed):
        if method not in allowed:
            raise ServiceError(405, "invalid_request", f"Unsupported request: {method} {urlsplit(self.path).path}.")


# --------------------------------------------------------------------------------------------
# Plumbing


def read_body(handler):
    if handler.headers.get("Transfer-Encoding", "").lower() == "chunked":
        data = b""
        while True:
            size = int(handler.rfile.readline().split(b";")[0].strip() or b"0", 16)
            if size == 0:
                while handler.rfile.readline() not in (b"\r\n", b"\n", b""):
                    pass
                return data
            data += handler.rfile.read(size)
            handler.rfile.readline()
    length = int(handler.headers.get("Content-Length") or 0)
    return handler.rfile.read(length) if length else b""


def send_json(handler, status, value):
    data = json.dumps(value, ensure_ascii=False).encode("utf-8")
    handler.send_response(status)
    handler.send_header("Content-Type", "application/json; charset=utf-8")
    handler.send_header("Content-Length", str(len(data)))
    handler.end_headers()
    handler.wfile.write(data)


def log(server, name, message):
    if not server.quiet:
        sys.stderr.write(f"{name}: {message}\n")
        sys.stderr.flush()


def serve(server):
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    return thread


def main():
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    parser = argparse.ArgumentParser(description="Fake Gemini and Notion APIs for recording aiv's sample fixtures.")
    parser.add_argument("--answers", default=os.path.join(root, "samples", "stream-02", "model-answers.json"),
                        help="the model answers (default: samples/stream-02/model-answers.json)")
    parser.add_argument("--database-id", default=DEFAULT_DATABASE_ID, help=f"the Notion database's id (default {DEFAULT_DATABASE_ID})")
    parser.add_argument("--gemini-port", type=int, default=0, help="port for Gemini (0: pick a free one)")
    parser.add_argument("--notion-port", type=int, default=0, help="port for Notion (0: pick a free one)")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--quiet", action="store_true", help="do not log requests on stderr")
    args = parser.parse_args()

    try:
        with open(args.answers, encoding="utf-8") as handle:
            answers = json.load(handle)
    except (OSError, json.JSONDecodeError) as error:
        parser.error(f"cannot read the answers: {error}")
    if not re.fullmatch(r"[0-9a-f]{32}", compact_id(args.database_id)):
        parser.error(f"--database-id must be a UUID, not {args.database_id!r}")

    gemini = ThreadingHTTPServer((args.host, args.gemini_port), GeminiHandler)
    gemini.gemini = Gemini(answers)
    notion = ThreadingHTTPServer((args.host, args.notion_port), NotionHandler)
    notion.notion = Notion(args.database_id)
    for server in (gemini, notion):
        server.daemon_threads = True
        server.quiet = args.quiet
    serve(gemini)
    serve(notion)
    print(f"gemini {gemini.server_address[1]} notion {notion.server_address[1]}", flush=True)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        pass
    finally:
        gemini.shutdown()
        notion.shutdown()


if __name__ == "__main__":
    main()
