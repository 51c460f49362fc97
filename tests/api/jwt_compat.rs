//! JWT keys and tokens shared with better-auth 1.7.25 (Node.js, `tests/js/jwt-compat.mjs`):
//! Better-Auth verifies our tokens and signs with the keys we stored (so it opens our sealed
//! private keys), and a key Better-Auth created is published by our JWKS and its tokens pass our
//! guard.

use std::process::Command;

use auth_app::{AppConfig, Application, Overrides};
use auth_domain::{Jwk, JwkId, StoredPrivateKey};
use auth_guard::{JwtVerifier, VerifierConfig};
use auth_ports::JwksRepo;
use auth_store_seaorm::test_db::TestDatabase;
use auth_store_seaorm::{SeaOrmStore, StoreConfig};
use serde_json::{Value, json};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::compat::{ensure_node_modules, repo_root};
use crate::helpers::{ORIGIN, SECRET, client};
use crate::jwt::verify;

fn iso(at: OffsetDateTime) -> String {
    at.format(&Rfc3339).expect("date")
}

fn row_json(key: &Jwk) -> Value {
    json!({
        "id": key.id.as_str(),
        "publicKey": key.public_key,
        "privateKey": key.private_key.expose(),
        "createdAt": iso(key.created_at),
        "expiresAt": key.expires_at.map(iso),
        "alg": key.alg,
        "crv": key.crv,
    })
}

fn row_from_json(row: &Value) -> Jwk {
    let text = |name: &str| row[name].as_str().expect(name).to_owned();
    let date = |value: &Value| {
        OffsetDateTime::parse(value.as_str().expect("date"), &Rfc3339).expect("date")
    };
    Jwk {
        id: JwkId::new(text("id")),
        public_key: text("publicKey"),
        private_key: StoredPrivateKey::new(text("privateKey")),
        created_at: date(&row["createdAt"]),
        expires_at: row.get("expiresAt").filter(|v| !v.is_null()).map(date),
        alg: row["alg"].as_str().map(str::to_owned),
        crv: row["crv"].as_str().map(str::to_owned),
    }
}

#[tokio::test]
async fn better_auth_verifies_our_tokens_signs_with_our_keys_and_its_keys_work_here() {
    let dir = repo_root().join("tests/js");
    if !ensure_node_modules(&dir) {
        return;
    }
    let database = TestDatabase::sqlite();
    let config = AppConfig {
        secret: Some(SECRET.to_owned()),
        database_url: database.url.clone(),
        bind: "127.0.0.1:0".to_owned(),
        base_url: Some(ORIGIN.to_owned()),
        ..AppConfig::default()
    };
    let app = Application::build(config, Overrides::default())
        .await
        .expect("app");
    let base = format!("http://127.0.0.1:{}/api/auth", app.port());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(app.run_until(async {
        let _ = stopped.await;
    }));
    let http = client(true);
    let signed_up: Value = http
        .post(format!("{base}/sign-up/email"))
        .json(&json!({"name": "Compat", "email": "compat@example.com", "password": "password-123"}))
        .send()
        .await
        .expect("sign-up")
        .json()
        .await
        .expect("json");
    let body: Value = http
        .get(format!("{base}/token"))
        .send()
        .await
        .expect("token")
        .json()
        .await
        .expect("json");
    let token = body["token"].as_str().expect("token").to_owned();

    let store = SeaOrmStore::connect(&StoreConfig::for_url(&database.url))
        .await
        .expect("store");
    let rows: Vec<Value> = store
        .list_all()
        .await
        .expect("rows")
        .iter()
        .map(row_json)
        .collect();
    assert_eq!(rows.len(), 1);
    let stored = rows[0]["privateKey"].as_str().expect("private key");
    assert!(
        stored.starts_with('"') && !stored.contains("\"d\""),
        "sealed at rest"
    );

    let input = json!({"secret": SECRET, "baseURL": ORIGIN, "rows": rows, "token": token});
    let input_path = std::env::temp_dir().join(format!("jwt-compat-{}.json", std::process::id()));
    std::fs::write(&input_path, input.to_string()).expect("input");
    let (script_dir, path) = (dir.clone(), input_path.clone());
    let output = tokio::task::spawn_blocking(move || {
        Command::new("node")
            .arg("jwt-compat.mjs")
            .arg(path)
            .current_dir(script_dir)
            .output()
    })
    .await
    .expect("join")
    .expect("node runs");
    let _ = std::fs::remove_file(&input_path);
    assert!(
        output.status.success(),
        "node failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let result: Value = serde_json::from_slice(&output.stdout).expect("json output");

    // Better-Auth's verifyJWT accepts our token.
    assert_eq!(result["verified"]["sub"], signed_up["user"]["id"]);
    assert_eq!(result["verified"]["email"], "compat@example.com");

    // Better-Auth opened our sealed private key and signed with it; our JWKS verifies that.
    let jwks: Value = http
        .get(format!("{base}/jwks"))
        .send()
        .await
        .expect("jwks")
        .json()
        .await
        .expect("json");
    let theirs_with_our_key = result["signedWithOurKey"].as_str().expect("token");
    let claims = verify(theirs_with_our_key, &jwks);
    assert_eq!(claims["sub"], "from-better-auth");

    // A key Better-Auth created: stored in our table, published by our JWKS, its tokens pass
    // the guard.
    let their_row = row_from_json(&result["theirRow"]);
    store
        .create(&their_row)
        .await
        .expect("insert Better-Auth's key");
    // A key made elsewhere is published within `JWKS_FRESHNESS` (the JWKS is served from a
    // snapshot of the key table).
    tokio::time::sleep(
        auth_core::JWKS_FRESHNESS.unsigned_abs() + std::time::Duration::from_millis(100),
    )
    .await;
    let verifier =
        JwtVerifier::remote(&format!("{base}/jwks"), &VerifierConfig::for_origin(ORIGIN));
    let their_claims = verifier
        .verify(result["theirToken"].as_str().expect("token"))
        .await
        .expect("Better-Auth's token verifies here");
    assert_eq!(their_claims.subject, "better-auth-user");

    store.close().await;
    let _ = stop.send(());
    let _ = server.await;
    database.cleanup().await;
}
