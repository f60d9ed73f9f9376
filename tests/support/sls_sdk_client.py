"""Sends logs with the official aliyun-log-python-sdk client (run from ``.venv-sls``).

Used to show that the fake server accepts exactly what the SDK sends, and as the SDK side
of the benchmark. Arguments come as one JSON object on argv[1].
"""

from __future__ import annotations

import json
import sys

from aliyun.log import LogClient, LogItem, PutLogsRequest


def main() -> None:
    options = json.loads(sys.argv[1])
    client = LogClient(
        options["endpoint"],
        options["access_key_id"],
        options["access_key_secret"],
        securityToken=options.get("security_token") or None,
        auth_version=options.get("auth_version", "v1"),
        region=options.get("region", ""),
    )
    # The SDK connects straight to an IP endpoint only when it has no port; the fake
    # server listens on a random port, so say it is an IP endpoint ourselves.
    client._isRowIp = True
    item = LogItem(contents=[("content", "from the SDK ✓"), ("ключ", "значение")])
    request = PutLogsRequest(
        options["project"], "store", "topic", "", [item], hashKey=options.get("hash_key")
    )
    try:
        response = client.put_logs(request)
        print(json.dumps({"ok": True, "request_id": response.get_request_id()}))
    except Exception as error:
        print(json.dumps({"ok": False, "error": str(error)}))


if __name__ == "__main__":
    main()
