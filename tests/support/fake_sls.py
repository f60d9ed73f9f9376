"""Starts ``tests/support/fake_sls_server.py`` from ``.venv-sls`` and reads what it verified."""

from __future__ import annotations

import json
import secrets
import subprocess
import time
import urllib.request
from pathlib import Path
from typing import Any, Optional

ROOT = Path(__file__).resolve().parents[2]
SLS_PYTHON = ROOT / ".venv-sls" / "bin" / "python"
SERVER = Path(__file__).resolve().parent / "fake_sls_server.py"
# The official client, run from .venv-sls like the server.
SDK_CLIENT = Path(__file__).resolve().parent / "sls_sdk_client.py"


class FakeSls:
    """One server process; credentials are random per instance."""

    def __init__(
        self,
        *,
        project: str = "test-project",
        security_token: str = "",
        region: str = "cn-hangzhou",
        summary_only: bool = False,
        logstores: Optional[list[str]] = None,
    ) -> None:
        self.project = project
        self.access_key_id = "LTAI" + secrets.token_hex(8)
        self.access_key_secret = secrets.token_urlsafe(24)
        self.security_token = security_token
        self.region = region
        # `--name=value`: a random secret may start with "-".
        command = [
            str(SLS_PYTHON),
            str(SERVER),
            f"--project={project}",
            f"--access-key-id={self.access_key_id}",
            f"--access-key-secret={self.access_key_secret}",
            f"--region={region}",
        ]
        if security_token:
            command.append(f"--security-token={security_token}")
        if summary_only:
            command.append("--summary-only")
        if logstores:
            command.append(f"--logstores={','.join(logstores)}")
        self.process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
        assert self.process.stdout is not None
        line = self.process.stdout.readline()
        if not line.startswith("PORT "):
            self.process.kill()
            raise RuntimeError(f"the fake SLS server did not start: {line!r}")
        self.port = int(line.split()[1])
        self.endpoint = f"http://127.0.0.1:{self.port}"

    def credentials_env(self) -> dict[str, str]:
        env = {
            "ALIBABA_CLOUD_ACCESS_KEY_ID": self.access_key_id,
            "ALIBABA_CLOUD_ACCESS_KEY_SECRET": self.access_key_secret,
        }
        if self.security_token:
            env["ALIBABA_CLOUD_SECURITY_TOKEN"] = self.security_token
        return env

    def credentials(self) -> dict[str, Any]:
        """The SLS classes' credential arguments for this server."""
        return {
            "access_key_id": self.access_key_id,
            "access_key_secret": self.access_key_secret,
            "security_token": self.security_token or None,
        }

    def processor(self, logstore: str = "store", **arguments):
        """An ``SLSLogRecordProcessor`` sending here (``otel_sls_exporter`` is installed
        only with the ``sls`` extra, hence the late import)."""
        from otel_sls_exporter import SLSLogRecordProcessor

        return SLSLogRecordProcessor(self.endpoint, self.project, logstore, **self.credentials(), **arguments)

    def env(self, logstore: str = "store", **extra: str) -> dict[str, str]:
        """The ``OTEL_EXPORTER_SLS_*`` settings that point an exporter here."""
        return {
            "OTEL_EXPORTER_SLS_ENDPOINT": self.endpoint,
            "OTEL_EXPORTER_SLS_PROJECT": self.project,
            "OTEL_EXPORTER_SLS_LOGSTORE": logstore,
            **self.credentials_env(),
            **extra,
        }

    def _call(self, method: str, path: str, payload=None):
        data = None if payload is None else json.dumps(payload).encode()
        request = urllib.request.Request(f"{self.endpoint}{path}", data=data, method=method)
        with urllib.request.urlopen(request, timeout=10) as response:
            return json.loads(response.read() or b"null")

    def script(self, *replies: dict) -> None:
        """The next PutLogs requests get these replies: {"status", "code", "message"}."""
        self._call("POST", "/_fake/script", list(replies))

    def requests(self) -> list[dict]:
        return self._call("GET", "/_fake/requests")

    def delivered_logs(self) -> list[dict]:
        """Logs of accepted requests, each with its group's topic/source/tags attached."""
        logs = []
        for request in self.requests():
            if request["reply"]["status"] == 200 and request["log_group"]:
                group = request["log_group"]
                for log in group["logs"]:
                    logs.append({**log, "group": {k: v for k, v in group.items() if k != "logs"}})
        return logs

    def count(self) -> dict:
        return self._call("GET", "/_fake/count")

    def wait_for_logs(self, count: int, timeout: float = 15.0) -> list[dict]:
        deadline = time.monotonic() + timeout
        while True:
            logs = self.delivered_logs()
            if len(logs) >= count or time.monotonic() > deadline:
                return logs
            time.sleep(0.05)

    def close(self) -> None:
        self.process.kill()
        self.process.wait(timeout=10)
        if self.process.stdout:
            self.process.stdout.close()


def contents(log: dict) -> dict[str, str]:
    return dict(log["contents"])


def problems(fake: FakeSls) -> list[Optional[dict]]:
    return [request["problem"] for request in fake.requests() if request["problem"]]
