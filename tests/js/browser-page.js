// The page side of the browser test (bundled by esbuild, loaded by browser.mjs): the official
// `better-auth` client in a real browser on another origin than the server, with the cookies
// kept by the browser itself. Each flow returns the steps it passed and throws on the first
// failure.

import { createAuthClient } from "better-auth/client";

const COOKIE = "better-auth.session_token";

function fail(step, expected, actual) {
  throw new Error(`${step}: expected ${expected}, got ${JSON.stringify(actual)}`);
}
function expectEq(step, actual, expected) {
  if (actual !== expected) fail(step, JSON.stringify(expected), actual);
}

// A client that also records the response headers a script may read.
function client(baseURL) {
  const seen = { token: null, jwt: null };
  const auth = createAuthClient({
    baseURL,
    fetchOptions: {
      onResponse(context) {
        seen.token = context.response.headers.get("set-auth-token") ?? seen.token;
        seen.jwt = context.response.headers.get("set-auth-jwt") ?? seen.jwt;
      },
    },
  });
  return { auth, seen };
}

// From a trusted origin: the whole session flow, the session cookie kept and sent by the browser.
window.trustedFlow = async (baseURL, email, password) => {
  const passed = [];
  const { auth, seen } = client(baseURL);

  const up = await auth.signUp.email({ name: "Browser User", email, password });
  expectEq("sign-up error", up.error, null);
  expectEq("sign-up user email", up.data?.user?.email, email);
  if (!seen.token) fail("sign-up set-auth-token readable", "a token", seen.token);
  passed.push("sign-up (set-auth-token readable)");

  if (document.cookie.includes(COOKIE)) fail("session cookie is HttpOnly", "hidden", document.cookie);
  passed.push("the session cookie is not readable by script");

  const session = await auth.getSession();
  expectEq("get-session error", session.error, null);
  expectEq("get-session user", session.data?.user?.id, up.data.user.id);
  if (!seen.jwt || seen.jwt.split(".").length !== 3) fail("set-auth-jwt readable", "a JWT", seen.jwt);
  passed.push("get-session with the browser's cookie (set-auth-jwt readable)");

  const out = await auth.signOut();
  expectEq("sign-out", out.data?.success, true);
  const gone = await auth.getSession();
  expectEq("get-session after sign-out", gone.data, null);
  passed.push("sign-out, then no session");

  const signIn = await auth.signIn.email({ email, password });
  expectEq("sign-in error", signIn.error, null);
  const again = await auth.getSession();
  expectEq("get-session after sign-in", again.data?.user?.id, up.data.user.id);
  expectEq("same token", again.data?.session?.token, signIn.data?.token);
  passed.push("sign-in, then get-session with the new cookie");

  const wrong = await auth.signIn.email({ email, password: `${password}-wrong` });
  expectEq("wrong password status", wrong.error?.status, 401);
  expectEq("wrong password code", wrong.error?.code, "INVALID_EMAIL_OR_PASSWORD");
  passed.push("a refusal is readable (401 INVALID_EMAIL_OR_PASSWORD)");

  const last = await auth.signOut();
  expectEq("final sign-out", last.data?.success, true);
  return passed;
};

// From a trusted origin: this email and password do not sign in (the user does not exist).
window.signInRefused = async (baseURL, email, password) => {
  const { auth } = client(baseURL);
  const res = await auth.signIn.email({ email, password });
  expectEq("sign-in of an unknown user", res.error?.status, 401);
  return ["the untrusted page's sign-up created no user"];
};

// Outcome of a call that the browser must not let the page read: `true` when it failed.
async function unreadable(call) {
  try {
    const result = await call();
    // better-fetch turns a network failure into `{ data: null, error }`.
    return result?.data == null && result?.error != null && !result.error.status;
  } catch (error) {
    return error instanceof TypeError;
  }
}

// From an untrusted origin: no response is readable, whatever the method.
window.untrustedFlow = async (baseURL, email, password) => {
  const passed = [];
  const { auth } = client(baseURL);
  if (!(await unreadable(() => fetch(`${baseURL}/ok`, { credentials: "include" })))) {
    fail("GET /ok from an untrusted origin", "a CORS failure", "a readable response");
  }
  passed.push("a simple GET is not readable");
  if (!(await unreadable(() => auth.signUp.email({ name: "Intruder", email, password })))) {
    fail("sign-up from an untrusted origin", "a CORS failure", "a readable response");
  }
  passed.push("sign-up is not readable (its preflight is refused)");
  if (!(await unreadable(() => auth.getSession()))) {
    fail("get-session from an untrusted origin", "a CORS failure", "a readable response");
  }
  passed.push("get-session is not readable");
  return passed;
};
