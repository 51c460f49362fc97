//! auth-store-seaorm adapter tests: the port conformance suite on real SQLite and Postgres, and
//! compatibility with rows written by Better-Auth itself.
//! Must not depend on: mocks of any kind; these tests talk to real databases.
#![allow(clippy::expect_used, reason = "test binary: broken fixtures panic")]

use std::sync::Arc;

use auth_domain::{Email, SessionToken};
use auth_ports::{AccountRepo, JwksRepo, PortError, SessionRepo, UserRepo};
use auth_store_seaorm::test_db::TestDatabase;
use auth_store_seaorm::{SeaOrmStore, StoreConfig};
use auth_testkit::conformance::{
    Stores, run_audit_suite, run_jwks_suite, run_organization_suite, run_store_suite,
    run_two_factor_suite,
};
use sea_orm::{ConnectionTrait, Database};

#[tokio::test]
async fn sqlite_store_passes_the_conformance_suite() {
    let db = TestDatabase::sqlite();
    let store = Arc::new(db.store().await);
    run_store_suite(&Stores::from_one(store)).await;
    db.cleanup().await;
}

#[tokio::test]
async fn postgres_store_passes_the_conformance_suite() {
    let Some(db) = TestDatabase::postgres().await else {
        return;
    };
    let store = Arc::new(db.store().await);
    run_store_suite(&Stores::from_one(store)).await;
    db.cleanup().await;
}

#[tokio::test]
async fn sqlite_store_passes_the_jwks_suite() {
    let db = TestDatabase::sqlite();
    let store = db.store().await;
    run_jwks_suite(&store).await;
    db.cleanup().await;
}

#[tokio::test]
async fn postgres_store_passes_the_jwks_suite() {
    let Some(db) = TestDatabase::postgres().await else {
        return;
    };
    let store = db.store().await;
    run_jwks_suite(&store).await;
    db.cleanup().await;
}

/// A `jwks` row exactly as Better-Auth's Kysely adapter writes it on SQLite (ISO text dates,
/// a null `expiresAt`).
const BETTER_AUTH_JWKS_ROW: &str = r#"
INSERT INTO "jwks" ("id","publicKey","privateKey","createdAt","expiresAt","alg","crv")
  VALUES ('iFyMLshrmwPpSf33lGLPoDS9DOek3taw',
          '{"crv":"Ed25519","x":"lpIAaXgbIJienbuqscG1BEjRo9Jtzi2ku0wvfqPaK80","kty":"OKP"}',
          '"2b612e8a"', '2026-11-25T10:37:45.810Z', NULL, 'EdDSA', 'Ed25519');
"#;

#[tokio::test]
async fn jwks_rows_written_by_better_auth_on_sqlite_are_read_back_intact() {
    let db = TestDatabase::sqlite();
    let store = db.store().await;
    let raw = Database::connect(db.url.as_str()).await.expect("connect");
    raw.execute_unprepared(BETTER_AUTH_JWKS_ROW)
        .await
        .expect("insert Better-Auth row");
    let keys = JwksRepo::list_all(&store).await.expect("read");
    assert_eq!(keys.len(), 1);
    assert_eq!(keys[0].id.as_str(), "iFyMLshrmwPpSf33lGLPoDS9DOek3taw");
    assert_eq!(keys[0].created_at.millisecond(), 810);
    assert_eq!(keys[0].expires_at, None);
    assert_eq!(keys[0].private_key.expose(), r#""2b612e8a""#);
    db.cleanup().await;
}

#[tokio::test]
async fn sqlite_and_postgres_audit_logs_pass_the_audit_suite() {
    let sqlite = TestDatabase::sqlite();
    run_audit_suite(&sqlite.store().await).await;
    sqlite.cleanup().await;
    if let Some(pg) = TestDatabase::postgres().await {
        run_audit_suite(&pg.store().await).await;
        pg.cleanup().await;
    }
}

#[tokio::test]
async fn migrations_are_idempotent_on_both_backends() {
    let sqlite = TestDatabase::sqlite();
    let store = sqlite.store().await;
    store.migrate().await.expect("second run is a no-op");
    sqlite.cleanup().await;
    if let Some(pg) = TestDatabase::postgres().await {
        let store = pg.store().await;
        store.migrate().await.expect("second run is a no-op");
        pg.cleanup().await;
    }
}

/// Rows exactly as Better-Auth's Kysely adapter writes them on SQLite: ISO-8601 text dates with
/// milliseconds and `Z`, booleans as 0/1, a scrypt password hash.
const BETTER_AUTH_SQLITE_ROWS: &str = r#"
INSERT INTO "user" ("id","name","email","emailVerified","image","createdAt","updatedAt")
  VALUES ('BaUser0000000000000000000000001','Ada','ada@example.com',0,NULL,'2026-11-25T08:31:47.755Z','2026-11-25T08:31:47.755Z');
INSERT INTO "account" ("id","accountId","providerId","userId","password","createdAt","updatedAt")
  VALUES ('BaAcct0000000000000000000000001','BaUser0000000000000000000000001','credential','BaUser0000000000000000000000001',
          '6b3e4c2ce234ce08658e3e17a3116bf6:b2dff4d0148592195012ba86d4e6a995c858cfa4fdaae3a659a19760dcd3c4ac75943b9974a1c5ba2530b9d630edc31915965ef7dd3f741424804e109e4c7e68',
          '2026-11-25T08:31:47.755Z','2026-11-25T08:31:47.755Z');
INSERT INTO "session" ("id","expiresAt","token","createdAt","updatedAt","ipAddress","userAgent","userId")
  VALUES ('BaSess0000000000000000000000001','2099-12-02T08:31:47.758Z','BaToken000000000000000000000001','2026-11-25T08:31:47.758Z','2026-11-25T08:31:47.758Z','','node','BaUser0000000000000000000000001');
"#;

#[tokio::test]
async fn rows_written_by_better_auth_on_sqlite_are_read_back_intact() {
    let db = TestDatabase::sqlite();
    let store = db.store().await;
    let raw = Database::connect(db.url.as_str()).await.expect("connect");
    raw.execute_unprepared(BETTER_AUTH_SQLITE_ROWS)
        .await
        .expect("insert Better-Auth rows");

    let email = Email::parse("ada@example.com").expect("email");
    let user = store
        .find_by_email(&email)
        .await
        .expect("read")
        .expect("user exists");
    assert_eq!(user.name, "Ada");
    assert_eq!(user.created_at.millisecond(), 755);
    let account = store
        .find_credential(&user.id)
        .await
        .expect("read")
        .expect("credential");
    let hash = account.password.expect("hash");
    assert!(
        hash.as_str()
            .starts_with("6b3e4c2ce234ce08658e3e17a3116bf6:b2dff4d0")
    );

    let token = SessionToken::new("BaToken000000000000000000000001".to_owned());
    let (session, owner) = store
        .find_with_user(&token)
        .await
        .expect("read")
        .expect("session");
    assert_eq!(owner.id, user.id);
    assert_eq!(session.user_agent.as_deref(), Some("node"));
    db.cleanup().await;
}

#[tokio::test]
async fn an_unreachable_database_reports_unavailable() {
    let mut config = StoreConfig::for_url("postgres://postgres@127.0.0.1:1/nothing");
    config.acquire_timeout = std::time::Duration::from_millis(500);
    let result = SeaOrmStore::connect(&config).await;
    assert!(
        matches!(result, Err(PortError::Unavailable(_))),
        "{result:?}"
    );
}

/// A store on `db` whose statements give up after 200 ms.
async fn impatient_store(db: &TestDatabase) -> SeaOrmStore {
    db.store().await.close().await;
    let config = StoreConfig {
        statement_timeout: std::time::Duration::from_millis(200),
        ..StoreConfig::for_url(&db.url)
    };
    SeaOrmStore::connect(&config).await.expect("connect")
}

/// Holds `lock_sql` in an open transaction of another connection while `probe` runs, and
/// returns what `probe` answered.
async fn while_locked<T>(
    db: &TestDatabase,
    lock_sql: &str,
    probe: impl std::future::Future<Output = T>,
) -> (T, std::time::Duration) {
    use sea_orm::TransactionTrait;
    let other = Database::connect(db.url.as_str()).await.expect("connect");
    let transaction = other.begin().await.expect("begin");
    transaction
        .execute_unprepared(lock_sql)
        .await
        .expect("take the lock");
    let started = std::time::Instant::now();
    let answer = probe.await;
    let waited = started.elapsed();
    transaction.rollback().await.expect("rollback");
    other.close().await.expect("close");
    (answer, waited)
}

#[tokio::test]
async fn a_statement_that_outlives_the_timeout_on_postgres_is_unavailable_not_internal() {
    let Some(db) = TestDatabase::postgres().await else {
        return;
    };
    let store = impatient_store(&db).await;
    let email = Email::parse("locked@example.com").expect("email");
    let (found, waited) = while_locked(
        &db,
        r#"LOCK TABLE "user" IN ACCESS EXCLUSIVE MODE"#,
        store.find_by_email(&email),
    )
    .await;
    assert!(matches!(found, Err(PortError::Unavailable(_))), "{found:?}");
    assert!(waited < std::time::Duration::from_secs(3), "{waited:?}");
    // The lock gone, the same store answers again.
    assert!(matches!(store.find_by_email(&email).await, Ok(None)));
    store.close().await;
    db.cleanup().await;
}

#[tokio::test]
async fn a_write_that_waits_past_the_busy_timeout_on_sqlite_is_unavailable_not_internal() {
    let db = TestDatabase::sqlite();
    let store = impatient_store(&db).await;
    let user = auth_domain::User {
        id: auth_domain::UserId::new("busy-user".to_owned()),
        name: "Busy".to_owned(),
        email: Email::parse("busy@example.com").expect("email"),
        email_verified: false,
        two_factor_enabled: false,
        image: None,
        created_at: time::OffsetDateTime::UNIX_EPOCH,
        updated_at: time::OffsetDateTime::UNIX_EPOCH,
        fields: Default::default(),
    };
    let account = auth_domain::Account {
        id: auth_domain::AccountId::new("busy-account".to_owned()),
        account_id: "busy-user".to_owned(),
        provider_id: "credential".to_owned(),
        user_id: user.id.clone(),
        password: None,
        created_at: time::OffsetDateTime::UNIX_EPOCH,
        updated_at: time::OffsetDateTime::UNIX_EPOCH,
    };
    let (created, _) = while_locked(
        &db,
        r#"INSERT INTO "verification" ("id","identifier","value","expiresAt","createdAt","updatedAt") VALUES ('lock','lock','lock','2030-01-01T00:00:00.000Z','2030-01-01T00:00:00.000Z','2030-01-01T00:00:00.000Z')"#,
        store.create_with_account(&user, &account),
    )
    .await;
    assert!(
        matches!(created, Err(PortError::Unavailable(_))),
        "{created:?}"
    );
    assert!(store.create_with_account(&user, &account).await.is_ok());
    store.close().await;
    db.cleanup().await;
}

const NOTE: auth_domain::FieldSpec = auth_domain::FieldSpec {
    model: auth_domain::Model::Session,
    name: "activeOrganizationId",
    kind: auth_domain::FieldKind::Text,
};
const FLAG: auth_domain::FieldSpec = auth_domain::FieldSpec {
    model: auth_domain::Model::User,
    name: "pluginFlag",
    kind: auth_domain::FieldKind::Bool,
};

/// Plugin fields: their columns are added once (an existing one is kept with its values, as in
/// an adopted Better-Auth database), written at creation and by `update_*_fields`, and read by
/// every read of the row.
async fn plugin_fields_round_trip(db: &TestDatabase) {
    use auth_domain::{FieldValue, Fields};
    let plain = db.store().await;
    // The session column exists already, as Better-Auth's organization plugin leaves it.
    db.execute(r#"ALTER TABLE "session" ADD COLUMN "activeOrganizationId" TEXT"#)
        .await;
    let store = plain.with_fields(&[NOTE, FLAG]);
    store.add_field_columns().await.expect("columns");
    store.add_field_columns().await.expect("idempotent");

    let now = time::OffsetDateTime::UNIX_EPOCH + time::Duration::days(20_000);
    let mut user_fields = Fields::default();
    user_fields.set("pluginFlag", FieldValue::Bool(true));
    let user = auth_domain::User {
        id: auth_domain::UserId::new("fields-user".to_owned()),
        name: "Fields".to_owned(),
        email: Email::parse("fields@example.com").expect("email"),
        email_verified: false,
        two_factor_enabled: false,
        image: None,
        created_at: now,
        updated_at: now,
        fields: user_fields,
    };
    let account = auth_domain::Account {
        id: auth_domain::AccountId::new("fields-account".to_owned()),
        account_id: "fields-user".to_owned(),
        provider_id: "credential".to_owned(),
        user_id: user.id.clone(),
        password: None,
        created_at: now,
        updated_at: now,
    };
    store
        .create_with_account(&user, &account)
        .await
        .expect("user");
    let mut session_fields = Fields::default();
    session_fields.set("activeOrganizationId", FieldValue::Text("org-1".to_owned()));
    let session = auth_domain::Session {
        id: auth_domain::SessionId::new("fields-session".to_owned()),
        token: SessionToken::new("fields-token".to_owned()),
        user_id: user.id.clone(),
        expires_at: now + time::Duration::days(7),
        created_at: now,
        updated_at: now,
        ip_address: None,
        user_agent: None,
        fields: session_fields.clone(),
    };
    SessionRepo::create(&store, &session)
        .await
        .expect("session");

    let (found, owner) = store
        .find_with_user(&session.token)
        .await
        .expect("read")
        .expect("found");
    assert_eq!(found.fields, session_fields);
    assert_eq!(
        owner.fields.get("pluginFlag"),
        Some(&FieldValue::Bool(true))
    );
    let by_email = store
        .find_by_email(&user.email)
        .await
        .expect("read")
        .expect("user");
    assert_eq!(by_email.fields, owner.fields);

    let mut cleared = Fields::default();
    cleared.set("activeOrganizationId", FieldValue::Null);
    store
        .update_session_fields(&session.id, &cleared)
        .await
        .expect("update");
    let listed = store.list_active(&user.id, now).await.expect("list");
    assert_eq!(
        listed[0].fields.get("activeOrganizationId"),
        Some(&FieldValue::Null)
    );
    let mut unflag = Fields::default();
    unflag.set("pluginFlag", FieldValue::Bool(false));
    store
        .update_user_fields(&user.id, &unflag)
        .await
        .expect("user update");
    let reread = store
        .find_by_id(&user.id)
        .await
        .expect("read")
        .expect("user");
    assert_eq!(
        reread.fields.get("pluginFlag"),
        Some(&FieldValue::Bool(false))
    );

    let missing = auth_domain::SessionId::new("no-such-session".to_owned());
    assert!(matches!(
        store.update_session_fields(&missing, &cleared).await,
        Err(PortError::NotFound)
    ));
    let nobody = auth_domain::UserId::new("nobody".to_owned());
    assert!(matches!(
        store.update_user_fields(&nobody, &unflag).await,
        Err(PortError::NotFound)
    ));
    // A store that knows no fields still reads the rows.
    let unaware = db.store().await;
    assert!(
        unaware
            .find_with_user(&session.token)
            .await
            .expect("read")
            .is_some()
    );
    store.close().await;
}

#[tokio::test]
async fn plugin_fields_round_trip_on_sqlite() {
    let db = TestDatabase::sqlite();
    plugin_fields_round_trip(&db).await;
    db.cleanup().await;
}

#[tokio::test]
async fn plugin_fields_round_trip_on_postgres() {
    let Some(db) = TestDatabase::postgres().await else {
        return;
    };
    plugin_fields_round_trip(&db).await;
    db.cleanup().await;
}

#[tokio::test]
async fn sqlite_store_passes_the_api_key_suite() {
    let db = TestDatabase::sqlite();
    let store = db.store().await;
    auth_testkit::conformance::run_api_key_suite(&store).await;
    db.cleanup().await;
}

#[tokio::test]
async fn postgres_store_passes_the_api_key_suite() {
    let Some(db) = TestDatabase::postgres().await else {
        return;
    };
    let store = db.store().await;
    auth_testkit::conformance::run_api_key_suite(&store).await;
    db.cleanup().await;
}

/// An `apikey` row exactly as `@better-auth/api-key` 1.7.5 writes it on SQLite through Kysely:
/// ISO text dates, booleans as 0/1, permissions and metadata as JSON text, the key as its
/// SHA-256 digest.
const BETTER_AUTH_APIKEY_ROW: &str = r#"
INSERT INTO "apikey" ("id","configId","name","start","referenceId","prefix","key","refillInterval","refillAmount",
  "lastRefillAt","enabled","rateLimitEnabled","rateLimitTimeWindow","rateLimitMax","requestCount","remaining",
  "lastRequest","expiresAt","createdAt","updatedAt","permissions","metadata")
  VALUES ('BaKey00000000000000000000000001','default','ci','ba_ZSd','BaUser0000000000000000000000001','ba_',
          'z-gz-VM_knyz8N_SZ3l9SJQjnXRfEzzBFQYSt-ngfhM',NULL,NULL,NULL,1,1,86400000,10,2,NULL,
          '2026-11-25T08:35:00.001Z',NULL,'2026-11-25T08:31:47.755Z','2026-11-25T08:35:00.001Z',
          '{"files":["read"]}','{"team":"ops"}');
"#;

#[tokio::test]
async fn apikey_rows_written_by_better_auth_on_sqlite_are_read_back_intact() {
    let db = TestDatabase::sqlite();
    let store = db.store().await;
    let raw = Database::connect(db.url.as_str()).await.expect("connect");
    raw.execute_unprepared(BETTER_AUTH_APIKEY_ROW)
        .await
        .expect("insert Better-Auth row");
    let key = auth_ports::ApiKeyRepo::find_by_digest(
        &store,
        "z-gz-VM_knyz8N_SZ3l9SJQjnXRfEzzBFQYSt-ngfhM",
    )
    .await
    .expect("read")
    .expect("found by digest");
    assert_eq!(key.id, "BaKey00000000000000000000000001");
    assert_eq!(key.reference_id, "BaUser0000000000000000000000001");
    assert!(key.enabled && key.rate_limit_enabled);
    assert_eq!(key.rate_limit_time_window, Some(time::Duration::days(1)));
    assert_eq!((key.rate_limit_max, key.request_count), (Some(10), 2));
    assert_eq!(key.last_request.map(|at| at.millisecond()), Some(1));
    assert_eq!(
        key.permissions.map(|permissions| permissions.0),
        Some([("files".to_owned(), vec!["read".to_owned()])].into())
    );
    assert_eq!(key.metadata.as_deref(), Some(r#"{"team":"ops"}"#));
    db.cleanup().await;
}

/// Organization rows as Better-Auth writes them, two users, one of each table.
const ORGANIZATION_ROWS: &str = r#"
INSERT INTO "user" ("id","name","email","emailVerified","createdAt","updatedAt")
  VALUES ('u1','Ada','ada@example.com',false,'2026-11-25T08:31:47.755Z','2026-11-25T08:31:47.755Z'),
         ('u2','Bob','bob@example.com',false,'2026-11-25T08:31:47.755Z','2026-11-25T08:31:47.755Z');
INSERT INTO "organization" ("id","name","slug","logo","createdAt","metadata")
  VALUES ('o1','Acme','acme',NULL,'2026-11-25T08:31:47.755Z','{"plan":"pro"}');
INSERT INTO "member" ("id","organizationId","userId","role","createdAt")
  VALUES ('m1','o1','u1','owner','2026-11-25T08:31:47.755Z'),
         ('m2','o1','u2','member','2026-11-25T08:31:47.755Z');
INSERT INTO "invitation" ("id","organizationId","email","role","teamId","status","expiresAt","createdAt","inviterId")
  VALUES ('i1','o1','cy@example.com','admin',NULL,'pending','2026-11-27T08:31:47.755Z','2026-11-25T08:31:47.755Z','u1');
INSERT INTO "team" ("id","name","memberCount","organizationId","createdAt","updatedAt")
  VALUES ('t1','Core',1,'o1','2026-11-25T08:31:47.755Z',NULL);
INSERT INTO "teamMember" ("id","teamId","userId","membershipKey","createdAt")
  VALUES ('tm1','t1','u2','k1','2026-11-25T08:31:47.755Z');
INSERT INTO "organizationRole" ("id","organizationId","role","permission","createdAt","updatedAt")
  VALUES ('r1','o1','support','{"member":["update"]}','2026-11-25T08:31:47.755Z',NULL);
"#;

async fn organization_tables_cascade(db: &TestDatabase) {
    let _store = db.store().await;
    db.execute(ORGANIZATION_ROWS).await;
    let count = |table: &str| format!(r#"SELECT COUNT(*) AS n FROM "{table}""#);
    for table in [
        "member",
        "invitation",
        "team",
        "teamMember",
        "organizationRole",
    ] {
        assert!(db.query_count(&count(table)).await > 0, "{table} has rows");
    }
    let duplicate = Database::connect(db.url.as_str())
        .await
        .expect("connect")
        .execute_unprepared(
            r#"INSERT INTO "member" ("id","organizationId","userId","role","createdAt")
               VALUES ('m3','o1','u1','admin','2026-11-25T08:31:47.755Z')"#,
        )
        .await;
    assert!(
        duplicate.is_err(),
        "a second membership of one user is refused"
    );

    db.execute(r#"DELETE FROM "user" WHERE "id" = 'u2'"#).await;
    assert_eq!(
        db.query_count(&count("member")).await,
        1,
        "u2's membership went"
    );
    assert_eq!(
        db.query_count(&count("teamMember")).await,
        0,
        "and its team seat"
    );

    db.execute(r#"DELETE FROM "organization" WHERE "id" = 'o1'"#)
        .await;
    for table in ["member", "invitation", "team", "organizationRole"] {
        assert_eq!(db.query_count(&count(table)).await, 0, "{table} emptied");
    }
    assert_eq!(db.query_count(&count("user")).await, 1, "users stay");
}

/// Better-Auth reserves team seats with `team.memberCount`: the store keeps it equal to the
/// seats taken, whoever adds or removes them.
async fn the_team_seat_counter_follows_the_seats(db: &TestDatabase) {
    use auth_domain::organization::TeamMember;
    use auth_ports::{OrganizationRepo as _, TeamRepo as _};
    let store = db.store().await;
    db.execute(ORGANIZATION_ROWS).await;
    let counter = r#"SELECT CAST("memberCount" AS BIGINT) AS n FROM "team" WHERE "id" = 't1'"#;
    assert_eq!(db.query_count(counter).await, 1);
    let seat = TeamMember {
        id: "tm2".to_owned(),
        team_id: "t1".to_owned(),
        user_id: auth_domain::UserId::new("u1"),
        created_at: None,
    };
    store.add_team_member(&seat, 10).await.expect("seat");
    assert_eq!(db.query_count(counter).await, 2, "a seat taken counts");
    assert!(
        store
            .remove_team_member("t1", &auth_domain::UserId::new("u2"))
            .await
            .expect("remove")
    );
    assert_eq!(db.query_count(counter).await, 1, "a seat freed counts");
    // The kept role is one nobody holds, so the last owner may go.
    store.remove_member("m1", "keeper").await.expect("remove");
    assert_eq!(
        db.query_count(counter).await,
        0,
        "leaving the organization frees the seat"
    );
}

#[tokio::test]
async fn the_team_seat_counter_follows_the_seats_on_sqlite() {
    let db = TestDatabase::sqlite();
    the_team_seat_counter_follows_the_seats(&db).await;
    db.cleanup().await;
}

#[tokio::test]
async fn the_team_seat_counter_follows_the_seats_on_postgres() {
    let Some(db) = TestDatabase::postgres().await else {
        return;
    };
    the_team_seat_counter_follows_the_seats(&db).await;
    db.cleanup().await;
}

#[tokio::test]
async fn organization_tables_take_better_auth_rows_and_cascade_on_sqlite() {
    let db = TestDatabase::sqlite();
    organization_tables_cascade(&db).await;
    db.cleanup().await;
}

#[tokio::test]
async fn organization_tables_take_better_auth_rows_and_cascade_on_postgres() {
    let Some(db) = TestDatabase::postgres().await else {
        return;
    };
    organization_tables_cascade(&db).await;
    db.cleanup().await;
}

/// A database whose organization tables keep no cascading foreign keys (an adopted schema
/// that another tool made): deleting an organization through the store still leaves nothing
/// of it behind, its teams' seats included.
#[tokio::test]
async fn deleting_an_organization_leaves_nothing_of_it_without_cascading_keys_on_postgres() {
    let Some(db) = TestDatabase::postgres().await else {
        return;
    };
    let store = db.store().await;
    db.execute(
        r#"DO $$ DECLARE r record; BEGIN
             FOR r IN SELECT conrelid::regclass AS t, conname FROM pg_constraint
                      WHERE contype = 'f'
                        AND confrelid IN ('"organization"'::regclass, '"team"'::regclass)
             LOOP EXECUTE format('ALTER TABLE %s DROP CONSTRAINT %I', r.t, r.conname); END LOOP;
           END $$;"#,
    )
    .await;
    db.execute(ORGANIZATION_ROWS).await;
    let members = auth_ports::OrganizationRepo::delete(&store, "o1")
        .await
        .expect("delete");
    assert_eq!(members.len(), 2, "both members are told");
    for table in [
        "organization",
        "member",
        "invitation",
        "team",
        "teamMember",
        "organizationRole",
    ] {
        let count = format!(r#"SELECT COUNT(*) AS n FROM "{table}""#);
        assert_eq!(db.query_count(&count).await, 0, "{table} emptied");
    }
    db.cleanup().await;
}

#[tokio::test]
async fn sqlite_store_passes_the_two_factor_suite() {
    let db = TestDatabase::sqlite();
    run_two_factor_suite(Arc::new(db.store().await)).await;
    db.cleanup().await;
}

#[tokio::test]
async fn postgres_store_passes_the_two_factor_suite() {
    let Some(db) = TestDatabase::postgres().await else {
        return;
    };
    run_two_factor_suite(Arc::new(db.store().await)).await;
    db.cleanup().await;
}

#[tokio::test]
async fn sqlite_store_passes_the_organization_suite() {
    let db = TestDatabase::sqlite();
    run_organization_suite(Arc::new(db.store().await)).await;
    db.cleanup().await;
}

#[tokio::test]
async fn postgres_store_passes_the_organization_suite() {
    let Some(db) = TestDatabase::postgres().await else {
        return;
    };
    run_organization_suite(Arc::new(db.store().await)).await;
    db.cleanup().await;
}
