// JWT compatibility with better-auth 1.7.25, driven by tests/api/jwt_compat.rs.
// Input (JSON file named by argv[2]): { secret, baseURL, rows: [jwks rows written by the Rust
// server], token: a JWT signed by the Rust server }.
// Output (stdout, JSON): { verified: payload of our token as Better-Auth's verifyJWT sees it,
//   signedWithOurKey: a JWT Better-Auth signed with the Rust server's stored key,
//   theirRow: a jwks row Better-Auth created in an empty table, theirToken: a JWT signed with it }.
import fs from "node:fs";
import { betterAuth } from "better-auth";
import { memoryAdapter } from "better-auth/adapters/memory";
import { jwt } from "better-auth/plugins";

const input = JSON.parse(fs.readFileSync(process.argv[2], "utf8"));
const toDates = (row) => ({
  ...row,
  createdAt: new Date(row.createdAt),
  expiresAt: row.expiresAt ? new Date(row.expiresAt) : null,
});

const make = (jwks) =>
  betterAuth({
    baseURL: input.baseURL,
    secret: input.secret,
    database: memoryAdapter({ user: [], session: [], account: [], verification: [], jwks }),
    emailAndPassword: { enabled: true },
    plugins: [jwt()],
    logger: { disabled: true },
  });

const ours = make(input.rows.map(toDates));
const verified = (await ours.api.verifyJWT({ body: { token: input.token } })).payload;
const signedWithOurKey = (
  await ours.api.signJWT({ body: { payload: { sub: "from-better-auth", purpose: "compat" } } })
).token;

const theirTable = [];
const theirs = make(theirTable);
const theirToken = (
  await theirs.api.signJWT({ body: { payload: { sub: "better-auth-user", purpose: "compat" } } })
).token;
const theirRow = theirTable[0];

console.log(JSON.stringify({ verified, signedWithOurKey, theirRow, theirToken }));
