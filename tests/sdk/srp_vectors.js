// SPDX-License-Identifier: Apache-2.0
//
// Test vectors for lib/srp.c computed by AWS's own JavaScript SDK
// (amazon-cognito-identity-js), never by our code. tests/unit/test_srp.c runs
// this script and compares. It prints one JSON object on stdout:
//   srp[]:         inputs (private value a, pool name, USER_ID_FOR_SRP,
//                  password, SALT, SRP_B, SECRET_BLOCK, epoch seconds) and the
//                  SDK's SRP_A, HKDF key, TIMESTAMP and PASSWORD_CLAIM_SIGNATURE
//   timestamps[]:  DateHelper.getNowString() for fixed epochs
//   secret_hash[]: SECRET_HASH per AWS's documentation (the SDK has no helper)
//
// The SRP vectors drive the SDK's real sign-in code, CognitoUser.authenticateUser
// (USER_SRP_AUTH), against a fake client that answers InitiateAuth with a
// PASSWORD_VERIFIER challenge and records the RespondToAuthChallenge request.
// Only two things are pinned: the SDK's random private value (its own
// generateRandomSmallA) and the clock (global Date).
'use strict';

const crypto = require('crypto');
const path = require('path');

// tests/sdk/node_modules next to this script (npm ci in tests/sdk), else
// NODE_PATH (a VPATH or distcheck build, where node_modules is not copied).
function sdkRequire(sub) {
	const name = sub ? `amazon-cognito-identity-js/${sub}` : 'amazon-cognito-identity-js';
	try {
		return require(path.join(__dirname, 'node_modules', name));
	} catch (err) {
		if (err.code !== 'MODULE_NOT_FOUND') throw err;
		return require(name);
	}
}

const sdk = sdkRequire();
const { AuthenticationHelper, AuthenticationDetails, CognitoUser, CognitoUserPool, DateHelper } =
	sdk;

// The SDK's BigInteger class, taken from one of its own values (padHex
// checks `instanceof` against it).
const BigInteger = new AuthenticationHelper('x').N.constructor;

// Deterministic "random-ish" bytes: SHA-256(label/i) blocks.
function expand(label, n) {
	const parts = [];
	for (let i = 0; parts.length * 32 < n; i++) {
		parts.push(crypto.createHash('sha256').update(`${label}/${i}`).digest());
	}
	return Buffer.concat(parts).subarray(0, n);
}

const N = new AuthenticationHelper('x').N;

// SRP_B values: minimal hex of an integer, as Cognito sends it.
function bHex(label, shape) {
	let buf = Buffer.from(expand(label, 384));
	if (shape === 'topbit') {
		buf[0] = 0x80 | (buf[0] & 0x7f);
		if (buf[0] === 0xff) buf[0] = 0xfe; /* stays below N */
	} else if (shape === 'odd') {
		buf[0] &= 0x0f; /* leading zero nibble: odd-length minimal hex */
		if (buf[0] === 0) buf[0] = 0x07;
	} else if (shape === 'short') {
		buf = buf.subarray(0, 200); /* far below N */
		buf[0] &= 0x7f;
	}
	return new BigInteger(buf.toString('hex'), 16).toString(16);
}

function saltHex(label, prefix) {
	return prefix + expand(label, 16).toString('hex');
}

function secretBlock(label, n) {
	return expand(label, n).toString('base64');
}

const vectors = [
	{
		name: 'plain, B top bit set',
		a: expand('a-1', 128),
		pool: 'AbCdEf123',
		user: 'alice',
		password: 'Correct-Horse-1!',
		salt: saltHex('salt-1', ''),
		b: bHex('b-1', 'topbit'),
		secret: secretBlock('sb-1', 1632),
		now: 1793610307 /* Mon Nov 2 09:05:07 UTC 2026: one-digit day */,
	},
	{
		name: 'odd-length B, salt 00 then top bit',
		a: expand('a-2', 128),
		pool: 'Xy12',
		user: 'b3d1c8a0-1f2e-4d5c-9b8a-7766554433aa',
		password: 'p',
		salt: '00' + 'c4' + expand('salt-2', 15).toString('hex'),
		b: bHex('b-2', 'odd'),
		secret: secretBlock('sb-2', 1633) /* one '=' of padding */,
		now: 1709251199 /* Thu Feb 29 23:59:59 UTC 2024 */,
	},
	{
		name: 'salt 000f: odd minimal hex',
		a: expand('a-3', 128),
		pool: 'QwErTy789',
		user: 'carol@example.org',
		password: 'Sp4ce and \ttab',
		salt: '000f' + expand('salt-3', 14).toString('hex'),
		b: bHex('b-3', 'short'),
		secret: secretBlock('sb-3', 1634) /* two '=' */,
		now: 951782400 /* Tue Feb 29 00:00:00 UTC 2000 */,
	},
	{
		name: 'non-ASCII UTF-8 password and user id',
		a: expand('a-4', 128),
		pool: 'AbCdEf123',
		user: 'zoë-ñandú',
		password: 'pässwörd-密码-🔑-Ω',
		salt: saltHex('salt-4', ''),
		b: bHex('b-4', 'topbit'),
		secret: secretBlock('sb-4', 48),
		now: 1767225600 /* Thu Jan 1 00:00:00 UTC 2026 */,
	},
	{
		name: 'long user id (256 characters)',
		a: expand('a-5', 128),
		pool: 'LongPool0123456789',
		user: 'u'.repeat(100) + expand('user-5', 78).toString('hex'),
		password: 'x'.repeat(200),
		salt: saltHex('salt-5', ''),
		b: bHex('b-5', 'plain'),
		secret: secretBlock('sb-5', 3000),
		now: 2147483648 /* Tue Jan 19 03:14:08 UTC 2038 */,
	},
	{
		name: 'short private value a (leading zero bytes)',
		a: Buffer.concat([Buffer.alloc(5), expand('a-6', 123)]),
		pool: 'AbCdEf123',
		user: 'dave',
		password: 'hunter2',
		salt: '01',
		b: bHex('b-6', 'topbit'),
		secret: secretBlock('sb-6', 1),
		now: 4107542399 /* Sun Feb 28 23:59:59 UTC 2100: not a leap year */,
	},
	{
		name: 'B above N (not a multiple): reduced only inside S',
		a: expand('a-7', 128),
		pool: 'AbCdEf123',
		user: 'erin',
		password: 'B is big',
		salt: saltHex('salt-7', ''),
		b: N.add(new BigInteger(expand('b-7', 100).toString('hex'), 16)).toString(16),
		secret: secretBlock('sb-7', 512),
		now: 1700000000,
	},
	{
		/* Labels found by a one-off search: A = g^a mod N has 767 hex digits
		 * (odd: padHex adds a "0") and u = H(A, B) starts with a zero byte
		 * (padHex(u), the HKDF salt, is 31 bytes plus the "00" sign byte). */
		name: 'odd-length A, u with a leading zero byte',
		a: expand('a-8-11', 128),
		pool: 'AbCdEf123',
		user: 'frank',
		password: 'short u',
		salt: saltHex('salt-8', ''),
		b: bHex('b-8-174', 'plain'),
		secret: secretBlock('sb-8', 1632),
		now: 1735722307 /* Wed Jan 1 09:05:07 UTC 2025 */,
	},
];

// Pin the clock: `new Date()` without arguments returns the fixed time.
const RealDate = Date;
let fixedMs = 0;
class FixedDate extends RealDate {
	constructor(...args) {
		if (args.length === 0) super(fixedMs);
		else super(...args);
	}
}

function withNow(ms, fn) {
	fixedMs = ms;
	global.Date = FixedDate;
	try {
		return fn();
	} finally {
		global.Date = RealDate;
	}
}

// Pin the private value: the SDK's own constructor calls generateRandomSmallA()
// and then getLargeAValue() (A = g^a mod N with its A mod N check).
let fixedA = null;
const realSmallA = AuthenticationHelper.prototype.generateRandomSmallA;
AuthenticationHelper.prototype.generateRandomSmallA = function () {
	if (fixedA === null) return realSmallA.call(this);
	return new BigInteger(fixedA.toString('hex'), 16);
};

// Record the HKDF key the SDK derives.
let lastHkdf = null;
const realKey = AuthenticationHelper.prototype.getPasswordAuthenticationKey;
AuthenticationHelper.prototype.getPasswordAuthenticationKey = function (u, p, b, s, cb) {
	return realKey.call(this, u, p, b, s, (err, hkdf) => {
		if (!err) lastHkdf = Buffer.from(hkdf);
		cb(err, hkdf);
	});
};

function runSrp(v) {
	return new Promise((resolve, reject) => {
		fixedA = v.a;
		lastHkdf = null;
		const pool = new CognitoUserPool({
			UserPoolId: `eu-west-1_${v.pool}`,
			ClientId: 'testclientid',
			AdvancedSecurityDataCollectionFlag: false,
		});
		let srpA = null;
		const fake = {
			request(op, params, cb) {
				if (op === 'InitiateAuth') {
					if (params.AuthFlow !== 'USER_SRP_AUTH') return reject(new Error('flow'));
					srpA = params.AuthParameters.SRP_A;
					return cb(null, {
						ChallengeName: 'PASSWORD_VERIFIER',
						Session: 'session',
						ChallengeParameters: {
							USER_ID_FOR_SRP: v.user,
							SALT: v.salt,
							SRP_B: v.b,
							SECRET_BLOCK: v.secret,
						},
					});
				}
				if (op === 'RespondToAuthChallenge') {
					const r = params.ChallengeResponses;
					resolve({
						name: v.name,
						a: v.a.toString('hex'),
						pool_name: v.pool,
						user_id_for_srp: v.user,
						password: v.password,
						salt: v.salt,
						srp_b: v.b,
						secret_block: v.secret,
						now: v.now,
						srp_a: srpA,
						hkdf_key: lastHkdf ? lastHkdf.toString('hex') : null,
						timestamp: r.TIMESTAMP,
						signature: r.PASSWORD_CLAIM_SIGNATURE,
					});
					return cb(new Error('stop here'), null);
				}
				return reject(new Error(`unexpected ${op}`));
			},
		};
		pool.client = fake;
		const user = new CognitoUser({ Username: v.user, Pool: pool });
		user.client = fake;
		const details = new AuthenticationDetails({ Username: v.user, Password: v.password });
		withNow(v.now * 1000, () =>
			user.authenticateUser(details, {
				onSuccess: () => reject(new Error('unexpected success')),
				onFailure: err => {
					if (err.message !== 'stop here') reject(err);
				},
			})
		);
	});
}

function timestamps() {
	const epochs = [0, -1, 951782400, 951868799, 1709251199, 1709251200, 4107542399,
		4107542400, 2147483647, 2147483648, 253402300799, 1793696707,
		-62135596800 /* year 1 */, 8640000000000, -8640000000000 /* Date's limits */];
	/* Every day of January and of February 2028 (leap) at 09:05:07. */
	for (let d = 1; d <= 31; d++) epochs.push(RealDate.UTC(2025, 0, d, 9, 5, 7) / 1000);
	for (let d = 1; d <= 29; d++) epochs.push(RealDate.UTC(2028, 1, d, 23, 0, 9) / 1000);
	return epochs.map(now => ({
		now,
		text: withNow(now * 1000, () => new DateHelper().getNowString()),
	}));
}

function secretHash(username, clientId, clientSecret) {
	return {
		username,
		client_id: clientId,
		client_secret: clientSecret,
		hash: crypto
			.createHmac('sha256', Buffer.from(clientSecret, 'utf8'))
			.update(Buffer.from(username + clientId, 'utf8'))
			.digest('base64'),
	};
}

async function main() {
	const srp = [];
	for (const v of vectors) srp.push(await runSrp(v));
	const out = {
		sdk_version: sdkRequire('package.json').version,
		srp,
		timestamps: timestamps(),
		secret_hash: [
			secretHash('alice', '1example23456789', '1abc2def3ghi4jkl5mno6pqr7stu8vwx9yz0abcdefghijklmnop'),
			secretHash('zoë-ñandú', '7q8r9s0t1u2v3w4x5y6z', 's3cr3t'),
			secretHash('b3d1c8a0-1f2e-4d5c-9b8a-7766554433aa', 'abc', 'k'.repeat(100)),
		],
	};
	process.stdout.write(JSON.stringify(out, null, 1) + '\n');
}

main().catch(err => {
	process.stderr.write(`srp_vectors.js: ${err.stack || err}\n`);
	process.exit(1);
});
