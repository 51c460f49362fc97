//! auth-crypto: the adapters for hashing, randomness and time: argon2id password hashing (and
//! verification of Better-Auth's scrypt hashes) on a bounded blocking pool, the OS random source,
//! the system clock, and the token signer (Ed25519 keys as JWKs sealed with the server secret,
//! EdDSA JWTs, PASETO v4).
//! Depends on: auth-domain, auth-ports, argon2, scrypt, rand, tokio (blocking pool only),
//! jsonwebtoken, pasetors, ed25519-dalek, chacha20poly1305.
//! Must not depend on: sea-orm, redis, poem.
//! Invariant: no hashing work ever runs on an async worker thread.

mod api_key;
mod email_tokens;
mod hasher;
mod paseto_local;
mod random;
mod scrypt_compat;
mod symmetric;
mod system_clock;
mod tokens;
mod two_factor;

pub use api_key::Sha256KeyHasher;
pub use email_tokens::Hs256EmailTokens;
pub use hasher::{Argon2Hasher, HasherConfig};
pub use paseto_local::LocalSealer;
pub use random::OsRandom;
pub use system_clock::SystemClock;
pub use tokens::{Ed25519TokenSigner, PrivateKeyStorage};
pub use two_factor::TwoFactorCipher;
