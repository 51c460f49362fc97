//! A database adopted from Better-Auth in which a user has two-factor authentication on: the
//! password alone never gives that user a session while this server has no two-factor step.

use auth_store_seaorm::test_db::TestDatabase;
use serde_json::json;

use crate::compat::BETTER_AUTH_PASSWORD123_HASH;
use crate::helpers::{Backend, base_config, expect_error, set_cookies, start_app};

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

/// The plugin's `twoFactor` table, then a guarded user (factor verified), a plain user and an
/// adopted user whose `twoFactorEnabled` is null, each row as Better-Auth writes it.
fn rows(backend: Backend) -> String {
    let (on, off, verified, two_factor_table) = match backend {
        Backend::Sqlite => (
            "1",
            "0",
            "1",
            r#"CREATE TABLE "twoFactor" ("id" text not null primary key, "secret" text not null, "backupCodes" text not null, "userId" text not null references "user" ("id") on delete cascade, "verified" integer default 1, "failedVerificationCount" integer default 0, "lockedUntil" date);"#,
        ),
        Backend::Postgres => (
            "true",
            "false",
            "true",
            r#"CREATE TABLE "twoFactor" ("id" text not null primary key, "secret" text not null, "backupCodes" text not null, "userId" text not null references "user" ("id") on delete cascade, "verified" boolean default true, "failedVerificationCount" integer default 0, "lockedUntil" timestamptz);"#,
        ),
    };
    let created = "'2026-11-25T08:31:47.755Z'";
    let mut sql = format!("{two_factor_table}\n");
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
        r#"INSERT INTO "twoFactor" ("id","secret","backupCodes","userId","verified","failedVerificationCount","lockedUntil") VALUES ('BaTwoFactor0000000000000000001','4a7dd1b5a1f64d7c0f0e6c2b:8e1f0c','9b4c1e2f0a3d:77aa','BaGuarded000000000000000000001',{verified},0,NULL);
"#
    ));
    sql
}

async fn password_alone_is_refused_for_a_user_with_two_factor_on(backend: Backend) {
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
    // Our migrations adopt the existing `user` table (its `twoFactorEnabled` column included).
    database.store().await.close().await;
    database.execute(&rows(backend)).await;
    let app = start_app(base_config(&database.url), None).await;

    let refused = app
        .post(
            "/sign-in/email",
            &json!({"email": "guarded@example.com", "password": "password123"}),
        )
        .await;
    assert!(set_cookies(&refused).is_empty(), "no session cookie is set");
    assert!(refused.headers().get("set-auth-token").is_none());
    expect_error(refused, 403, Some("TWO_FACTOR_NOT_AVAILABLE")).await;
    let sessions = database.query_count(
        r#"SELECT COUNT(*) AS n FROM "session" WHERE "userId" = 'BaGuarded000000000000000000001'"#,
    )
    .await;
    assert_eq!(sessions, 0, "no session row was created");
    let audited = database
        .query_count(
            r#"SELECT COUNT(*) AS n FROM "auditEvent" WHERE "reason" = 'two_factor_not_available'"#,
        )
        .await;
    assert_eq!(audited, 1, "the refusal is audited");

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
    database.cleanup().await;
}

#[tokio::test]
async fn password_alone_is_refused_for_an_adopted_two_factor_user_on_sqlite() {
    password_alone_is_refused_for_a_user_with_two_factor_on(Backend::Sqlite).await;
}

#[tokio::test]
async fn password_alone_is_refused_for_an_adopted_two_factor_user_on_postgres() {
    password_alone_is_refused_for_a_user_with_two_factor_on(Backend::Postgres).await;
}
