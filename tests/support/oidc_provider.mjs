// A real OpenID Connect provider (panva's certified oidc-provider) standing in for "Sign in
// with Slack" in the tests. It issues ID tokens with Slack's claims: `https://slack.com/user_id`
// and `https://slack.com/team_id`, beside `sub`, `name` and `email`.
//
// Sign in at its login page with a Slack user ID ("U0ERIN") for the stand-in's workspace
// T0RELEASE, or "U0MALLORY@T0ELSEWHERE" for someone of another workspace; any password.
// Clients register themselves (dynamic client registration), so each test names its own
// redirect URI. Usage: PORT=NNNN node tests/support/oidc_provider.mjs
import { generateKeyPairSync } from 'node:crypto';

import Provider from 'oidc-provider';

const port = Number(process.env.PORT);
const issuer = `http://127.0.0.1:${port}`;
const DEFAULT_TEAM = 'T0RELEASE';

const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
const signingKey = { ...privateKey.export({ format: 'jwk' }), kid: 'test-signing-key', use: 'sig', alg: 'RS256' };

const provider = new Provider(issuer, {
  jwks: { keys: [signingKey] },
  cookies: { keys: [generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ format: 'jwk' }).d] },
  features: {
    registration: { enabled: true },
    devInteractions: { enabled: true },
  },
  claims: {
    openid: ['sub', 'https://slack.com/user_id', 'https://slack.com/team_id'],
    profile: ['name'],
    email: ['email', 'email_verified'],
  },
  // Slack puts the profile claims in the ID token itself, not only behind userinfo.
  conformIdTokenClaims: false,
  async findAccount(_ctx, login) {
    const [user, team = DEFAULT_TEAM] = String(login).split('@');
    return {
      accountId: login,
      async claims() {
        return {
          sub: user,
          'https://slack.com/user_id': user,
          'https://slack.com/team_id': team,
          name: user,
          email: `${user.toLowerCase()}@example.test`,
          email_verified: true,
        };
      },
    };
  },
});

provider.listen(port, '127.0.0.1', () => {
  console.log(`oidc-provider listening at ${issuer}`);
});
