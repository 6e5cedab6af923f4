// The SAML hand-over page posts the IdP's answer on to our ACS from our own origin, so
// the browser sends its SameSite=Lax cookies with it (the IdP's own POST carried none).
document.addEventListener("DOMContentLoaded", function () {
  var form = document.getElementById("saml-continue");
  if (form) { form.submit(); }
});
