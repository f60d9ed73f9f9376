"""The fake SLS server accepts exactly what the official SDK sends, and nothing forged.

Everything the SLS tests conclude rests on this server, so it is checked against the
official client first.
"""

from __future__ import annotations

import json
import subprocess

import pytest

from tests.support.fake_sls import SDK_CLIENT, SLS_PYTHON, FakeSls, contents


def sdk_put(fake: FakeSls, **options) -> dict:
    arguments = {
        "endpoint": fake.endpoint,
        "project": fake.project,
        "access_key_id": fake.access_key_id,
        "access_key_secret": fake.access_key_secret,
        "security_token": fake.security_token,
        "region": fake.region,
        **options,
    }
    completed = subprocess.run(
        [str(SLS_PYTHON), str(SDK_CLIENT), json.dumps(arguments)],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return json.loads(completed.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("auth_version", ["v1", "v4"])
@pytest.mark.parametrize("security_token", ["", "sts-token-value"])
def test_the_sdk_client_is_accepted(auth_version, security_token):
    fake = FakeSls(security_token=security_token)
    try:
        result = sdk_put(fake, auth_version=auth_version, hash_key="0123456789abcdef")
        assert result["ok"], result
        [request] = fake.requests()
        assert request["problem"] is None
        assert request["path"] == "/logstores/store/shards/route"
        assert request["query"] == {"key": "0123456789abcdef"}
        [log] = request["log_group"]["logs"]
        assert contents(log) == {"content": "from the SDK ✓", "ключ": "значение"}
    finally:
        fake.close()


@pytest.mark.parametrize("auth_version", ["v1", "v4"])
def test_a_wrong_secret_or_token_is_refused(auth_version):
    fake = FakeSls(security_token="right-token")
    try:
        forged = sdk_put(fake, auth_version=auth_version, access_key_secret="not-the-secret")
        assert not forged["ok"]
        assert "SignatureNotMatch" in forged["error"]
        no_token = sdk_put(fake, auth_version=auth_version, security_token="")
        assert not no_token["ok"]
        assert "Unauthorized" in no_token["error"]
        assert [request["reply"]["code"] for request in fake.requests()] == [
            "SignatureNotMatch",
            "Unauthorized",
        ]
    finally:
        fake.close()
