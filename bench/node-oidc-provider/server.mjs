import Provider from 'oidc-provider';
const PORT = Number(process.env.PORT || 8903);
import crypto from 'node:crypto';
const { privateKey } = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
const jwk = privateKey.export({ format: 'jwk' });
jwk.kid = 'k1'; jwk.alg = 'RS256'; jwk.use = 'sig';
const provider = new Provider(`http://127.0.0.1:${PORT}`, {
  clients: [{ client_id: 'cc', client_secret: 'x'.repeat(43), grant_types: ['client_credentials'], redirect_uris: [], response_types: [], scope: 'api:read' }],
  jwks: { keys: [jwk] },
  features: { clientCredentials: { enabled: true }, resourceIndicators: { enabled: true, defaultResource: () => 'urn:api', getResourceServerInfo: () => ({ scope: 'api:read', accessTokenFormat: 'jwt', jwt: { sign: { alg: 'RS256' } } }), useGrantedResource: () => true } },
  scopes: ['api:read'],
});
provider.listen(PORT, () => console.log('up'));
