"""A loopback SLS PutLogs endpoint that checks every request the way SLS does.

Runs from its own virtualenv (``.venv-sls``: aliyun-log-python-sdk pins protobuf<6, which
the OTLP stack cannot share) and verifies with the SDK's own functions: the v1 signature
(its canonical header/resource helpers and HMAC-SHA1) or v4 (``AuthV4``), Content-MD5,
the STS token, the clock window, lz4 decompression to ``x-log-bodyrawsize`` bytes, and
LogGroup decoding with the SDK's protobuf classes. Replies like SLS: ``x-log-requestid``
on every answer, ``{"errorCode", "errorMessage"}`` JSON on errors.

Control endpoints for the tests (on the same port):
  POST /_fake/script     JSON list of replies [{"status": 503, "code": "...", "message": "..."}]
                         used, in order, for the next PutLogs requests (after verification)
  GET  /_fake/requests   JSON list of every PutLogs request: headers, path, query,
                         problems found, the reply sent, and the decoded LogGroup

Prints ``PORT <n>`` on its first stdout line once listening.
"""

from __future__ import annotations

import argparse
import email.utils
import json
import threading
import time
import uuid
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, urlsplit

from aliyun.log.auth import AuthV4
from aliyun.log.compress import Compressor, CompressType
from aliyun.log.credentials import StaticCredentialsProvider
from aliyun.log.log_logs_pb2 import LogGroup
from aliyun.log.util import Util

# SLS answers RequestTimeTooSkewed beyond 15 minutes.
CLOCK_WINDOW_SECONDS = 15 * 60


class State:
    def __init__(self, options: argparse.Namespace) -> None:
        self.options = options
        self.lock = threading.Lock()
        self.script: list[dict] = []
        self.requests: list[dict] = []
        self.logs_received = 0


def _problem(status: int, code: str, message: str) -> dict:
    return {"status": status, "code": code, "message": message}


def verify(options: argparse.Namespace, method: str, path: str, query: dict, headers: dict, body: bytes):
    """Returns (problem or None, decoded LogGroup or None)."""
    for name, expected in (
        ("x-log-apiversion", "0.6.0"),
        ("content-type", "application/x-protobuf"),
        ("x-log-compresstype", "lz4"),
    ):
        if headers.get(name) != expected:
            return _problem(400, "InvalidHeader", f"{name} is {headers.get(name)!r}"), None
    if "x-log-bodyrawsize" not in headers:
        return _problem(400, "MissingBodyRawSize", "x-log-bodyrawsize is missing"), None
    host = headers.get("host", "")
    if not host.startswith(f"{options.project}."):
        return _problem(404, "ProjectNotExist", f"host {host!r} names no known project"), None
    # Optional (the SDK's v4 requests carry none), but checked when sent.
    if "content-md5" in headers and headers["content-md5"] != Util.cal_md5(body):
        return _problem(400, "InvalidContentMD5", "Content-MD5 does not match the body"), None

    if options.security_token and headers.get("x-acs-security-token") != options.security_token:
        return _problem(401, "Unauthorized", "the security token is missing or wrong"), None

    authorization = headers.get("authorization", "")
    if authorization.startswith("LOG "):
        if headers.get("x-log-signaturemethod") != "hmac-sha1":
            return _problem(400, "InvalidSignatureMethod", "x-log-signaturemethod"), None
        key_id, _, _signature = authorization[4:].partition(":")
        if key_id != options.access_key_id:
            return _problem(401, "Unauthorized", "AccessKeyId not found"), None
        # AuthV1.sign_request's string, built with the SDK's own helpers.
        content = "\n".join(
            [method, Util.cal_md5(body), headers["content-type"], headers.get("date", ""), ""]
        )
        # The SDK adds x-log-date (a copy of Date, for proxies that drop Date) after
        # signing, so SLS leaves it out of the v1 string.
        signed_headers = {name: value for name, value in headers.items() if name != "x-log-date"}
        content += Util.canonicalized_log_headers(signed_headers)
        content += Util.canonicalized_resource(path, query)
        expected = "LOG " + options.access_key_id + ":" + Util.hmac_sha1(content, options.access_key_secret)
        signed_at = _parse_http_date(headers.get("date", ""))
    elif authorization.startswith("SLS4-HMAC-SHA256 "):
        signer = AuthV4(
            StaticCredentialsProvider(
                options.access_key_id, options.access_key_secret, options.security_token or None
            ),
            options.region,
        )
        resigned = dict(headers)
        expected = signer._do_sign_request(
            method, path, dict(query), resigned, body, headers.get("x-log-date", "")
        )
        if resigned["x-log-content-sha256"] != headers.get("x-log-content-sha256"):
            return _problem(400, "InvalidContentSha256", "x-log-content-sha256 mismatch"), None
        signed_at = _parse_v4_date(headers.get("x-log-date", ""))
    else:
        return _problem(401, "Unauthorized", "no supported Authorization"), None
    if authorization != expected:
        return _problem(401, "SignatureNotMatch", "signature does not match"), None
    if signed_at is None or abs(time.time() - signed_at) > CLOCK_WINDOW_SECONDS:
        return _problem(400, "RequestTimeTooSkewed", "the request date is outside the window"), None

    raw_size = int(headers["x-log-bodyrawsize"])
    try:
        raw = Compressor.decompress(body, raw_size, CompressType.LZ4)
    except Exception as error:
        return _problem(400, "PostBodyUncompressError", f"lz4: {error}"), None
    if len(raw) != raw_size:
        return _problem(400, "PostBodyUncompressError", "raw size mismatch"), None
    group = LogGroup()
    try:
        group.ParseFromString(raw)
    except Exception as error:
        return _problem(400, "PostBodyInvalid", f"LogGroup: {error}"), None
    return None, group


def _parse_http_date(text: str):
    try:
        return email.utils.parsedate_to_datetime(text).timestamp()
    except (TypeError, ValueError):
        return None


def _parse_v4_date(text: str):
    try:
        return datetime.strptime(text, "%Y%m%dT%H%M%SZ").replace(tzinfo=timezone.utc).timestamp()
    except ValueError:
        return None


def group_as_json(group: LogGroup) -> dict:
    return {
        "topic": group.Topic,
        "source": group.Source,
        "tags": [[tag.Key, tag.Value] for tag in group.LogTags],
        "logs": [
            {
                "time": log.Time,
                "time_ns": log.Time_ns if log.HasField("Time_ns") else None,
                "contents": [[content.Key, content.Value] for content in log.Contents],
            }
            for log in group.Logs
        ],
    }


def make_handler(state: State):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format, *args):
            pass

        def _reply(self, status: int, payload=None) -> None:
            body = b"" if payload is None else json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("x-log-requestid", uuid.uuid4().hex.upper()[:24])
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self) -> None:
            if self.path == "/_fake/requests":
                with state.lock:
                    self._reply(200, state.requests)
            elif self.path == "/_fake/count":
                with state.lock:
                    self._reply(200, {"logs": state.logs_received, "requests": len(state.requests)})
            else:
                self._reply(404, {"errorCode": "NotFound", "errorMessage": self.path})

        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            split = urlsplit(self.path)
            if split.path == "/_fake/script":
                with state.lock:
                    state.script.extend(json.loads(body))
                self._reply(200, {})
                return
            query = dict(parse_qsl(split.query, keep_blank_values=True))
            headers = {name.lower(): value for name, value in self.headers.items()}
            parts = split.path.split("/")
            if len(parts) != 5 or parts[1] != "logstores" or parts[3] != "shards":
                self._reply(404, {"errorCode": "NotFound", "errorMessage": split.path})
                return
            if parts[4] == "route" and "key" not in query:
                self._reply(400, {"errorCode": "ParameterInvalid", "errorMessage": "route needs key"})
                return
            problem, group = verify(state.options, "POST", split.path, query, headers, body)
            known = state.options.logstores
            if problem is None and known and parts[2] not in known.split(","):
                # As SLS: a signed request to a logstore the project does not have.
                problem = _problem(404, "LogStoreNotExist", f"logstore {parts[2]} does not exist")
            with state.lock:
                scripted = state.script.pop(0) if state.script and problem is None else None
            reply = problem or scripted or {"status": 200}
            record = {
                "path": split.path,
                "query": query,
                "headers": headers,
                "problem": problem,
                "reply": reply,
                "log_group": None,
            }
            if group is not None:
                record["log_group"] = (
                    {"log_count": len(group.Logs)} if state.options.summary_only else group_as_json(group)
                )
            with state.lock:
                state.requests.append(record)
                if reply["status"] == 200 and group is not None:
                    state.logs_received += len(group.Logs)
            if reply["status"] == 200:
                self._reply(200)
            else:
                self._reply(reply["status"], {"errorCode": reply["code"], "errorMessage": reply["message"]})

    return Handler


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--project", required=True)
    parser.add_argument("--access-key-id", required=True)
    parser.add_argument("--access-key-secret", required=True)
    parser.add_argument("--security-token", default="")
    parser.add_argument("--region", default="")
    parser.add_argument("--summary-only", action="store_true", help="keep log counts, not contents")
    parser.add_argument(
        "--logstores", default="", help="the project's logstores, comma-separated (default: any)"
    )
    options = parser.parse_args()
    server = ThreadingHTTPServer(("127.0.0.1", options.port), make_handler(State(options)))
    server.daemon_threads = True
    print(f"PORT {server.server_address[1]}", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
