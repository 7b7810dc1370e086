// Passkeys (WebAuthn) on the hosted pages. Every element it drives carries
// data-passkey and stays hidden until WebAuthn is found. It talks to the
// JSON API with the page's cookies (docs/api.md: "Sign in with a passkey",
// "Passkeys", "Second factor").
(function () {
  "use strict";
  // The passkey offer after a password sign-in goes on at once where it
  // cannot create a passkey here.
  var offer = document.querySelector("[data-passkey=offer]");
  function goOn() { window.location.replace(offer.getAttribute("data-continue")); }
  if (!window.PublicKeyCredential || !navigator.credentials) {
    if (offer) goOn();
    return;
  }

  function b64urlToBuf(s) {
    s = s.replace(/-/g, "+").replace(/_/g, "/");
    while (s.length % 4) s += "=";
    var bin = atob(s), out = new Uint8Array(bin.length);
    for (var i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
    return out.buffer;
  }
  function bufToB64url(b) {
    var bytes = new Uint8Array(b), s = "";
    for (var i = 0; i < bytes.length; i++) s += String.fromCharCode(bytes[i]);
    return btoa(s).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }
  function requestOptions(o) {
    if (PublicKeyCredential.parseRequestOptionsFromJSON) return PublicKeyCredential.parseRequestOptionsFromJSON(o);
    var c = Object.assign({}, o, {challenge: b64urlToBuf(o.challenge)});
    if (o.allowCredentials) c.allowCredentials = o.allowCredentials.map(function (d) { return Object.assign({}, d, {id: b64urlToBuf(d.id)}); });
    return c;
  }
  function creationOptions(o) {
    if (PublicKeyCredential.parseCreationOptionsFromJSON) return PublicKeyCredential.parseCreationOptionsFromJSON(o);
    var c = Object.assign({}, o, {challenge: b64urlToBuf(o.challenge), user: Object.assign({}, o.user, {id: b64urlToBuf(o.user.id)})});
    if (o.excludeCredentials) c.excludeCredentials = o.excludeCredentials.map(function (d) { return Object.assign({}, d, {id: b64urlToBuf(d.id)}); });
    return c;
  }
  function toJSON(cred) {
    if (cred.toJSON) return cred.toJSON();
    var r = cred.response, out = {id: cred.id, rawId: bufToB64url(cred.rawId), type: cred.type,
      authenticatorAttachment: cred.authenticatorAttachment || undefined,
      clientExtensionResults: cred.getClientExtensionResults ? cred.getClientExtensionResults() : {}, response: {}};
    out.response.clientDataJSON = bufToB64url(r.clientDataJSON);
    if (r.attestationObject) {
      out.response.attestationObject = bufToB64url(r.attestationObject);
      if (r.getTransports) out.response.transports = r.getTransports();
    } else {
      out.response.authenticatorData = bufToB64url(r.authenticatorData);
      out.response.signature = bufToB64url(r.signature);
      if (r.userHandle) out.response.userHandle = bufToB64url(r.userHandle);
    }
    return out;
  }
  function post(url, body) {
    return fetch(url, {method: "POST", credentials: "same-origin",
      headers: {"Content-Type": "application/json", "Accept": "application/json"},
      body: JSON.stringify(body || {})}).then(function (res) {
      return res.json().then(function (j) { return {status: res.status, body: j}; });
    });
  }
  function showError(box, message) {
    var e = box.querySelector("[data-passkey-error]");
    if (!e) return;
    if (message) e.textContent = message;
    e.setAttribute("role", "alert");
    e.hidden = false;
  }
  function problemMessage(j) {
    if (j && j.errors && j.errors.length && j.errors[0].message) return j.errors[0].message;
    return j && (j.detail || j.title);
  }

  // Sign-in page: the button, and the identifier field's passkey autofill.
  var signin = document.querySelector("[data-passkey=signin]");
  if (signin) {
    // Tell the server whether this browser could make a passkey, so that
    // only such a browser is offered one after a password sign-in.
    var hint = function (ok) {
      document.cookie = "ninsho_platform_authenticator=" + (ok ? "1" : "0") + "; path=/; max-age=31536000; samesite=lax" +
        (window.location.protocol === "https:" ? "; secure" : "");
    };
    if (PublicKeyCredential.isUserVerifyingPlatformAuthenticatorAvailable) {
      PublicKeyCredential.isUserVerifyingPlatformAuthenticatorAvailable().then(hint, function () { hint(false); });
    } else {
      hint(false);
    }
    var aborter = null;
    var signInWith = function (mediation) {
      return post("/api/v1/signin/passkey").then(function (r) {
        if (r.status !== 201) throw r.body;
        var opts = {publicKey: requestOptions(r.body.next.public_key)};
        if (mediation) {
          opts.mediation = mediation;
          aborter = window.AbortController ? new AbortController() : null;
          if (aborter) opts.signal = aborter.signal;
        }
        return navigator.credentials.get(opts).then(function (cred) {
          return post("/api/v1/flows/" + r.body.id, {action: "submit_passkey", credential: toJSON(cred)});
        });
      }).then(function (r) {
        if (r.body && r.body.status === "complete") {
          window.location.assign("/account");
          return;
        }
        throw r.body;
      });
    };
    signin.hidden = false;
    document.getElementById("passkey-signin").addEventListener("click", function () {
      if (aborter) aborter.abort();
      signInWith(null).catch(function (j) {
        if (j && j.name === "NotAllowedError") return; // the person cancelled
        showError(signin, problemMessage(j));
      });
    });
    if (PublicKeyCredential.isConditionalMediationAvailable) {
      PublicKeyCredential.isConditionalMediationAvailable().then(function (ok) {
        if (ok) signInWith("conditional").catch(function () {});
      });
    }
  }

  // firstMethod sends the browser to the two-step settings, which strongly
  // offer backup codes, when the passkey just proved turned two-step
  // verification on and the account has none: a lost phone must not lock
  // the person out. It reports whether it did.
  function firstMethod(proved) {
    if (!proved || !proved.turned_on || proved.backup_codes_left !== 0) return false;
    window.location.assign("/account/two-step?done=on");
    return true;
  }

  // The account's passkeys page: add one.
  var add = document.querySelector("[data-passkey=add]");
  if (add) {
    add.hidden = false;
    document.getElementById("passkey-add").addEventListener("click", function () {
      var label = document.getElementById("passkey-label").value;
      post("/api/v1/me/two-step/passkeys", {label: label}).then(function (r) {
        if (r.status === 403 && r.body && r.body.code === "reauth_required") {
          window.location.assign("/reauth?return_to=" + encodeURIComponent(window.location.pathname));
          return null;
        }
        if (r.status !== 201) throw r.body;
        return navigator.credentials.create({publicKey: creationOptions(r.body.public_key)}).then(function (cred) {
          return post("/api/v1/me/two-step/passkeys/" + r.body.id, {credential: toJSON(cred), label: label});
        }).then(function (f) {
          if (f.status !== 200) throw f.body;
          if (firstMethod(f.body)) return;
          window.location.reload();
        });
      }).catch(function (j) {
        if (window.console) console.warn("passkey add", j);
        if (j && j.name === "NotAllowedError") return;
        showError(add, problemMessage(j));
      });
    });
  }

  // The offer after a password sign-in: shown only where this device has a
  // platform authenticator that checks who is there (fingerprint, face,
  // screen lock); "create a passkey" goes on where the sign-in was going,
  // "not now" is the page's form.
  if (offer) {
    var uv = PublicKeyCredential.isUserVerifyingPlatformAuthenticatorAvailable ?
      PublicKeyCredential.isUserVerifyingPlatformAuthenticatorAvailable() : Promise.resolve(false);
    uv.then(function (ok) {
      if (!ok) { goOn(); return; }
      var h = document.querySelector("[data-passkey-heading]");
      if (h) h.hidden = false;
      offer.hidden = false;
    }, goOn);
    document.getElementById("passkey-offer-create").addEventListener("click", function () {
      var label = offer.getAttribute("data-label") || "";
      post("/api/v1/me/two-step/passkeys", {label: label}).then(function (r) {
        if (r.status === 403 && r.body && r.body.code === "reauth_required") {
          window.location.assign("/reauth?return_to=" + encodeURIComponent("/account/two-step/passkeys"));
          return null;
        }
        if (r.status !== 201) throw r.body;
        return navigator.credentials.create({publicKey: creationOptions(r.body.public_key)}).then(function (cred) {
          return post("/api/v1/me/two-step/passkeys/" + r.body.id, {credential: toJSON(cred), label: label});
        }).then(function (f) {
          if (f.status !== 200) throw f.body;
          if (firstMethod(f.body)) return;
          goOn();
        });
      }).catch(function (j) {
        if (j && j.name === "NotAllowedError") return; // the person cancelled
        showError(offer, problemMessage(j));
      });
    });
  }

  // The second-factor page: answer with a passkey (the page's form posts
  // the credential).
  var assert = document.querySelector("[data-passkey=assert]");
  if (assert) {
    assert.hidden = false;
    var form = assert.querySelector("form");
    assert.querySelector("button").addEventListener("click", function (ev) {
      ev.preventDefault();
      var o = JSON.parse(assert.getAttribute("data-public-key"));
      navigator.credentials.get({publicKey: requestOptions(o)}).then(function (cred) {
        form.querySelector("input[name=credential]").value = JSON.stringify(toJSON(cred));
        form.submit();
      }).catch(function (e) {
        if (e && e.name === "NotAllowedError") return;
        showError(assert);
      });
    });
  }

  // The staff console (docs/console.md, "Passkeys"): "use a passkey" on the
  // second sign-in step and "add a passkey" on /console/security. The
  // begin call answers the options as JSON; the page's form posts the
  // browser's answer in the field credential.
  function consolePasskey(box, button, begin, ceremony) {
    box.hidden = false;
    var form = box.querySelector("form");
    document.getElementById(button).addEventListener("click", function () {
      post(begin).then(function (r) {
        if (r.status !== 200) throw r.body;
        return ceremony(r.body.public_key);
      }).then(function (cred) {
        form.querySelector("input[name=credential]").value = JSON.stringify(toJSON(cred));
        form.submit();
      }).catch(function (j) {
        if (j && j.name === "NotAllowedError") return; // cancelled
        showError(box, problemMessage(j));
      });
    });
  }
  var consoleSignin = document.querySelector("[data-passkey=console-signin]");
  if (consoleSignin) {
    consolePasskey(consoleSignin, "console-passkey-signin", "/console/signin/passkey/begin", function (o) {
      return navigator.credentials.get({publicKey: requestOptions(o)});
    });
  }
  var consoleAdd = document.querySelector("[data-passkey=console-add]");
  if (consoleAdd) {
    consolePasskey(consoleAdd, "console-passkey-add", "/console/security/passkeys/begin", function (o) {
      return navigator.credentials.create({publicKey: creationOptions(o)});
    });
  }
})();
