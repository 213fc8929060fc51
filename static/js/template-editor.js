// Live preview for the template editor (back office): while the accountant types, the form is
// sent with action=preview (the same request as the "Preview" button, CSRF token included) and
// the page's preview and error messages are replaced by the server's answer. Without
// JavaScript the button does the same; nothing here is needed to use the page.
(function () {
  "use strict";
  var form = document.querySelector("form.editor-form");
  var preview = document.getElementById("preview");
  if (!form || !preview || !window.fetch || !window.DOMParser) { return; }
  var timer = null;
  var sent = 0;

  function refresh() {
    var data = new FormData(form);
    data.set("action", "preview");
    var ticket = ++sent;
    preview.setAttribute("aria-busy", "true");
    // (form.action would be the buttons named "action": read the attribute)
    fetch(form.getAttribute("action") || window.location.href, {
      method: "POST", body: data, credentials: "same-origin",
      headers: { "X-Requested-With": "fetch" }
    }).then(function (response) { return response.text(); }).then(function (html) {
      if (ticket !== sent) { return; } // an older answer arriving late
      var page = new DOMParser().parseFromString(html, "text/html");
      var fresh = page.getElementById("preview");
      if (fresh) { preview.innerHTML = fresh.innerHTML; }
      // Error messages (the notice and each field's), never the fields being typed in.
      page.querySelectorAll(".field-errors").forEach(function (fresh) {
        var mine = document.getElementById(fresh.id);
        if (mine) { mine.innerHTML = fresh.innerHTML; }
      });
    }).catch(function () { /* offline: the button still works */ }).then(function () {
      if (ticket === sent) { preview.removeAttribute("aria-busy"); }
    });
  }

  form.addEventListener("input", function () {
    window.clearTimeout(timer);
    timer = window.setTimeout(refresh, 600);
  });
}());
