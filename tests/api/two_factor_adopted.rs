//! A database adopted from Better-Auth in which a user has two-factor authentication on, its
//! secret and backup codes sealed by Better-Auth 1.7.25 itself: the password alone never gives
//! that user a session, the sealed TOTP secret and backup codes complete the sign-in, and with
//! the two-factor plugin switched off the server fails closed.

use auth_crypto::TwoFactorCipher;
use auth_domain::Secret;
use auth_domain::two_factor::Totp;
use auth_ports::{Clock, TwoFactorCrypto};
use auth_store_seaorm::test_db::TestDatabase;
use serde_json::{Value, json};

use crate::compat::BETTER_AUTH_PASSWORD123_HASH;
use crate::helpers::{Backend, base_config, expect_error, set_cookies, start_app};

/// The TOTP secret Better-Auth generated for the guarded user, and its seal: Better-Auth's
/// `symmetricEncrypt` under the tests' secret (as `better-auth/crypto` 1.7.25 printed it).
const TOTP_SECRET: &str = "Xq3_mZ-8pL0aB7cD9eF1gH2iJ4kL5nO6";
const SEALED_SECRET: &str = "425fcd8ca7dedec66398bfa9af9d139c2b81eec6efaef7fc7580a04ed0435c9330c611e7ce666f56bbf65fc28f06355d52325ce3dc118c97af63eda4068c04a458a3cb2fe0573bd2";
/// `["AbCdE-fGhIj","KlMnO-pQrSt","UvWxY-z0123"]`, sealed the same way.
const SEALED_BACKUP_CODES: &str = "f73ffa16f5a7787efcadf1b590b2be3993a4fef2b18b3ada02a5114899b15c078cb480f3c9b5d776dd3863d9b9a48cfcec32a3eb8c0d230398ebf45108991b84e596e544c11cc4dd5a285befc2fb84180ea938";

/// The `user` table as Better-Auth's migrator creates it with the two-factor plugin on.
fn user_table(backend: Backend) -> &'static str {
    match backend {
        Backend::Sqlite => {
            r#"CREATE TABLE "user" ("id" text not null primary key, "name" text not null, "email" text not null unique, "emailVerified" integer not null, "image" text, "createdAt" date not null, "updatedAt" date not null, "twoFactorEnabled" integer);"#
        }
        Backend::Postgres => {
            r#"CREATE TABLE "user" ("id" text not null primary key, "name" text not null, "email" text not null unique, "emailVerified" boolean not null, "image" text, "createdAt" timestamptz default CURRENT_TIMESTAMP not null, "updatedAt" timestamptz default CURRENT_TIMESTAMP not null, "twoFactorEnabled" boolean);"#
        }
    }
}

/// The plugin's `twoFactor` table as Better-Auth's migrator creates it.
fn two_factor_table(backend: Backend) -> &'static str {
    match backend {
        Backend::Sqlite => {
            r#"CREATE TABLE "twoFactor" ("id" text not null primary key, "secret" text not null, "backupCodes" text not null, "userId" text not null references "user" ("id") on delete cascade, "verified" integer default 1, "failedVerificationCount" integer default 0, "lockedUntil" date);"#
        }
        Backend::Postgres => {
            r#"CREATE TABLE "twoFactor" ("id" text not null primary key, "secret" text not null, "backupCodes" text not null, "userId" text not null references "user" ("id") on delete cascade, "verified" boolean default true, "failedVerificationCount" integer default 0, "lockedUntil" timestamptz);"#
        }
    }
}

/// A guarded user (factor verified), a plain user and an adopted user whose
/// `twoFactorEnabled` is null, each row as Better-Auth writes it.
fn rows(backend: Backend) -> String {
    let (on, off, verified) = match backend {
        Backend::Sqlite => ("1", "0", "1"),
        Backend::Postgres => ("true", "false", "true"),
    };
    let created = "'2026-11-25T08:31:47.755Z'";
    let mut sql = String::new();
    for (id, email, flag) in [
        ("BaGuarded000000000000000000001", "guarded@example.com", on),
        ("BaPlain00000000000000000000001", "plain@example.com", off),
        ("BaNull000000000000000000000001", "null@example.com", "NULL"),
    ] {
        sql.push_str(&format!(
            r#"INSERT INTO "user" ("id","name","email","emailVerified","image","createdAt","updatedAt","twoFactorEnabled") VALUES ('{id}','Ada','{email}',{off},NULL,{created},{created},{flag});
INSERT INTO "account" ("id","accountId","providerId","userId","password","createdAt","updatedAt") VALUES ('acct-{id}','{id}','credential','{id}','{BETTER_AUTH_PASSWORD123_HASH}',{created},{created});
"#
        ));
    }
    sql.push_str(&format!(
        r#"INSERT INTO "twoFactor" ("id","secret","backupCodes","userId","verified","failedVerificationCount","lockedUntil") VALUES ('BaTwoFactor0000000000000000001','{SEALED_SECRET}','{SEALED_BACKUP_CODES}','BaGuarded000000000000000000001',{verified},0,NULL);
"#
    ));
    sql
}

/// The guarded user's TOTP code now on `app`'s clock.
fn code(now: time::OffsetDateTime) -> String {
    let cipher = TwoFactorCipher::new(&Secret::new("unused-for-codes".to_owned()));
    cipher.totp(TOTP_SECRET.as_bytes(), Totp::default().step_at(now), 6)
}

async fn adopted_two_factor_users_sign_in_with_their_factor(backend: Backend) {
    let database = match backend {
        Backend::Sqlite => TestDatabase::sqlite(),
        Backend::Postgres => {
            let Some(database) = TestDatabase::postgres().await else {
                return;
            };
            database
        }
    };
    database.execute(user_table(backend)).await;
    database.execute(two_factor_table(backend)).await;
    // Our migrations adopt the existing tables (adding `twoFactor.lastUsedStep`).
    database.store().await.close().await;
    database.execute(&rows(backend)).await;
    let app = start_app(base_config(&database.url), None).await;

    let diverted = app
        .post(
            "/sign-in/email",
            &json!({"email": "guarded@example.com", "password": "password123"}),
        )
        .await;
    assert!(diverted.headers().get("set-auth-token").is_none());
    let body: Value = diverted.json().await.expect("json");
    assert_eq!(
        body,
        json!({"twoFactorRedirect": true, "twoFactorMethods": ["totp", "otp"]})
    );
    let sessions = database.query_count(
        r#"SELECT COUNT(*) AS n FROM "session" WHERE "userId" = 'BaGuarded000000000000000000001'"#,
    )
    .await;
    assert_eq!(sessions, 0, "no session row for the password alone");
    let done = app
        .post(
            "/two-factor/verify-totp",
            &json!({"code": code(app.clock.now())}),
        )
        .await;
    assert_eq!(done.status(), 200, "Better-Auth's sealed secret opens");
    assert_eq!(app.session().await["user"]["email"], "guarded@example.com");
    app.post("/sign-out", &json!({})).await;

    app.post(
        "/sign-in/email",
        &json!({"email": "guarded@example.com", "password": "password123"}),
    )
    .await;
    let redeemed = app
        .post(
            "/two-factor/verify-backup-code",
            &json!({"code": "KlMnO-pQrSt"}),
        )
        .await;
    assert_eq!(
        redeemed.status(),
        200,
        "Better-Auth's sealed backup codes open"
    );
    app.post("/sign-out", &json!({})).await;

    let wrong = app
        .post(
            "/sign-in/email",
            &json!({"email": "guarded@example.com", "password": "password124"}),
        )
        .await;
    expect_error(wrong, 401, Some("INVALID_EMAIL_OR_PASSWORD")).await;
    for email in ["plain@example.com", "null@example.com"] {
        let signed = app
            .post(
                "/sign-in/email",
                &json!({"email": email, "password": "password123"}),
            )
            .await;
        assert_eq!(signed.status(), 200, "{email} is unaffected");
    }
    app.stop().await;

    // With the two-factor plugin switched off, the password alone is still refused.
    let mut config = base_config(&database.url);
    config.plugins = Some(vec!["bearer".to_owned()]);
    let closed = start_app(config, None).await;
    let refused = closed
        .post(
            "/sign-in/email",
            &json!({"email": "guarded@example.com", "password": "password123"}),
        )
        .await;
    assert!(set_cookies(&refused).is_empty(), "no session cookie is set");
    expect_error(refused, 403, Some("TWO_FACTOR_NOT_AVAILABLE")).await;
    let audited = database
        .query_count(
            r#"SELECT COUNT(*) AS n FROM "auditEvent" WHERE "reason" = 'two_factor_not_available'"#,
        )
        .await;
    assert_eq!(audited, 1, "the refusal is audited");
    closed.stop().await;
    database.cleanup().await;
}

#[tokio::test]
async fn adopted_two_factor_users_sign_in_with_their_factor_on_sqlite() {
    adopted_two_factor_users_sign_in_with_their_factor(Backend::Sqlite).await;
}

#[tokio::test]
async fn adopted_two_factor_users_sign_in_with_their_factor_on_postgres() {
    adopted_two_factor_users_sign_in_with_their_factor(Backend::Postgres).await;
}
