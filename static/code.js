// The access code on a letter's QR code travels in the address' fragment (/c#CODE), which a
// browser never sends to the server, so no log ever holds it. Put it into the form, take it
// out of the address (and the history), and submit the form: the code goes in the POST body.
(function () {
  "use strict";
  var form = document.getElementById("code-form");
  if (!form || window.location.hash.length < 2) {
    return;
  }
  var code = window.location.hash.slice(1);
  try {
    code = decodeURIComponent(code);
  } catch (e) {
    // Not percent-encoded: use it as it is.
  }
  window.history.replaceState(null, "", window.location.pathname);
  form.elements.code.value = code.slice(0, 40);
  if (form.requestSubmit) {
    form.requestSubmit();
  } else {
    form.submit();
  }
})();
