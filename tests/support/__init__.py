"""What the tests share: real peers and the data sent to them.

Receivers: ``otlp_receivers`` (OTLP over HTTP and gRPC, scripted replies, TLS), ``fake_sls``
and ``fake_sls_server`` (SLS, verified by the official SDK from ``.venv-sls``; its client
``sls_sdk_client``), ``hostile_http`` (collectors and proxies that misbehave), ``tcp``
(peers below HTTP: blackhole, relays, a closed port), ``tls_certs``.
Data: ``spans_catalog``, ``logs_catalog``, ``metrics_catalog``.
Suites we did not write: ``peer_suites`` (sdists fetched at test time, run in a subprocess),
``native_provider_plugin`` (their tracer providers become ours), ``instrumentation_venv``
(``.venv-instrumentation``, where contrib's instrumentations live).
Small helpers: ``span_parity`` (same ids for both providers, times aside), ``delivery``
(spans through our processor, failing replies), ``our_logging`` (what our exporter logged),
``environment``, ``gil``, ``wire``.
"""
