"""The Python rows of the benchmark: one row per run, one JSON line out (see bench/run.py).

    python rows.py ROW calls|first URL WARMUP CALLS [CA_FILE|-]
"""

from __future__ import annotations

import asyncio
import json
import sys
import time

ID = "1101000001"
TOKEN = "d75b3a66374942c5b3c019c698abc2067e151558acbd4123"
CHAT = "79001234567@c.us"


def peak_rss_kib() -> int:
    # VmHWM, not ru_maxrss: Linux carries the peak of the image that exec replaced into it.
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    return -1


def check(text: str) -> None:
    if not text.startswith('{"existsWhatsapp":true'):
        raise SystemExit(f"bench: unexpected answer: {text[:80]!r}")


def greenapi_options(ca):
    return {"rate_limit": 0, "max_retries": 0, "proxy": "", "ca_file": ca}


def row_greenapi_client(url, ca):
    import greenapi

    client = greenapi.Client(ID, TOKEN, api_url=url, **greenapi_options(ca))

    def call():
        if client.get_avatar(CHAT).exists_whatsapp is not True:
            raise SystemExit("bench: unexpected answer")

    return call


def row_greenapi_oneshot(url, ca):
    import greenapi

    options = greenapi_options(ca)

    def call():
        if greenapi.get_avatar(ID, TOKEN, CHAT, api_url=url, **options).exists_whatsapp is not True:
            raise SystemExit("bench: unexpected answer")

    return call


def row_seed_snippet(url, ca):
    # The reference's example, as written there (only the URL points at the stand-in).
    import requests

    full = f"{url}/waInstance{ID}/getAvatar/{TOKEN}"
    payload = "{\r\n \"chatId\": \"11001234567@c.us\"\r\n}"
    headers = {"Content-Type": "application/json"}

    def call():
        response = requests.request("POST", full, headers=headers, data=payload)
        check(response.text)

    return call


def row_requests_session(url, ca):
    import requests

    session = requests.Session()
    session.trust_env = False
    if ca:
        session.verify = ca
    full = f"{url}/waInstance{ID}/getAvatar/{TOKEN}"

    def call():
        check(session.post(full, json={"chatId": CHAT}, timeout=30).text)

    return call


def official_api(url):
    from whatsapp_api_client_python import API

    # Its URLs are "{host}/waInstance{id}/getAvatar/{token}": host is the stand-in.
    return API.GreenAPI(ID, TOKEN, host=url)


def row_official(url, ca):
    api = official_api(url)

    def call():
        r = api.serviceMethods.getAvatar(CHAT)
        if r.code != 200 or r.data.get("existsWhatsapp") is not True:
            raise SystemExit(f"bench: official client: {r.code} {r.error}")

    return call


def row_official_async(url, ca):
    api = official_api(url)
    loop = asyncio.new_event_loop()

    async def one():
        r = await api.serviceMethods.getAvatarAsync(CHAT)
        if r.code != 200 or r.data.get("existsWhatsapp") is not True:
            raise SystemExit(f"bench: official client (async): {r.code} {r.error}")

    def call():
        loop.run_until_complete(one())

    return call


ROWS = {
    "greenapi_client": row_greenapi_client,
    "greenapi_oneshot": row_greenapi_oneshot,
    "seed_snippet": row_seed_snippet,
    "requests_session": row_requests_session,
    "official": row_official,
    "official_async": row_official_async,
}


def main() -> None:
    row, mode, url, warmup, calls = sys.argv[1:6]
    ca = sys.argv[6] if len(sys.argv) > 6 and sys.argv[6] != "-" else None
    warmup, calls = int(warmup), int(calls)
    make = ROWS[row]
    max_us = 0.0
    if mode == "calls":
        call = make(url, ca)
        for _ in range(warmup):
            call()
        t0 = time.perf_counter()
        for _ in range(calls):
            call()
        total = time.perf_counter() - t0
    elif mode == "first":
        # A new client each time, so each call connects (and shakes hands) afresh.
        for _ in range(warmup):
            make(url, ca)()
        total = 0.0
        for _ in range(calls):
            t0 = time.perf_counter()
            make(url, ca)()
            spent = time.perf_counter() - t0
            total += spent
            max_us = max(max_us, spent * 1e6)
    else:
        raise SystemExit(f"bench: unknown mode {mode}")
    rss = peak_rss_kib()
    print(json.dumps({"us": total / calls * 1e6, "max_us": max_us, "calls": calls, "rss_kib": rss}))


if __name__ == "__main__":
    main()
