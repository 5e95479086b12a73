"""The sign-in round trip against a local OpenID provider (oidc-provider-mock), p50 and p95 over N sign-ins.

    python -m benchmarks.signin [--sign-ins 50]

Starts the provider and `rag-service serve`-equivalent uvicorn on loopback (SQLite, a fresh data dir), then, for
each sign-in, does what a browser does: GET /auth/login (the attempt row, the redirect), the provider's form
posted (the provider's own work, timed apart), GET /auth/callback (the code exchanged at the token endpoint, the
ID token checked against the cached JWKS, the person and session rows written, the cookie set), and GET /api/me
with the new cookie (a session looked up and the person's rights worked out from the grants). The first
sign-in, which fetches discovery and the JWKS, is reported on its own. Results land in
benchmarks/results/signin-*.{json,md} with the CPU model and flags.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import oidc_provider_mock

from benchmarks.run import RESULTS, machine
from rag_service.settings import Settings
from tests.integration.server import running_server

WHO = "alice@example.com"


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def one_sign_in(base: str) -> dict[str, float]:
    with httpx.Client(base_url=base) as browser:
        started = time.perf_counter()
        to_provider = browser.get("/auth/login")
        ours = time.perf_counter() - started
        at = time.perf_counter()
        back = httpx.post(to_provider.headers["location"], data={"sub": WHO}).headers["location"]
        provider_form = time.perf_counter() - at
        at = time.perf_counter()
        landed = browser.get(back)
        assert landed.status_code == 303, landed.text
        callback = time.perf_counter() - at
        at = time.perf_counter()
        assert browser.get("/api/me").json()["signed_in"]
        me = time.perf_counter() - at
        total = time.perf_counter() - started
    return {"login": ours, "provider_form": provider_form, "callback": callback, "me": me, "total": total}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sign-ins", type=int, default=50)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp, oidc_provider_mock.run_server_in_thread() as provider:
        issuer = f"http://localhost:{provider.server_port}"
        claims = {"email": WHO, "name": "Alice", "groups": ["ops", "eng"]}
        httpx.put(f"{issuer}/users/{quote(WHO)}", json=claims).raise_for_status()
        settings = Settings(
            _env_file=None,  # type: ignore[call-arg]
            data_dir=Path(tmp) / "data",
            oidc_issuer=issuer,
            oidc_client_id="rag-service",
            oidc_client_secret="bench",
        )
        with running_server(settings) as base:
            first = one_sign_in(base)
            runs = [one_sign_in(base) for _ in range(args.sign_ins)]
    steps = ("login", "provider_form", "callback", "me", "total")
    summary = {
        step: {
            "p50_ms": round(statistics.median(r[step] for r in runs) * 1000, 1),
            "p95_ms": round(percentile([r[step] for r in runs], 0.95) * 1000, 1),
        }
        for step in steps
    }
    ours = [r["total"] - r["provider_form"] for r in runs]
    report: dict[str, Any] = {
        "machine": machine(),
        "sign_ins": args.sign_ins,
        "first_sign_in_ms": {step: round(first[step] * 1000, 1) for step in steps},
        "steps": summary,
        "rag_service_share_p50_ms": round(statistics.median(ours) * 1000, 1),
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
    (RESULTS / f"signin-{stamp}.json").write_text(json.dumps(report, indent=2), encoding="utf-8")
    lines = [
        f"# Sign-in round trip — {report['machine']['date']}",
        "",
        f"Machine: {report['machine']['cpu']}, {report['machine']['cores']} cores; flags: "
        f"{' '.join(f for f in report['machine']['cpu_flags'] if f.startswith(('avx', 'amx', 'fma', 'f16c')))}",
        "",
        f"{args.sign_ins} sign-ins after a first one (which fetched discovery and keys: "
        f"{report['first_sign_in_ms']['total']} ms in all). Loopback, SQLite, oidc-provider-mock.",
        "",
        "| step | p50 ms | p95 ms |",
        "|---|---|---|",
        *(f"| {step} | {summary[step]['p50_ms']} | {summary[step]['p95_ms']} |" for step in steps),
        "",
        f"rag-service's own share (total less the provider's form): p50 {report['rag_service_share_p50_ms']} ms.",
    ]
    (RESULTS / f"signin-{stamp}.md").write_text("\n".join(lines) + "\n", encoding="utf-8")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
