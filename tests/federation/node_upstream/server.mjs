// node-oidc-provider as an organisation's identity provider, for the federation browser
// test: one confidential client registered for authserver's callback, accounts with
// e-mail, name and groups, and the library's own login and consent pages
// (devInteractions: any password is accepted for a known login).
//
// Environment: PORT, CALLBACK (authserver's /federation/<id>/callback), CLIENT_ID,
// CLIENT_SECRET, ACCOUNTS (JSON: {"login": {"email": ..., "email_verified": ...,
// "name": ..., "groups": [...]}}). Issuer: http://127.0.0.1:PORT (plain http on
// loopback: authserver accepts it only with AUTHSERVER_FEDERATION_ALLOW_PRIVATE_NETWORKS).
// IGNORE_REAUTH=1: an identity provider that answers from its single sign-on session
// whatever `prompt=login` and `max_age` ask (as some do): the ID token then carries the
// session's old `auth_time`, which authserver must refuse for a fresh-auth login.
import crypto from 'node:crypto';
import Provider, { interactionPolicy } from 'oidc-provider';

const PORT = Number(process.env.PORT);
const ACCOUNTS = JSON.parse(process.env.ACCOUNTS || '{}');
const { privateKey } = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
const jwk = { ...privateKey.export({ format: 'jwk' }), kid: 'up-1', alg: 'RS256', use: 'sig' };
const policy = interactionPolicy.base();
if (process.env.IGNORE_REAUTH === '1') {
  policy.get('login').checks.remove('login_prompt');
  policy.get('login').checks.remove('max_age');
}

const provider = new Provider(`http://127.0.0.1:${PORT}`, {
  clients: [{
    client_id: process.env.CLIENT_ID,
    client_secret: process.env.CLIENT_SECRET,
    redirect_uris: [process.env.CALLBACK],
    grant_types: ['authorization_code'],
    response_types: ['code'],
    token_endpoint_auth_method: 'client_secret_basic',
  }],
  jwks: { keys: [jwk] },
  cookies: { keys: [crypto.randomBytes(32).toString('base64url')] },
  // A scope per claim set; `groups` is the organisation's group membership.
  claims: {
    openid: ['sub'],
    email: ['email', 'email_verified'],
    profile: ['name'],
    groups: ['groups'],
  },
  // The requested claims go into the ID token too (authserver reads the ID token).
  conformIdTokenClaims: false,
  pkce: { required: () => true },
  features: { devInteractions: { enabled: true } },
  interactions: { policy },
  async findAccount(_ctx, id) {
    const account = Object.hasOwn(ACCOUNTS, id) ? ACCOUNTS[id] : undefined;
    if (!account) return undefined;
    return { accountId: id, claims: async () => ({ sub: id, ...account }) };
  },
});
provider.on('server_error', (_ctx, err) => console.error('server_error', err));
provider.listen(PORT, '127.0.0.1', () => console.log(`listening on ${PORT}`));
