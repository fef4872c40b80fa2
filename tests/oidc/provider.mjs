// SPDX-License-Identifier: Apache-2.0
//
// panva's oidc-provider 9.x (OpenID Certified) as a second, independent
// OpenID Provider for the interop test (tests/oidc/test_oidc_provider.sh).
//
// Listens on 127.0.0.1 (plain http: our client allows http:// only to a
// loopback address) on a free port and prints "READY <issuer>" once up.
//
//   clients: userpool-basic (client_secret_basic), userpool-post
//            (client_secret_post); grant types device_code + refresh_token
//   accounts: any account id; claims sub = id, preferred_username = id,
//            groups (scope "profile"; by default only at userinfo)
//
// Test-only route: POST /test/approve {"user_code", "account", "deny"}
// drives the provider's own device pages like a browser would (GET /device,
// POST the code, confirm, then the login and consent interactions, which
// this script completes for `account` through the interaction API) and
// answers {"ok": true} or {"ok": false, "error": ...}.
//
// Usage: node provider.mjs [--module-dir DIR]   (DIR holds node_modules)

import http from 'node:http';
import { createRequire } from 'node:module';
import path from 'node:path';
import { pathToFileURL } from 'node:url';

const args = process.argv.slice(2);
const modIdx = args.indexOf('--module-dir');
const moduleDir = modIdx >= 0 ? args[modIdx + 1] : process.cwd();
const require = createRequire(path.join(path.resolve(moduleDir), 'package.json'));
const { default: Provider } = await import(pathToFileURL(require.resolve('oidc-provider')).href);

export const SECRET = 'provider-test-secret:with/odd+chars';

const server = http.createServer();
await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
const { port } = server.address();
const issuer = `http://127.0.0.1:${port}`;

const provider = new Provider(issuer, {
  clients: [
    {
      client_id: 'userpool-basic',
      client_secret: SECRET,
      grant_types: ['urn:ietf:params:oauth:grant-type:device_code', 'refresh_token'],
      response_types: [],
      redirect_uris: [],
      token_endpoint_auth_method: 'client_secret_basic',
    },
    {
      client_id: 'userpool-post',
      client_secret: SECRET,
      grant_types: ['urn:ietf:params:oauth:grant-type:device_code', 'refresh_token'],
      response_types: [],
      redirect_uris: [],
      token_endpoint_auth_method: 'client_secret_post',
    },
  ],
  async findAccount(ctx, id) {
    return {
      accountId: id,
      async claims() {
        return { sub: id, preferred_username: id, groups: ['staff'] };
      },
    };
  },
  claims: {
    acr: null, auth_time: null, sid: null, openid: ['sub', 'amr'], profile: ['preferred_username', 'groups'],
  },
  scopes: ['openid', 'profile', 'offline_access'],
  features: {
    deviceFlow: { enabled: true },
    revocation: { enabled: true },
    userinfo: { enabled: true },
    devInteractions: { enabled: false },
  },
  issueRefreshToken: async (ctx, client) => client.grantTypeAllowed('refresh_token'),
  interactions: { url: (ctx, interaction) => `/interaction/${interaction.uid}` },
  ttl: { DeviceCode: 120 },
  cookies: { keys: ['userpool-interop-test-cookie-key'] },
});
provider.on('server_error', (ctx, err) => console.error('provider server_error', err));

// Complete a login or consent interaction for the account named by the
// X-Test-Account header of the request (sent by approve() below).
async function interaction(req, res) {
  const details = await provider.interactionDetails(req, res);
  const account = req.headers['x-test-account'];
  let result;
  if (!account) {
    result = { error: 'access_denied', error_description: 'no test account' };
  } else if (details.prompt.name === 'login') {
    result = { login: { accountId: account, amr: ['pwd', 'otp'] } };
  } else {
    const grant = new provider.Grant({ accountId: details.session.accountId,
      clientId: details.params.client_id });
    const missing = details.prompt.details.missingOIDCScope;
    if (missing) grant.addOIDCScope(missing.join(' '));
    const claims = details.prompt.details.missingOIDCClaims;
    if (claims) grant.addOIDCClaims(claims);
    result = { consent: { grantId: await grant.save() } };
  }
  await provider.interactionFinished(req, res, result, { mergeWithLastSubmission: true });
}

// A browser: a cookie jar, redirects followed by hand (at most 10).
async function approve(userCode, account, deny) {
  const jar = new Map();
  const headers = () => {
    const h = { 'x-test-account': account || '' };
    if (jar.size) h.cookie = [...jar].map(([k, v]) => `${k}=${v}`).join('; ');
    return h;
  };
  const remember = (r) => {
    for (const c of r.headers.getSetCookie()) {
      const [pair] = c.split(';');
      const eq = pair.indexOf('=');
      jar.set(pair.slice(0, eq), pair.slice(eq + 1));
    }
  };
  const go = async (url, init = {}) => {
    let r = await fetch(new URL(url, issuer), { ...init, headers: { ...headers(), ...(init.headers || {}) }, redirect: 'manual' });
    remember(r);
    for (let i = 0; i < 10 && r.status >= 300 && r.status < 400; i++) {
      r = await fetch(new URL(r.headers.get('location'), issuer), { headers: headers(), redirect: 'manual' });
      remember(r);
    }
    return { status: r.status, text: await r.text() };
  };
  const xsrf = (html) => {
    const m = /name="xsrf" value="([^"]+)"/.exec(html);
    if (!m) throw new Error('no xsrf token in the device page');
    return m[1];
  };
  const post = (fields) => go('/device', {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams(fields).toString(),
  });

  let page = await go('/device');
  page = await post({ xsrf: xsrf(page.text), user_code: userCode });
  if (!/deviceConfirmForm/.test(page.text)) throw new Error(`code not accepted (HTTP ${page.status})`);
  const fields = { xsrf: xsrf(page.text), user_code: userCode, confirm: 'yes' };
  if (deny) fields.abort = 'yes';
  page = await post(fields);
  if (page.status !== 200) throw new Error(`device flow ended with HTTP ${page.status}`);
  if (deny ? !/aborted|denied/i.test(page.text) : !/success|sign-in is complete|signed in/i.test(page.text)) {
    throw new Error(`unexpected final page: ${page.text.replace(/<[^>]*>/g, ' ').replace(/\s+/g, ' ').slice(0, 200)}`);
  }
}

const callback = provider.callback();
server.on('request', async (req, res) => {
  try {
    if (req.method === 'GET' && req.url.startsWith('/interaction/')) {
      await interaction(req, res);
      return;
    }
    if (req.method === 'POST' && req.url === '/test/approve') {
      let body = '';
      for await (const chunk of req) body += chunk;
      const { user_code: code, account, deny } = JSON.parse(body || '{}');
      let out;
      try {
        await approve(code, account, deny);
        out = { ok: true };
      } catch (e) {
        out = { ok: false, error: String(e.message || e) };
      }
      res.writeHead(out.ok ? 200 : 400, { 'content-type': 'application/json' });
      res.end(JSON.stringify(out));
      return;
    }
    callback(req, res);
  } catch (e) {
    console.error('provider.mjs:', e);
    res.writeHead(500, { 'content-type': 'text/plain' });
    res.end('error\n');
  }
});

process.on('SIGTERM', () => server.close(() => process.exit(0)));
console.log(`READY ${issuer}`);
