// A real OpenID provider for warroom's sign-in tests: node-oidc-provider (certified) on a free loopback
// port, one confidential client, one account, and the library's own development login/consent pages.
//
// Configuration comes from the environment:
//   OIDC_CLIENT_ID, OIDC_CLIENT_SECRET, OIDC_REDIRECT_URI  the one client
//   OIDC_SUB, OIDC_EMAIL, OIDC_NAME                        the account (other login names get no e-mail)
// On start it prints one JSON line, {"issuer": "http://127.0.0.1:PORT"}, and serves until killed.

import http from 'node:http';
import Provider from 'oidc-provider';

const env = (name) => {
  const value = process.env[name];
  if (!value) {
    console.error(`${name} is required`);
    process.exit(2);
  }
  return value;
};

const client = {
  client_id: env('OIDC_CLIENT_ID'),
  client_secret: env('OIDC_CLIENT_SECRET'),
  redirect_uris: [env('OIDC_REDIRECT_URI')],
  grant_types: ['authorization_code'],
  response_types: ['code'],
};
const account = { sub: env('OIDC_SUB'), email: env('OIDC_EMAIL'), name: env('OIDC_NAME') };

const server = http.createServer();
server.listen(0, '127.0.0.1', () => {
  const issuer = `http://127.0.0.1:${server.address().port}`;
  const provider = new Provider(issuer, {
    clients: [client],
    cookies: { keys: ['warroom-test-only-cookie-key'] },
    claims: { openid: ['sub'], email: ['email', 'email_verified'], profile: ['name'] },
    // Put the scope's claims in the ID token too (warroom reads the ID token, not userinfo).
    conformIdTokenClaims: false,
    features: { devInteractions: { enabled: true } },
    async findAccount(_ctx, id) {
      const known = id === account.sub;
      return {
        accountId: id,
        async claims() {
          return known
            ? { sub: id, email: account.email, email_verified: true, name: account.name }
            : { sub: id, name: id };
        },
      };
    },
  });
  server.on('request', provider.callback());
  console.log(JSON.stringify({ issuer }));
});
