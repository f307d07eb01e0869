# SPDX-License-Identifier: Apache-2.0
"""The console's files are compiled into mse-server: public (they hold no data), under a strict
Content-Security-Policy, gzipped at build time for clients that take it, revalidated by ETag,
and nothing in them is fetched from elsewhere."""
import gzip
import hashlib
import re
import urllib.request

from admin_helpers import make_site, make_task, ok, problem

CSP = "default-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"


def modules(anon):
    """Every file the page loads, following the modules' static imports."""
    page = anon.get("/console").text
    todo = re.findall(r'(?:src|href)="(/console/[^"]+)"', page)
    seen = set()
    while todo:
        url = todo.pop()
        if url in seen:
            continue
        seen.add(url)
        if url.endswith(".js"):
            body = anon.get(url).text
            todo += ["/console/" + m for m in re.findall(r"from\s*['\"]\./([\w.-]+)['\"]", body)]
    return seen


def test_page_and_files_need_no_token(anon):
    urls = modules(anon)
    assert {"/console/app.js", "/console/api.js", "/console/preact-htm.js",
            "/console/console.css"} <= urls
    for url in ["/console", *urls]:
        r = anon.get(url)
        assert r.status_code == 200, url
        assert r.headers["Content-Security-Policy"] == CSP, url
        assert r.headers["X-Content-Type-Options"] == "nosniff"


def test_nothing_inline_and_nothing_external(anon):
    page = anon.get("/console").text
    # Every <script> has a src: the CSP would refuse an inline one anyway.
    assert all('src="/console/' in tag for tag in re.findall(r"<script[^>]*>", page))
    assert re.search(r"<script[^>]*>\s*[^<\s]", page) is None
    assert "style=" not in page
    for url in modules(anon):
        body = anon.get(url).text
        assert not re.search(r"""(?:src|href|import|from)\s*=?\s*["']https?://""", body), url


def test_gzip_is_its_own_representation(anon):
    plain = anon.get("/console/app.js", headers={"Accept-Encoding": "identity"})
    assert "Content-Encoding" not in plain.headers
    assert plain.headers["ETag"] == '"%s"' % hashlib.sha256(plain.content).hexdigest()
    # requests decodes gzip on its own, so the compressed bytes are read with urllib, which does not.
    req = urllib.request.Request(anon.base_url + "/console/app.js",
                                 headers={"Accept-Encoding": "gzip"})
    with urllib.request.urlopen(req) as raw:
        body = raw.read()
    assert raw.headers["Content-Encoding"] == "gzip"
    assert raw.headers["Vary"] == "Accept-Encoding"
    assert gzip.decompress(body) == plain.content
    assert raw.headers["ETag"] == '"%s"' % hashlib.sha256(body).hexdigest()
    assert raw.headers["ETag"] != plain.headers["ETag"]


def test_revalidation_answers_304(anon):
    first = anon.get("/console", headers={"Accept-Encoding": "gzip"})
    again = anon.get("/console", headers={"Accept-Encoding": "gzip",
                                          "If-None-Match": first.headers["ETag"]})
    assert again.status_code == 304 and again.content == b""
    assert again.headers["Cache-Control"] == "no-cache"


def test_unknown_file_is_404(anon):
    problem(anon.get("/console/nope.js"), 404)


def test_the_lists_the_dashboard_polls_answer_304_until_they_change(api):
    task = make_task(api)
    for path, change in [
            ("/api/v1/sites", lambda: make_site(api)),
            ("/api/v1/exchange-tasks", lambda: make_task(api)),
            (f"/api/v1/exchange-tasks/{task['id']}/executions",
             lambda: ok(api.post(f"/api/v1/exchange-tasks/{task['id']}/run"), 202))]:
        r = api.get(path, params={"limit": 500})
        first, etag = ok(r), r.headers["ETag"]
        again = api.get(path, params={"limit": 500}, headers={"If-None-Match": etag})
        assert again.status_code == 304 and again.content == b"", path
        assert again.headers["ETag"] == etag
        change()
        moved = api.get(path, params={"limit": 500}, headers={"If-None-Match": etag})
        assert moved.status_code == 200 and moved.headers["ETag"] != etag, path
        assert moved.json() != first
