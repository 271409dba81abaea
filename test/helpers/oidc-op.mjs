/**
 * A real OpenID Connect provider for the journey test: oidc-provider (npm, pinned in
 * package.json) with its development login and consent pages, one public client using PKCE,
 * refresh tokens (rotated) and token revocation. Run as its own process:
 *   node test/helpers/oidc-op.mjs PORT
 * It prints "listening PORT" when ready. The test stops it by its pid.
 */
import Provider from 'oidc-provider';

const port = Number(process.argv[2]);
const issuer = process.argv[3] || `http://127.0.0.1:${port}`;

const provider = new Provider(issuer, {
  clients: [
    {
      client_id: 'journey-spa',
      token_endpoint_auth_method: 'none',
      redirect_uris: ['http://127.0.0.1/callback'],
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
    },
  ],
  pkce: { required: () => true },
  features: { devInteractions: { enabled: true }, revocation: { enabled: true } },
  scopes: ['openid', 'offline_access'],
  rotateRefreshToken: true,
  issueRefreshToken: async (_ctx, client, code) => client.grantTypeAllowed('refresh_token') && code.scopes.has('offline_access'),
  findAccount: async (_ctx, id) => ({ accountId: id, claims: async () => ({ sub: id }) }),
  cookies: { keys: ['journey-test-cookie-key'] },
});
provider.proxy = true;
const server = provider.listen(port, '127.0.0.1', () => console.log('listening ' + port));
process.on('SIGTERM', () => server.close(() => process.exit(0)));
