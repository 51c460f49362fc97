// Compatibility driver: runs the official `better-auth` 1.7.25 client against a
// running server and checks the email/password session flow, API keys, organizations
// (create, invite, accept, set-active), two-factor sign-ins and multi-session end to end.
//
//   AUTH_BASE_URL=http://127.0.0.1:40123 AUTH_NOW=<server time, unix seconds> node compat.mjs
//
// Set COMPAT_TRACE=1 to print every HTTP request/response the client makes.
// Exit code 0 when every step passes, 1 on the first failure (or on a crash).

import { createHmac, randomBytes } from "node:crypto";
import { isDeepStrictEqual, inspect } from "node:util";
import { createAuthClient } from "better-auth/client";
import { apiKeyClient } from "@better-auth/api-key/client";
import {
  multiSessionClient,
  organizationClient,
  twoFactorClient,
} from "better-auth/client/plugins";

const rawBase = process.env.AUTH_BASE_URL;
if (!rawBase) {
  console.error("AUTH_BASE_URL is not set (e.g. AUTH_BASE_URL=http://127.0.0.1:40123)");
  process.exit(1);
}
let ORIGIN;
try {
  ORIGIN = new URL(rawBase).origin;
} catch {
  console.error(`AUTH_BASE_URL is not a valid URL: ${rawBase}`);
  process.exit(1);
}
const TRACE = !!process.env.COMPAT_TRACE && process.env.COMPAT_TRACE !== "0";

// Cookie names get the `__Secure-` prefix when the server's base URL is https.
const SESSION_COOKIE =
  (ORIGIN.startsWith("https:") ? "__Secure-" : "") + "better-auth.session_token";

// ---------------------------------------------------------------------------
// Minimal cookie jar (single origin): keeps name=value pairs from Set-Cookie,
// deletes on Max-Age<=0 or an Expires date in the past, and replays them.
// ---------------------------------------------------------------------------
const jar = new Map();

function storeSetCookie(line) {
  const parts = line.split(";");
  const pair = parts.shift();
  const eq = pair.indexOf("=");
  if (eq <= 0) return;
  const name = pair.slice(0, eq).trim();
  const value = pair.slice(eq + 1).trim();
  let expired = false;
  let maxAgeSeen = false;
  for (const attr of parts) {
    const aeq = attr.indexOf("=");
    const key = (aeq === -1 ? attr : attr.slice(0, aeq)).trim().toLowerCase();
    const val = aeq === -1 ? "" : attr.slice(aeq + 1).trim();
    if (key === "max-age") {
      maxAgeSeen = true;
      const n = Number.parseInt(val, 10);
      if (Number.isFinite(n) && n <= 0) expired = true;
    } else if (key === "expires" && !maxAgeSeen) {
      const t = Date.parse(val);
      if (Number.isFinite(t) && t <= Date.now()) expired = true;
    }
  }
  if (expired) jar.delete(name);
  else jar.set(name, value);
}

function cookieHeader() {
  return [...jar].map(([n, v]) => `${n}=${v}`).join("; ");
}

let requestCounter = 0;

// better-fetch calls `customFetchImpl(url, init)` where `init.headers` is a Headers
// instance and `init.body` an already serialised string (or null).
async function jarFetch(input, init = {}) {
  const headers = new Headers(init.headers ?? undefined);
  headers.set("origin", ORIGIN);
  const cookies = cookieHeader();
  if (cookies) headers.set("cookie", cookies);
  else headers.delete("cookie");

  const n = ++requestCounter;
  const method = (init.method ?? "GET").toUpperCase();
  if (TRACE) {
    const u = new URL(String(input));
    console.log(`  >> #${n} ${method} ${u.pathname}${u.search}`);
    headers.forEach((v, k) => console.log(`  >>    ${k}: ${v}`));
    if (init.body != null) console.log(`  >>    body: ${init.body}`);
  }

  const response = await fetch(input, { ...init, headers });

  const setCookies =
    typeof response.headers.getSetCookie === "function" ? response.headers.getSetCookie() : [];
  for (const line of setCookies) storeSetCookie(line);

  if (TRACE) {
    console.log(`  << #${n} ${response.status} ${response.statusText}`);
    response.headers.forEach((v, k) => {
      if (k !== "set-cookie") console.log(`  <<    ${k}: ${v}`);
    });
    for (const line of setCookies) console.log(`  <<    set-cookie: ${line}`);
    const text = await response.clone().text();
    console.log(`  <<    body: ${text}`);
  }
  return response;
}

let twoFactorRedirects = 0;
const client = createAuthClient({
  baseURL: ORIGIN,
  plugins: [
    apiKeyClient(),
    organizationClient(),
    twoFactorClient({
      onTwoFactorRedirect() {
        twoFactorRedirects++;
      },
    }),
    multiSessionClient(),
  ],
  fetchOptions: { customFetchImpl: jarFetch },
});

// ---------------------------------------------------------------------------
// Assertions
// ---------------------------------------------------------------------------
class StepFailure extends Error {
  constructor(what, expected, actual) {
    super(what);
    this.expected = expected;
    this.actual = actual;
  }
}

const show = (v) => inspect(v, { depth: 6, breakLength: 120 });

function expectEq(what, actual, expected) {
  if (!isDeepStrictEqual(actual, expected)) throw new StepFailure(what, show(expected), show(actual));
}
function expectTrue(what, cond, expected, actual) {
  if (!cond) throw new StepFailure(what, expected, show(actual));
}
function expectNoError(res) {
  expectTrue("request succeeded", res && res.error == null, "error == null", res && res.error);
}
function expectNonEmptyString(what, v) {
  expectTrue(what, typeof v === "string" && v.length > 0, "a non-empty string", v);
}

let currentStep = "";
let passed = 0;
async function step(label, fn) {
  currentStep = label;
  const detail = await fn();
  passed++;
  console.log(`ok   ${label}${detail ? ` — ${detail}` : ""}`);
}

// ---------------------------------------------------------------------------
// Flow
// ---------------------------------------------------------------------------
const suffix = randomBytes(6).toString("hex");
const name = "Compat User";
const email = `Compat.${suffix}@Example.COM`; // mixed case on purpose
const emailLower = email.toLowerCase();
const password = `Compat-pass-${randomBytes(6).toString("hex")}`;

let userId;
let apiKey;
let organizationId;
let invitationId;
const inviteeEmail = `invitee.${suffix}@example.com`;

// The server's clock (a test clock), for TOTP codes.
const serverNow = Number(process.env.AUTH_NOW ?? Math.floor(Date.now() / 1000));

/// RFC 6238 code of an otpauth:// URI's secret at the server's time.
function totpCode(uri) {
  const secret = new URL(uri).searchParams.get("secret");
  const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
  let bits = "";
  for (const char of secret) bits += alphabet.indexOf(char).toString(2).padStart(5, "0");
  const bytes = [];
  for (let i = 0; i + 8 <= bits.length; i += 8) bytes.push(parseInt(bits.slice(i, i + 8), 2));
  const counter = Buffer.alloc(8);
  counter.writeBigUInt64BE(BigInt(Math.floor(serverNow / 30)));
  const digest = createHmac("sha1", Buffer.from(bytes)).update(counter).digest();
  const offset = digest[digest.length - 1] & 15;
  const value = digest.readUInt32BE(offset) & 0x7fffffff;
  return String(value % 1000000).padStart(6, "0");
}
let backupCode;

async function main() {
  console.log(`better-auth client compatibility run against ${ORIGIN} (user ${emailLower})`);

  await step("1 signUp.email", async () => {
    const res = await client.signUp.email({ name, email, password });
    expectNoError(res);
    expectEq("data.user.email is lower-cased", res.data?.user?.email, emailLower);
    expectEq("data.user.name", res.data?.user?.name, name);
    expectNonEmptyString("data.user.id", res.data?.user?.id);
    expectNonEmptyString("data.token", res.data?.token);
    expectTrue(
      `cookie ${SESSION_COOKIE} was set`,
      jar.has(SESSION_COOKIE) && jar.get(SESSION_COOKIE) !== "",
      `${SESSION_COOKIE} in the cookie jar`,
      Object.fromEntries(jar),
    );
    userId = res.data.user.id;
    return `user ${userId}`;
  });

  await step("2 getSession", async () => {
    const res = await client.getSession();
    expectNoError(res);
    expectTrue("data is a session object", res.data && typeof res.data === "object", "{session, user}", res.data);
    expectEq("data.user.email", res.data.user?.email, emailLower);
    expectEq("data.user.id", res.data.user?.id, userId);
    expectEq("data.session.userId === data.user.id", res.data.session?.userId, res.data.user?.id);
    expectTrue(
      "data.session.expiresAt is a Date",
      res.data.session?.expiresAt instanceof Date && !Number.isNaN(res.data.session.expiresAt.getTime()),
      "a valid Date instance (ISO string revived by the client)",
      res.data.session?.expiresAt,
    );
    expectTrue(
      "data.session.expiresAt is in the future",
      res.data.session.expiresAt.getTime() > Date.now(),
      "a future date",
      res.data.session.expiresAt,
    );
    return `expires ${res.data.session.expiresAt.toISOString()}`;
  });

  await step("3 signOut", async () => {
    const res = await client.signOut();
    expectNoError(res);
    expectEq("data.success", res.data?.success, true);
    expectTrue(
      `cookie ${SESSION_COOKIE} was cleared`,
      !jar.has(SESSION_COOKIE),
      `${SESSION_COOKIE} removed by a Max-Age=0 Set-Cookie`,
      Object.fromEntries(jar),
    );
  });

  await step("4 getSession after sign-out", async () => {
    const res = await client.getSession();
    expectNoError(res);
    expectEq("data", res.data, null);
  });

  let signInToken;
  await step("5 signIn.email (rememberMe: true)", async () => {
    const res = await client.signIn.email({ email, password, rememberMe: true });
    expectNoError(res);
    expectEq("data.user.id equals the signed-up user", res.data?.user?.id, userId);
    expectEq("data.user.email", res.data?.user?.email, emailLower);
    expectEq("data.redirect", res.data?.redirect, false);
    expectNonEmptyString("data.token", res.data?.token);
    expectTrue(
      `cookie ${SESSION_COOKIE} was set`,
      jar.has(SESSION_COOKIE) && jar.get(SESSION_COOKIE) !== "",
      `${SESSION_COOKIE} in the cookie jar`,
      Object.fromEntries(jar),
    );
    signInToken = res.data.token;
  });

  await step("6 getSession after sign-in", async () => {
    const res = await client.getSession();
    expectNoError(res);
    expectTrue("data is a session object", res.data && typeof res.data === "object", "{session, user}", res.data);
    expectEq("data.user.id", res.data.user?.id, userId);
    expectEq("data.user.email", res.data.user?.email, emailLower);
    expectEq("data.session.userId", res.data.session?.userId, userId);
    expectEq("data.session.token is the sign-in token", res.data.session?.token, signInToken);
  });

  await step("7 signIn.email with a wrong password", async () => {
    const res = await client.signIn.email({ email, password: `${password}-wrong` });
    expectEq("data", res.data, null);
    expectTrue("an error came back", res.error != null, "error object", res.error);
    expectEq("error.status", res.error.status, 401);
    expectEq("error.code", res.error.code, "INVALID_EMAIL_OR_PASSWORD");
    return `${res.error.status} ${res.error.code}`;
  });

  await step("8 signUp.email with an existing email", async () => {
    const res = await client.signUp.email({ name, email, password });
    expectEq("data", res.data, null);
    expectTrue("an error came back", res.error != null, "error object", res.error);
    expectEq("error.status", res.error.status, 422);
    expectEq("error.code", res.error.code, "USER_ALREADY_EXISTS_USE_ANOTHER_EMAIL");
    return `${res.error.status} ${res.error.code}`;
  });

  await step("9 apiKey.create, then the key is a session (x-api-key)", async () => {
    const res = await client.apiKey.create({ name: "compat", prefix: "cmp_" });
    expectNoError(res);
    expectTrue("the full key, once", /^cmp_[a-zA-Z]{64}$/.test(res.data.key ?? ""), "cmp_ + 64 letters", res.data.key);
    expectEq("start", res.data.start, res.data.key.slice(0, 6));
    expectEq("referenceId", res.data.referenceId, userId);
    expectEq("rateLimitMax (Better-Auth's default)", res.data.rateLimitMax, 10);
    apiKey = res.data;
    const session = await fetch(`${ORIGIN}/api/auth/get-session`, { headers: { "x-api-key": apiKey.key } });
    const body = await session.json();
    expectEq("get-session by key: user", body?.user?.id, userId);
    expectEq("get-session by key: session id is the key's", body?.session?.id, apiKey.id);
    const forged = await client.apiKey.create({ name: "x", remaining: 5 });
    expectEq("server-only field refused", forged.error?.code, "SERVER_ONLY_PROPERTY");
    return apiKey.start;
  });

  await step("10 apiKey.list and apiKey.get never send the key", async () => {
    const list = await client.apiKey.list();
    expectNoError(list);
    expectEq("total", list.data.total, 1);
    expectEq("listed id", list.data.apiKeys[0].id, apiKey.id);
    expectTrue("no key in the list", !("key" in list.data.apiKeys[0]), "no key", list.data.apiKeys[0]);
    const got = await client.apiKey.get({ query: { id: apiKey.id } });
    expectNoError(got);
    expectEq("got name", got.data.name, "compat");
    expectTrue("no key in get", !("key" in got.data), "no key", got.data);
  });

  await step("11 apiKey.update, apiKey.delete, then the key is refused", async () => {
    const updated = await client.apiKey.update({ keyId: apiKey.id, name: "renamed", enabled: false });
    expectNoError(updated);
    expectEq("updated name", updated.data.name, "renamed");
    expectEq("updated enabled", updated.data.enabled, false);
    const disabled = await fetch(`${ORIGIN}/api/auth/get-session`, { headers: { "x-api-key": apiKey.key } });
    expectEq("a disabled key", (await disabled.json()).code, "KEY_DISABLED");
    const deleted = await client.apiKey.delete({ keyId: apiKey.id });
    expectNoError(deleted);
    expectEq("deleted", deleted.data.success, true);
    const missing = await client.apiKey.get({ query: { id: apiKey.id } });
    expectEq("a deleted key", missing.error?.code, "KEY_NOT_FOUND");
    return `${missing.error.status} ${missing.error.code}`;
  });

  await step("12 organization.create makes the caller owner and the organization active", async () => {
    const free = await client.organization.checkSlug({ slug: `compat-${suffix}` });
    expectNoError(free);
    expectEq("checkSlug status", free.data?.status, true);
    const res = await client.organization.create({
      name: "Compat Org",
      slug: `compat-${suffix}`,
      metadata: { plan: "pro" },
    });
    expectNoError(res);
    expectNonEmptyString("organization id", res.data?.id);
    expectEq("metadata parsed on create", res.data.metadata, { plan: "pro" });
    expectEq("the creator's role", res.data.members?.[0]?.role, "owner");
    organizationId = res.data.id;
    const session = await client.getSession();
    expectNoError(session);
    expectEq("session.activeOrganizationId", session.data?.session?.activeOrganizationId, organizationId);
    const taken = await client.organization.checkSlug({ slug: `compat-${suffix}` });
    expectEq("a taken slug", taken.error?.code, "ORGANIZATION_SLUG_ALREADY_TAKEN");
    return organizationId;
  });

  await step("13 organization.list, setActive, getActiveMember, hasPermission, inviteMember", async () => {
    const list = await client.organization.list();
    expectNoError(list);
    expectEq("listed", list.data?.map((org) => org.id), [organizationId]);
    const cleared = await client.organization.setActive({ organizationId: null });
    expectNoError(cleared);
    expectEq("cleared", cleared.data, null);
    const none = await client.getSession();
    expectEq("no active organization", none.data?.session?.activeOrganizationId, null);
    const active = await client.organization.setActive({ organizationId });
    expectNoError(active);
    expectEq("active again", active.data?.id, organizationId);
    const member = await client.organization.getActiveMember();
    expectNoError(member);
    expectEq("active member's role", member.data?.role, "owner");
    const allowed = await client.organization.hasPermission({ permissions: { organization: ["delete"] } });
    expectNoError(allowed);
    expectEq("an owner may delete", allowed.data?.success, true);
    const invited = await client.organization.inviteMember({ email: inviteeEmail, role: "admin" });
    expectNoError(invited);
    expectEq("invitation status", invited.data?.status, "pending");
    expectEq("invitation email", invited.data?.email, inviteeEmail);
    invitationId = invited.data.id;
    return invitationId;
  });

  await step("14 the invitee signs up, reads and accepts the invitation", async () => {
    const out = await client.signOut();
    expectNoError(out);
    const signed = await client.signUp.email({ name: "Invitee", email: inviteeEmail, password });
    expectNoError(signed);
    const details = await client.organization.getInvitation({ query: { id: invitationId } });
    expectNoError(details);
    expectEq("organizationName", details.data?.organizationName, "Compat Org");
    expectEq("inviterEmail", details.data?.inviterEmail, emailLower);
    const accepted = await client.organization.acceptInvitation({ invitationId });
    expectNoError(accepted);
    expectEq("accepted", accepted.data?.invitation?.status, "accepted");
    expectEq("member role", accepted.data?.member?.role, "admin");
    const session = await client.getSession();
    expectEq("the organization is active", session.data?.session?.activeOrganizationId, organizationId);
    const again = await client.organization.acceptInvitation({ invitationId });
    expectEq("one use", again.error?.code, "INVITATION_NOT_FOUND");
  });

  await step("15 signOut, then getSession is null", async () => {
    const out = await client.signOut();
    expectNoError(out);
    expectEq("signOut data.success", out.data?.success, true);
    expectTrue(
      `cookie ${SESSION_COOKIE} was cleared`,
      !jar.has(SESSION_COOKIE),
      `${SESSION_COOKIE} removed by a Max-Age=0 Set-Cookie`,
      Object.fromEntries(jar),
    );
    const res = await client.getSession();
    expectNoError(res);
    expectEq("getSession data", res.data, null);
  });

  await step("16 twoFactor.enable, then verifyTotp turns it on", async () => {
    const signed = await client.signIn.email({ email, password });
    expectNoError(signed);
    const enabled = await client.twoFactor.enable({ password });
    expectNoError(enabled);
    expectTrue("totpURI", enabled.data?.totpURI?.startsWith("otpauth://totp/"), "an otpauth URI", enabled.data);
    expectEq("backup codes", enabled.data?.backupCodes?.length, 10);
    backupCode = enabled.data.backupCodes[0];
    const verified = await client.twoFactor.verifyTotp({ code: totpCode(enabled.data.totpURI) });
    expectNoError(verified);
    const session = await client.getSession();
    expectEq("twoFactorEnabled", session.data?.user?.twoFactorEnabled, true);
  });

  await step("17 signIn.email is redirected to the second factor (onTwoFactorRedirect)", async () => {
    const out = await client.signOut();
    expectNoError(out);
    const signed = await client.signIn.email({ email, password });
    expectNoError(signed);
    expectEq("twoFactorRedirect", signed.data?.twoFactorRedirect, true);
    expectEq("onTwoFactorRedirect fired", twoFactorRedirects, 1);
    const session = await client.getSession();
    expectEq("no session yet", session.data, null);
  });

  await step("18 twoFactor.verifyBackupCode completes the sign-in", async () => {
    const verified = await client.twoFactor.verifyBackupCode({ code: backupCode });
    expectNoError(verified);
    expectEq("user", verified.data?.user?.email, emailLower);
    const session = await client.getSession();
    expectEq("signed in", session.data?.user?.email, emailLower);
  });

  await step("19 multiSession: a second user in the same browser, listDeviceSessions", async () => {
    const signed = await client.signIn.email({ email: inviteeEmail, password });
    expectNoError(signed);
    const listed = await client.multiSession.listDeviceSessions();
    expectNoError(listed);
    const emails = (listed.data ?? []).map((entry) => entry.user.email).sort();
    expectEq("both users", emails, [emailLower, inviteeEmail].sort());
  });

  await step("20 multiSession.setActive switches users, revoke ends one", async () => {
    const listed = await client.multiSession.listDeviceSessions();
    const first = listed.data.find((entry) => entry.user.email === emailLower);
    const second = listed.data.find((entry) => entry.user.email === inviteeEmail);
    const switched = await client.multiSession.setActive({ sessionToken: first.session.token });
    expectNoError(switched);
    const session = await client.getSession();
    expectEq("active user", session.data?.user?.email, emailLower);
    const revoked = await client.multiSession.revoke({ sessionToken: second.session.token });
    expectNoError(revoked);
    const after = await client.multiSession.listDeviceSessions();
    expectEq("one left", after.data?.length, 1);
  });
}

try {
  await main();
  console.log(`PASS: ${passed}/20 steps`);
  process.exit(0);
} catch (err) {
  if (err instanceof StepFailure) {
    console.log(`FAIL ${currentStep}: ${err.message}`);
    console.log(`  expected: ${err.expected}`);
    console.log(`  actual:   ${err.actual}`);
  } else {
    console.log(`FAIL ${currentStep || "(setup)"}: unexpected exception`);
    console.log(`  ${err && err.stack ? err.stack : show(err)}`);
    if (err && err.cause) console.log(`  cause: ${show(err.cause)}`);
  }
  process.exit(1);
}
