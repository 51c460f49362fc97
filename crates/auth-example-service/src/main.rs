//! auth-example-service binary: serves the example on `EXAMPLE_BIND` (`127.0.0.1:4000`),
//! trusting the auth server at `EXAMPLE_AUTH_URL` (`http://127.0.0.1:3000`) whose tokens name
//! `EXAMPLE_AUTH_ISSUER` (its base URL; the auth URL when unset) as issuer and audience.
//! Must not depend on: any workspace crate but auth-guard and the example library.

use auth_example_service::{ExampleConfig, app};
use poem::Server;
use poem::listener::TcpListener;

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let bind = std::env::var("EXAMPLE_BIND").unwrap_or_else(|_| "127.0.0.1:4000".to_owned());
    let auth_url =
        std::env::var("EXAMPLE_AUTH_URL").unwrap_or_else(|_| "http://127.0.0.1:3000".to_owned());
    let issuer = std::env::var("EXAMPLE_AUTH_ISSUER").unwrap_or_else(|_| auth_url.clone());
    let config = ExampleConfig {
        auth_url,
        issuer,
        keys: auth_guard::RemoteKeysConfig::default(),
    };
    Server::new(TcpListener::bind(bind)).run(app(&config)).await
}
