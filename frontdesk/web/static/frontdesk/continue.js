// A connect flow's hand-over page (e.g. Unipile's hosted auth): go on to the provider's page
// at once. A GET navigation, which the app's CSP (form-action 'self') does not govern; the
// link stays on the page for a browser that runs no script.
(function () {
  "use strict";
  var link = document.querySelector("a[data-continue-now]");
  if (link) window.location.replace(link.href);
})();
