"""Page weight (the product's target: first page of the form ≤ 40 KB over the wire including htmx and
CSS; every later page ≤ 8 KB).

Walks the parent's journey for real, as a browser with JavaScript off would (plain form
posts with the csrf_token field and the session cookie, one-time passwords read from
/dev/outbox), and on every page asks with `Accept-Encoding: gzip` and counts what comes
over the wire: status line + response headers + (compressed) body. Each page is fetched
in Kazakh, Russian and English (switching the session language in between) and judged
by its heaviest language.

  - first load: /apply/start with an empty cache, plus every same-origin stylesheet and
    script the HTML references (htmx, kezek.css);
  - later pages: the HTML alone (static assets are served `immutable`, so cached).

    .venv/bin/python bench/page_weight.py                 # starts its own Kezek (SQLite)
    .venv/bin/python bench/page_weight.py --base-url http://127.0.0.1:8000   # a running dev server

KB = 1024 bytes.
"""

from __future__ import annotations

import argparse
import re
import sys
import time
from dataclasses import dataclass, field
from datetime import date, timedelta
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urljoin, urlsplit

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _server import BenchError, KezekServer, install_sigterm_handler, require_local

from server.demo_data import BY_KEY

KB = 1024
FIRST_BUDGET = 40 * KB
LATER_BUDGET = 8 * KB
LANGS = ("kk", "ru", "en")
HEADERS = {
    "Accept-Encoding": "gzip",
    "Accept": "text/html,application/xhtml+xml,*/*;q=0.8",
    "User-Agent": "Mozilla/5.0 (Linux; Android 10; K) kezek-bench page_weight",
}


class JourneyError(BenchError):
    pass


# --- measuring ----------------------------------------------------------------------------


@dataclass
class Transfer:
    url: str
    status: int
    headers: int  # status line + header lines + blank line
    body: int  # bytes on the wire (compressed when encoded)
    raw: int  # decoded body
    encoding: str
    cache_control: str = ""

    @property
    def wire(self) -> int:
        return self.headers + self.body


def measure(response: httpx.Response) -> Transfer:
    head = len(f"HTTP/1.1 {response.status_code} {response.reason_phrase}\r\n".encode())
    head += sum(len(k) + 2 + len(v) + 2 for k, v in response.headers.raw) + 2
    return Transfer(
        url=str(response.request.url),
        status=response.status_code,
        headers=head,
        body=response.num_bytes_downloaded,
        raw=len(response.content),
        encoding=response.headers.get("content-encoding", "identity"),
        cache_control=response.headers.get("cache-control", ""),
    )


class Forms(HTMLParser):
    """Hidden inputs, stylesheets and scripts of a page."""

    def __init__(self) -> None:
        super().__init__()
        self.hidden: dict[str, str] = {}
        self.assets: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "input" and a.get("type") == "hidden" and a.get("name"):
            self.hidden[a["name"]] = a.get("value", "")
        elif (
            tag == "link"
            and a.get("href")
            and set(a.get("rel", "").split()) & {"stylesheet", "preload", "modulepreload", "icon"}
        ):
            self.assets.append(a["href"])
        elif (tag == "script" and a.get("src")) or (tag == "img" and a.get("src")):
            self.assets.append(a["src"])


def parse(html: str) -> Forms:
    forms = Forms()
    forms.feed(html)
    return forms


@dataclass
class PageRow:
    name: str
    budget: int
    first_load: bool = False
    by_lang: dict[str, Transfer] = field(default_factory=dict)
    assets: list[Transfer] = field(default_factory=list)
    note: str = ""

    def wire(self, lang: str) -> int:
        return self.by_lang[lang].wire + sum(a.wire for a in self.assets)

    @property
    def worst(self) -> int:
        return max(self.wire(lang) for lang in self.by_lang)


# --- the journey --------------------------------------------------------------------------


class Journey:
    def __init__(self, base_url: str, applicant: str, child: str) -> None:
        self.base = base_url.rstrip("/")
        self.client = httpx.Client(base_url=self.base, headers=HEADERS, timeout=30, follow_redirects=False)
        self.applicant = BY_KEY[applicant]
        self.child = BY_KEY[child]
        self.phone1 = "+77011112233"
        self.phone2 = "+77074445566"
        self.lang = "kk"
        self.rows: list[PageRow] = []
        self.csrf = ""

    def close(self) -> None:
        self.client.close()

    def get(self, path: str, **kw) -> httpx.Response:
        response = self.client.get(path, **kw)
        if response.status_code >= 500:
            raise JourneyError(f"GET {path} → {response.status_code}")
        return response

    def set_lang(self, lang: str) -> None:
        response = self.client.get(f"/lang/{lang}", params={"next": "/"})
        if response.status_code != 303:
            raise JourneyError(f"language switch to {lang} → {response.status_code}")
        self.lang = lang

    def page(
        self,
        name: str,
        path: str,
        *,
        budget: int = LATER_BUDGET,
        expect: int = 200,
        extra_headers: dict | None = None,
        note: str = "",
    ) -> PageRow:
        """Fetches `path` once per language and records the transfers."""
        row = PageRow(name=name, budget=budget, note=note)
        home = self.lang
        for lang in LANGS:
            self.set_lang(lang)
            response = self.get(path, headers=extra_headers or {})
            if response.status_code != expect:
                raise JourneyError(
                    f"{name}: GET {path} answered {response.status_code}, expected {expect} "
                    f"(location {response.headers.get('location')})"
                )
            row.by_lang[lang] = measure(response)
            self._remember(response)
        self.set_lang(home)
        self.rows.append(row)
        return row

    def _remember(self, response: httpx.Response) -> None:
        if "text/html" in response.headers.get("content-type", ""):
            token = parse(response.text).hidden.get("csrf_token")
            if token:
                self.csrf = token

    def post(self, path: str, data: dict, *, expect_location: str | None = None, expect: int = 303) -> httpx.Response:
        response = self.client.post(path, data={"csrf_token": self.csrf, **data})
        if response.status_code != expect:
            errors = re.findall(r'<div class="error-summary".*?</div>', response.text, re.DOTALL)
            raise JourneyError(
                f"POST {path} answered {response.status_code}, expected {expect}: "
                f"{re.sub(r'<[^>]+>', ' ', errors[0]).split() if errors else response.text[:300]}"
            )
        if expect_location is not None:
            location = urlsplit(response.headers.get("location", ""))
            target = location.path + (f"?{location.query}" if location.query else "")
            if target != expect_location:
                raise JourneyError(f"POST {path} went to {target!r}, expected {expect_location!r}")
        return response

    def code_for(self, phone: str, after: int = 0) -> str:
        """The newest one-time password sent to `phone`, from the development outbox."""
        for _ in range(50):
            html = self.client.get("/dev/outbox").text
            for recipient, body in re.findall(
                r'<p class="meta">.*?→\s*(\+\d+).*?</p>\s*(?:<p>.*?</p>\s*)?<p class="body">(.*?)</p>', html, re.DOTALL
            ):
                if recipient == phone:
                    match = re.search(r"(?<![\d-])(\d{6})(?!\d)", body)
                    if match:
                        return match.group(1)
                    break
            time.sleep(0.1)
        raise JourneyError(f"no one-time password for {phone} in /dev/outbox")

    def first_load(self, name: str, path: str) -> PageRow:
        """HTML plus its same-origin stylesheets and scripts, each client with an empty cache."""
        row = PageRow(name=name, budget=FIRST_BUDGET, first_load=True)
        for lang in LANGS:
            with httpx.Client(base_url=self.base, headers=HEADERS, timeout=30) as fresh:
                if lang != "kk":
                    fresh.get(f"/lang/{lang}", params={"next": "/"})
                response = fresh.get(path)
                if response.status_code != 200:
                    raise JourneyError(f"{name}: GET {path} → {response.status_code}")
                row.by_lang[lang] = measure(response)
                if not row.assets:
                    for href in parse(response.text).assets:
                        url = urljoin(self.base + path, href)
                        if url.startswith("data:") or urlsplit(url).netloc != urlsplit(self.base).netloc:
                            continue
                        asset = fresh.get(url)
                        if asset.status_code != 200:
                            raise JourneyError(f"asset {href} → {asset.status_code}")
                        row.assets.append(measure(asset))
        self.rows.append(row)
        return row

    def walk(self) -> None:
        # First loads (empty cache: HTML + CSS + JS).
        self.first_load("/ (home) — first load", "/")
        self.first_load("/apply/start — first load", "/apply/start")

        # The journey in one session (cookie jar of self.client).
        self.page("/apply/start", "/apply/start")
        err = self.client.post(
            "/apply/start",
            data={"csrf_token": self.csrf, "department": "AST", "applicant_iin": "123", "phone": self.phone1},
        )
        self._error_row("/apply/start — 422 error", err)

        self.post(
            "/apply/start",
            {"department": "AST", "applicant_iin": self.applicant.iin, "phone": self.phone1},
            expect_location="/apply/phone/1",
        )
        self.page("/apply/phone/1", "/apply/phone/1")
        self.post(
            "/apply/phone/1",
            {"action": "confirm", "code": self.code_for(self.phone1)},
            expect_location="/apply/contacts",
        )
        self.page("/apply/contacts", "/apply/contacts")
        self.post("/apply/contacts", {"phone2": self.phone2, "email": ""}, expect_location="/apply/phone/2")
        self.page("/apply/phone/2", "/apply/phone/2")
        self.post(
            "/apply/phone/2", {"action": "confirm", "code": self.code_for(self.phone2)}, expect_location="/apply/child"
        )
        self.page("/apply/child", "/apply/child")
        self.post(
            "/apply/child", {"action": "find", "child_iin": self.child.iin}, expect_location="/apply/child?found=1"
        )
        self.page("/apply/child?found=1", "/apply/child?found=1")
        self.post("/apply/child", {"action": "continue"}, expect_location="/apply/preferences")
        self.page("/apply/preferences", "/apply/preferences")
        start = (date.today() + timedelta(days=120)).isoformat()
        self.post(
            "/apply/preferences",
            {"choice1": "AST-KG01", "choice2": "AST-KG02", "group_language": "kk", "desired_start": start},
            expect_location="/apply/benefits",
        )
        self.page("/apply/benefits", "/apply/benefits")
        self.post("/apply/benefits", {"action": "continue"}, expect_location="/apply/notifications")
        self.page("/apply/notifications", "/apply/notifications")
        self.post("/apply/notifications", {"channel": "sms", "language": "kk"}, expect_location="/apply/summary")
        self.page("/apply/summary", "/apply/summary")
        key = parse(self.get("/apply/summary").text).hidden.get("idempotency_key", "")
        self.post("/apply/summary", {"idempotency_key": key}, expect_location="/apply/status")
        first = self.get("/apply/status")
        if 'class="big"' not in first.text:
            self._single_row("/apply/status — registering…", first)
            poll = self.get("/apply/status", headers={"HX-Request": "true"})
            self._single_row("/apply/status — htmx poll fragment", poll)
        for _ in range(300):
            response = self.get("/apply/status")
            if 'class="big"' in response.text:
                break
            time.sleep(0.1)
        else:
            raise JourneyError("the application was not registered within 30 s (is the worker running?)")
        self.page("/apply/status — registered", "/apply/status")

    def _single_row(self, name: str, response: httpx.Response) -> None:
        row = PageRow(name=name, budget=LATER_BUDGET, note=f"{self.lang} only")
        row.by_lang[self.lang] = measure(response)
        self.rows.append(row)

    def _error_row(self, name: str, response: httpx.Response) -> None:
        if response.status_code != 422:
            raise JourneyError(f"{name}: expected 422, got {response.status_code}")
        self._single_row(name, response)


# --- report ---------------------------------------------------------------------------------


def report(rows: list[PageRow], base_url: str) -> bool:
    def kb(n: int) -> str:
        return f"{n / KB:6.1f}"

    print()
    print("=" * 100)
    print(f"Kezek page weight — {base_url} — Accept-Encoding: gzip — bytes over the wire (headers + body)")
    print("=" * 100)
    ok = True
    header = f"{'page':<40} {'kk':>8} {'ru':>8} {'en':>8}  {'worst':>8} {'KB':>6}  {'budget':>7}  result"
    print(header)
    print("-" * len(header))
    for row in rows:
        cells = [f"{row.wire(lang):>8}" if lang in row.by_lang else f"{'-':>8}" for lang in LANGS]
        verdict = "PASS" if row.worst <= row.budget else "FAIL"
        ok &= verdict == "PASS"
        print(
            f"{row.name:<40} {' '.join(cells)}  {row.worst:>8} {kb(row.worst)}  {row.budget // KB:>4} KB  {verdict}"
            + (f"  ({row.note})" if row.note else "")
        )
        if row.first_load:
            html = row.by_lang
            print(f"{'    of which HTML':<40} " + " ".join(f"{html[lang].wire:>8}" for lang in LANGS))
            for asset in row.assets:
                path = urlsplit(asset.url).path
                print(
                    f"{'    + ' + path:<40} {asset.wire:>8}  (body {asset.body} {asset.encoding}, "
                    f"{asset.raw} raw; Cache-Control: {asset.cache_control or 'none'})"
                )
    print()
    print("Details (kk): page → status, headers, body on the wire (encoding), decoded size")
    for row in rows:
        t = row.by_lang.get("kk") or next(iter(row.by_lang.values()))
        print(f"  {row.name:<40} {t.status}  hdr {t.headers:>4}  body {t.body:>6} ({t.encoding:<8})  raw {t.raw:>6}")
    not_gzipped = [r.name for r in rows for t in r.by_lang.values() if t.raw >= 500 and t.encoding != "gzip"]
    if not_gzipped:
        print(f"\nWARNING: not gzip-encoded: {sorted(set(not_gzipped))}")
    print(
        f"\nBudgets: first page {FIRST_BUDGET} bytes (40 KB) incl. CSS and JS; later pages {LATER_BUDGET} bytes (8 KB)."
    )
    print(f"RESULT: {'PASS' if ok else 'FAIL'}")
    return ok


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument(
        "--base-url",
        help="measure an already running development server (on 127.0.0.1) "
        "instead of starting one; its demo child must not be queued yet",
    )
    parser.add_argument("--database-url", help="when starting a server: as in registration_latency.py")
    parser.add_argument("--redis-url", help="when starting a server: as in registration_latency.py")
    parser.add_argument("--applicant", default="aigerim", help="demo person key (server/demo_data.py)")
    parser.add_argument("--child", default="dana", help="demo person key of the applicant's child")
    parser.add_argument("--keep", action="store_true", help="keep the temp directory")
    args = parser.parse_args(argv)
    install_sigterm_handler()

    def measure_at(base_url: str) -> int:
        journey = Journey(base_url, args.applicant, args.child)
        try:
            journey.walk()
        finally:
            journey.close()
        return 0 if report(journey.rows, base_url) else 1

    try:
        if args.base_url:
            require_local(args.base_url, "--base-url")
            return measure_at(args.base_url)
        with KezekServer(database_url=args.database_url, redis_url=args.redis_url, keep=args.keep) as server:
            return measure_at(server.base_url)
    except BenchError as exc:
        print(f"\nBENCH ERROR: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
