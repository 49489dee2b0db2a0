// Meta's Embedded Signup on the WhatsApp connect page: Facebook's SDK opens the popup; the
// popup posts the WABA id and phone number id back (WA_EMBEDDED_SIGNUP), FB.login returns a
// code, and a hidden form hands the three to the server, which exchanges the code.
(function () {
  "use strict";
  const root = document.getElementById("wa-embedded-signup");
  if (!root) return;
  const form = document.getElementById("wa-es-form");
  const status = document.getElementById("wa-es-status");
  let session = null;

  function say(text) { status.textContent = text; }

  const origins = (root.dataset.origins || "").split(" ").filter(Boolean);

  // Session logging (sessionInfoVersion 3): Facebook's window posts a JSON string
  // {type: "WA_EMBEDDED_SIGNUP", event: "FINISH" | "CANCEL", data: {...}}.
  window.addEventListener("message", function (event) {
    if (origins.indexOf(event.origin) < 0) return;
    if (typeof event.data !== "string") return;  // the SDK's own messages
    let data;
    try { data = JSON.parse(event.data); } catch (e) { return; }
    if (!data || data.type !== "WA_EMBEDDED_SIGNUP") return;
    if (data.event === "CANCEL") {
      const error = data.data && data.data.error_message;
      say(error ? "Meta could not finish the signup: " + error : "Signup was cancelled in Meta's window: nothing was connected.");
      return;
    }
    if (data.data && data.data.waba_id) session = data.data;
  });

  function submit(code, waited) {
    if (!session && waited < 3000) {  // the popup's message may trail the login callback
      setTimeout(function () { submit(code, waited + 200); }, 200);
      return;
    }
    form.elements.code.value = code;
    form.elements.waba_id.value = (session && session.waba_id) || "";
    form.elements.phone_number_id.value = (session && session.phone_number_id) || "";
    say("Finishing the connection…");
    form.submit();
  }

  window.fbAsyncInit = function () {
    window.FB.init({ appId: root.dataset.appId, autoLogAppEvents: true, xfbml: false, version: root.dataset.graphVersion });
  };
  const sdk = document.createElement("script");
  sdk.src = root.dataset.sdkUrl;
  sdk.async = true;
  sdk.crossOrigin = "anonymous";
  document.head.appendChild(sdk);

  document.getElementById("wa-es-start").addEventListener("click", function () {
    if (!window.FB) { say("Facebook's login could not be loaded (blocked by the browser?)."); return; }
    window.FB.login(function (response) {
      const code = response && response.authResponse && response.authResponse.code;
      if (!code) { if (!status.textContent) say("Signup was not completed: nothing was connected."); return; }
      submit(code, 0);
    }, {
      config_id: root.dataset.configId,
      response_type: "code",
      override_default_response_type: true,
      extras: { setup: {}, featureType: "", sessionInfoVersion: "3" },
    });
  });
})();
