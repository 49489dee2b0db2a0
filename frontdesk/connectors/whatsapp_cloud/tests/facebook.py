"""A stand-in for Facebook's JavaScript SDK and Embedded Signup's popup (WhatsApp Cloud API).

Follows Meta's documented contract (developers.facebook.com/docs/whatsapp/embedded-signup/
implementation): the page defines ``window.fbAsyncInit`` and loads ``sdk.js``, which calls
it; ``FB.init({appId, version, ...})``; ``FB.login(callback, {config_id, response_type:
"code", override_default_response_type: true, extras: {setup: {}, sessionInfoVersion:
"3"}})`` opens a popup on Facebook's origin. When the person finishes there, the popup posts
``{"type": "WA_EMBEDDED_SIGNUP", "event": "FINISH", "data": {"phone_number_id", "waba_id",
"business_id"}}`` (a JSON string) to the page that opened it, and the SDK calls the callback
with ``{"authResponse": {"code": ...}, "status": "connected"}``; a cancel posts ``"event":
"CANCEL"`` with ``data.current_step`` and calls back with ``authResponse: null``.

Two origins, as in production: the SDK is served from ``sdk_origin`` (127.0.0.1, standing in
for connect.facebook.net) and the popup from ``dialog_origin`` (localhost, for
www.facebook.com). The SDK refuses a login without the documented options, so the page's
call is checked. The code comes from the Graph stand-in, which exchanges it.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qs, urlsplit

from tests.peers.local_server import root_of, start_server, stop_server

SDK_JS = r"""
(function () {
  "use strict";
  var DIALOG = %(dialog)s;
  var settings = null;
  function fail(text) { throw new Error("FB stand-in: " + text); }
  window.FB = {
    init: function (options) {
      if (!options || !options.appId || !/^v\d+\.\d+$/.test(options.version || "")) {
        fail("FB.init needs appId and a version like v21.0");
      }
      settings = options;
    },
    login: function (callback, options) {
      if (!settings) fail("FB.login before FB.init");
      options = options || {};
      if (!options.config_id) fail("FB.login needs config_id");
      if (options.response_type !== "code" || options.override_default_response_type !== true) {
        fail("Embedded Signup needs response_type 'code' with override_default_response_type");
      }
      var extras = options.extras || {};
      if (String(extras.sessionInfoVersion) !== "3") fail("extras.sessionInfoVersion must be '3'");
      var query = "?app_id=" + encodeURIComponent(settings.appId) +
        "&config_id=" + encodeURIComponent(options.config_id) +
        "&origin=" + encodeURIComponent(window.location.origin);
      var popup = window.open(DIALOG + "/dialog" + query, "fb-embedded-signup", "width=600,height=700");
      var answered = false;
      function answer(response) {
        if (answered) return;
        answered = true;
        window.removeEventListener("message", onResult);
        callback(response);
      }
      function onResult(event) {  // the SDK's own channel with its popup
        if (event.origin !== DIALOG) return;
        var data = event.data;
        if (!data || data.fbSdk !== "login") return;
        answer(data.code ? { authResponse: { code: data.code }, status: "connected" }
                         : { authResponse: null, status: "unknown" });
      }
      window.addEventListener("message", onResult);
      var watch = setInterval(function () {
        if (popup && popup.closed) {
          clearInterval(watch);
          setTimeout(function () { answer({ authResponse: null, status: "unknown" }); }, 500);
        }
      }, 200);
    },
  };
  if (typeof window.fbAsyncInit === "function") window.fbAsyncInit();
})();
"""

DIALOG_HTML = """<!doctype html><html lang="en"><head><meta charset="utf-8">
<title>Facebook (stand-in): WhatsApp Business</title></head><body>
<h1>Connect your WhatsApp Business Account</h1>
<p id="asked">App %(app_id)s asks to manage WhatsApp number %(display)s.</p>
<button id="es-finish">Finish</button> <button id="es-cancel">Cancel</button>
<script>
var opener = window.opener, target = %(origin)s;
function session(event, data) {
  opener.postMessage(JSON.stringify({ type: "WA_EMBEDDED_SIGNUP", event: event, data: data }), target);
}
document.getElementById("es-finish").onclick = function () {
  session("FINISH", %(finish)s);
  fetch("/code", { method: "POST" }).then(function (r) { return r.text(); }).then(function (code) {
    opener.postMessage({ fbSdk: "login", code: code }, target);
    window.close();
  });
};
document.getElementById("es-cancel").onclick = function () {
  session("CANCEL", { current_step: "PHONE_NUMBER_SETUP" });
  opener.postMessage({ fbSdk: "login", code: "" }, target);
  window.close();
};
</script></body></html>"""


class FacebookPeer:
    """The SDK at ``sdk_url``, the popup at ``dialog_origin``; ``issue_code`` makes the code
    (the Graph stand-in's, so that the app can exchange it there)."""

    def __init__(
        self,
        issue_code: Callable[[], str],
        app_id: str,
        phone_number_id: str,
        waba_id: str,
        display: str = "+1 555-010-0199",
    ):
        self.issue_code = issue_code
        self.app_id = app_id
        self.finish = {"phone_number_id": phone_number_id, "waba_id": waba_id, "business_id": "1"}
        self.display = display
        self.logins: list[dict[str, str]] = []  # the popup's query, per opening
        peer = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                return None

            def do_GET(self) -> None:
                peer._get(self)

            def do_POST(self) -> None:
                if urlsplit(self.path).path != "/code":
                    return peer._send(self, 404, b"not found", "text/plain")
                peer._send(self, 200, peer.issue_code().encode(), "text/plain")

        self._server = start_server(Handler)
        self.sdk_origin = root_of(self._server)
        self.dialog_origin = self.sdk_origin.replace("127.0.0.1", "localhost")
        self.sdk_url = f"{self.sdk_origin}/en_US/sdk.js"

    def _get(self, h: BaseHTTPRequestHandler) -> None:
        parts = urlsplit(h.path)
        host = (h.headers.get("Host") or "").split(":")[0]
        if parts.path == "/en_US/sdk.js" and host == "127.0.0.1":
            body = SDK_JS % {"dialog": json.dumps(self.dialog_origin)}
            # connect.facebook.net answers CORS, so the page may load it crossorigin
            return self._send(h, 200, body.encode(), "text/javascript", cors=True)
        if parts.path == "/dialog" and host == "localhost":
            query = {k: v[0] for k, v in parse_qs(parts.query).items()}
            self.logins.append(query)
            if query.get("app_id") != self.app_id:
                return self._send(h, 400, b"Invalid App ID", "text/plain")
            page = DIALOG_HTML % {
                "app_id": query["app_id"],
                "display": self.display,
                "origin": json.dumps(query.get("origin", "")),
                "finish": json.dumps(self.finish),
            }
            return self._send(h, 200, page.encode(), "text/html; charset=utf-8")
        if parts.path == "/favicon.ico":
            return self._send(h, 200, b"", "image/x-icon")
        return self._send(h, 404, b"not found", "text/plain")

    @staticmethod
    def _send(
        h: BaseHTTPRequestHandler, status: int, body: bytes, ctype: str, cors: bool = False
    ) -> None:
        h.send_response(status)
        h.send_header("Content-Type", ctype)
        if cors:
            h.send_header("Access-Control-Allow-Origin", "*")
        h.send_header("Content-Length", str(len(body)))
        h.end_headers()
        h.wfile.write(body)

    def close(self) -> None:
        stop_server(self._server)
