// SPDX-License-Identifier: Apache-2.0
//
// Figure 3 of `make bench`: the sign-in a user would otherwise build, with
// AWS's JavaScript SDK (amazon-cognito-identity-js) run by pam_exec:
//
//   auth required pam_exec.so expose_authtok /usr/bin/env NODE_EXTRA_CA_CERTS=CA
//        /usr/bin/node /abs/tests/bench/node_signin.js /abs/settings.json
//
// pam_exec gives PAM_USER in the environment and the password on stdin
// (expose_authtok, NUL-terminated). The TOTP code cannot be asked for
// through pam_exec, so the bench writes it to <codes_dir>/<user> just before
// the sign-in, as a person would type it. settings.json:
//   {"url": ..., "pool_id": ..., "client_id": ..., "flow": "srp"|"password",
//    "codes_dir": ...}
// Exit 0 when the SDK reports a session (tokens issued), 1 otherwise. The
// SDK does not verify the ID token's signature; nothing here adds that.
'use strict';

const fs = require('fs');
const path = require('path');

const sdk = require(path.join(__dirname, '..', 'sdk', 'node_modules', 'amazon-cognito-identity-js'));

function fail(msg) {
	process.stderr.write(`node_signin: ${msg}\n`);
	process.exit(1);
}

const settings = JSON.parse(fs.readFileSync(process.argv[2], 'utf8'));
const username = process.env.PAM_USER;
if (!username || !/^[A-Za-z0-9._-]+$/.test(username)) fail('no usable PAM_USER');
const password = fs.readFileSync(0, 'utf8').replace(/\0.*$/s, '').replace(/\r?\n$/, '');

const pool = new sdk.CognitoUserPool({
	UserPoolId: settings.pool_id,
	ClientId: settings.client_id,
	endpoint: settings.url,
});
const user = new sdk.CognitoUser({ Username: username, Pool: pool });
user.setAuthenticationFlowType(settings.flow === 'password' ? 'USER_PASSWORD_AUTH' : 'USER_SRP_AUTH');
const details = new sdk.AuthenticationDetails({ Username: username, Password: password });

const timer = setTimeout(() => fail('timeout'), 30000);
const cb = {
	onSuccess: () => {
		clearTimeout(timer);
		process.exit(0);
	},
	onFailure: err => fail(err && err.code ? err.code : String(err)),
	totpRequired: () => {
		let code;
		try {
			code = fs.readFileSync(path.join(settings.codes_dir, username), 'utf8').trim();
		} catch (e) {
			fail('no code');
		}
		user.sendMFACode(code, cb, 'SOFTWARE_TOKEN_MFA');
	},
	mfaRequired: () => fail('unexpected SMS_MFA'),
	newPasswordRequired: () => fail('unexpected NEW_PASSWORD_REQUIRED'),
	mfaSetup: () => fail('unexpected MFA_SETUP'),
	selectMFAType: () => fail('unexpected SELECT_MFA_TYPE'),
};
user.authenticateUser(details, cb);
