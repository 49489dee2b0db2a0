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

  window.addEventListener("message", function (event) {
    let host;
    try { host = new URL(event.origin).hostname; } catch (e) { return; }
    if (host !== "facebook.com" && !host.endsWith(".facebook.com")) return;
    let data = event.data;
    if (typeof data === "string") { try { data = JSON.parse(data); } catch (e) { return; } }
    if (!data || data.type !== "WA_EMBEDDED_SIGNUP") return;
    if (data.event === "CANCEL") { say("Signup was cancelled in Meta's window."); return; }
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
  sdk.src = "https://connect.facebook.net/en_US/sdk.js";
  sdk.async = true;
  sdk.crossOrigin = "anonymous";
  document.head.appendChild(sdk);

  document.getElementById("wa-es-start").addEventListener("click", function () {
    if (!window.FB) { say("Facebook's login could not be loaded (blocked by the browser?)."); return; }
    window.FB.login(function (response) {
      const code = response && response.authResponse && response.authResponse.code;
      if (!code) { say("Signup was not completed."); return; }
      submit(code, 0);
    }, {
      config_id: root.dataset.configId,
      response_type: "code",
      override_default_response_type: true,
      extras: { setup: {}, sessionInfoVersion: "3" },
    });
  });
})();
