"""SAML 2.0 Web Browser SSO, service-provider side (SAML Profiles §4.1): IdP metadata in,
SP metadata out, AuthnRequest by HTTP-Redirect, Response by HTTP-POST validated strictly.

The XML-signature library is used by ``signature`` alone, so it can be swapped. Every
other module reads identity only from the element ``signature`` returns (the one the
signature covers)."""
