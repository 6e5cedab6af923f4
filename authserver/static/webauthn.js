// Passkeys and security keys (WebAuthn) for the hosted pages. Served as a static file:
// the pages' CSP allows no inline script. Every form with data-webauthn is hidden until
// this script runs in a browser that supports WebAuthn; the pages work without it.
//   data-webauthn="register": the account page's "Add a passkey or security key".
//   data-webauthn="sign-in": the login page's "Sign in with a passkey" and the
//     second-factor page's "Use a passkey or security key".
(function () {
  "use strict";
  if (!window.PublicKeyCredential || !navigator.credentials) {
    return;
  }

  function toBytes(text) {
    var b64 = text.replace(/-/g, "+").replace(/_/g, "/");
    while (b64.length % 4) {
      b64 += "=";
    }
    var raw = atob(b64);
    var out = new Uint8Array(raw.length);
    for (var i = 0; i < raw.length; i++) {
      out[i] = raw.charCodeAt(i);
    }
    return out.buffer;
  }

  function toText(buffer) {
    var bytes = new Uint8Array(buffer);
    var raw = "";
    for (var i = 0; i < bytes.length; i++) {
      raw += String.fromCharCode(bytes[i]);
    }
    return btoa(raw).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }

  function decodeOptions(publicKey) {
    publicKey.challenge = toBytes(publicKey.challenge);
    if (publicKey.user) {
      publicKey.user.id = toBytes(publicKey.user.id);
    }
    ["excludeCredentials", "allowCredentials"].forEach(function (field) {
      (publicKey[field] || []).forEach(function (cred) {
        cred.id = toBytes(cred.id);
      });
    });
    return publicKey;
  }

  function encodeCredential(cred) {
    var r = cred.response;
    var response = { clientDataJSON: toText(r.clientDataJSON) };
    if (r.attestationObject) {
      response.attestationObject = toText(r.attestationObject);
      response.transports = r.getTransports ? r.getTransports() : [];
    } else {
      response.authenticatorData = toText(r.authenticatorData);
      response.signature = toText(r.signature);
      if (r.userHandle) {
        response.userHandle = toText(r.userHandle);
      }
    }
    return { id: cred.id, rawId: toText(cred.rawId), type: cred.type, response: response };
  }

  function post(url, body) {
    return fetch(url, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", Accept: "application/json" },
      body: JSON.stringify(body),
    }).then(function (res) {
      return res.json().then(function (data) {
        if (!res.ok) {
          throw new Error(data.message || data.error_description || data.error);
        }
        return data;
      });
    });
  }

  function showError(form, message) {
    var box = form.querySelector("[data-webauthn-error]");
    if (box) {
      box.textContent = message;
      box.hidden = false;
    }
  }

  function register(form) {
    var csrf = form.getAttribute("data-csrf");
    return post("/account/mfa/webauthn/options", { csrf_token: csrf })
      .then(function (options) {
        return navigator.credentials.create({ publicKey: decodeOptions(options.publicKey) });
      })
      .then(function (cred) {
        var name = form.querySelector("input[name=name]");
        return post("/account/mfa/webauthn", {
          csrf_token: csrf,
          name: name ? name.value : "",
          credential: encodeCredential(cred),
        });
      });
  }

  function signIn(form) {
    var csrf = form.getAttribute("data-csrf");
    return post("/login/webauthn/options", { csrf_token: csrf })
      .then(function (options) {
        return navigator.credentials.get({ publicKey: decodeOptions(options.publicKey) });
      })
      .then(function (cred) {
        return post("/login/webauthn", {
          csrf_token: csrf,
          next: form.getAttribute("data-next") || "",
          credential: encodeCredential(cred),
        });
      });
  }

  document.querySelectorAll("form[data-webauthn]").forEach(function (form) {
    form.hidden = false;
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      var kind = form.getAttribute("data-webauthn");
      var run = kind === "register" ? register : signIn;
      run(form)
        .then(function (done) {
          window.location.assign(done.redirect);
        })
        .catch(function (error) {
          showError(form, error && error.message ? error.message : String(error));
        });
    });
  });
})();
