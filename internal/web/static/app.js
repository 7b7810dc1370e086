// Warns, next to each password field, when Caps Lock is on and when the field
// holds full-width (全角) characters. Pages work without it.
(function () {
  "use strict";
  var wide = /[\u3000\uFF01-\uFF5E\uFFE0-\uFFE6]/;
  function warnings(input) {
    var box = input.parentNode, out = {};
    var ps = box.querySelectorAll("[data-warn]");
    for (var i = 0; i < ps.length; i++) out[ps[i].getAttribute("data-warn")] = ps[i];
    return out;
  }
  function caps(e) {
    if (!e.getModifierState) return;
    var w = warnings(e.target);
    if (w.caps) w.caps.hidden = !e.getModifierState("CapsLock");
  }
  function width(e) {
    var w = warnings(e.target);
    if (w.wide) w.wide.hidden = !wide.test(e.target.value);
  }
  var inputs = document.querySelectorAll("input[type=password]");
  for (var i = 0; i < inputs.length; i++) {
    inputs[i].addEventListener("keydown", caps);
    inputs[i].addEventListener("keyup", caps);
    inputs[i].addEventListener("input", width);
    inputs[i].addEventListener("blur", function (e) {
      var w = warnings(e.target);
      if (w.caps) w.caps.hidden = true;
    });
  }
})();

// Moves the focus to the error summary of a refused form, for browsers that
// ignore its autofocus attribute, so that it is read out first and its
// links lead to each field. Pages work without it.
(function () {
  "use strict";
  var summary = document.getElementById("form-error");
  if (summary && (!document.activeElement || document.activeElement === document.body)) {
    summary.focus();
  }
})();
