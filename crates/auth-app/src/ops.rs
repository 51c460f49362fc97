//! Operations endpoints (`/health/live`, `/health/ready`, `/metrics`) and background upkeep.

use std::sync::{Arc, OnceLock};
use std::time::Duration;

use auth_core::Auth;
use auth_store_seaorm::SeaOrmStore;
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};
use poem::http::StatusCode;
use poem::web::Json;
use poem::{EndpointExt, IntoResponse, Request, Response, Route, get, handler};
use serde_json::{Value, json};
use subtle::ConstantTimeEq as _;

use crate::AppConfig;

/// How long a readiness probe waits for each dependency.
const READY_TIMEOUT: Duration = Duration::from_secs(1);

/// Installs the process-wide Prometheus recorder, once.
pub(crate) fn install_recorder() {
    prometheus();
}

/// How often the recorder's histograms are drained when nothing scrapes them.
const UPKEEP_INTERVAL: Duration = Duration::from_secs(5);

/// The name of the thread that drains the recorder.
const UPKEEP_THREAD: &str = "metrics-upkeep";

/// The process-wide Prometheus recorder (one per process, however many servers it runs).
///
/// A histogram sample waits in the recorder until it is drained into its buckets, which a
/// scrape does; a server nobody scrapes would keep every request's sample (16 bytes each, a
/// gigabyte an hour at 20 000 requests a second). A thread of its own drains them every
/// [`UPKEEP_INTERVAL`], off the async workers.
fn prometheus() -> &'static PrometheusHandle {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    HANDLE.get_or_init(|| {
        let builder = PrometheusBuilder::new();
        let builder = builder
            .set_buckets(&[
                0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
            ])
            .unwrap_or_else(|_| PrometheusBuilder::new());
        let recorder = builder.build_recorder();
        let handle = recorder.handle();
        if metrics::set_global_recorder(recorder).is_err() {
            tracing::warn!("a metrics recorder was already installed; /metrics may be empty");
        }
        let drained = handle.clone();
        let upkeep = std::thread::Builder::new()
            .name(UPKEEP_THREAD.to_owned())
            .spawn(move || {
                loop {
                    #[expect(
                        clippy::disallowed_methods,
                        reason = "a thread of its own, not a runtime worker"
                    )]
                    std::thread::sleep(UPKEEP_INTERVAL);
                    drained.run_upkeep();
                }
            });
        if let Err(error) = upkeep {
            tracing::warn!(%error, "the metrics upkeep thread did not start; scrape /metrics to bound its memory");
        }
        handle
    })
}

struct Dependencies {
    store: SeaOrmStore,
    redis: Option<deadpool_redis::Pool>,
    metrics_token: Option<String>,
    rotation: auth_domain::KeyRotationPolicy,
}

/// The operations routes: health (mounted at the root beside `/api/auth`) and `/metrics`,
/// which goes beside them too unless `metrics_bind` gives it a listener of its own.
pub(crate) struct Routes {
    /// Mounted beside the auth API.
    pub(crate) main: Route,
    /// `/metrics` alone, for its own listener (when `metrics_bind` is set and metrics are on).
    pub(crate) metrics: Option<Route>,
}

pub(crate) fn routes(
    config: &AppConfig,
    store: SeaOrmStore,
    redis: Option<deadpool_redis::Pool>,
) -> Routes {
    let dependencies = Arc::new(Dependencies {
        store,
        redis,
        metrics_token: config.metrics_token.clone(),
        rotation: crate::jwt::rotation_policy(config),
    });
    let mut main = Route::new()
        .at("/health/live", get(live))
        .at("/health/ready", get(ready).data(dependencies.clone()));
    if !config.metrics_enabled {
        return Routes {
            main,
            metrics: None,
        };
    }
    prometheus();
    auth_core::metrics::register();
    auth_store_seaorm::register_metrics();
    if dependencies.redis.is_some() {
        auth_cache_redis::register_metrics();
        auth_ratelimit::register_metrics();
    }
    let metrics = get(metrics_endpoint).data(dependencies);
    if config.metrics_bind.is_some() {
        return Routes {
            main,
            metrics: Some(Route::new().at("/metrics", metrics)),
        };
    }
    main = main.at("/metrics", metrics);
    Routes {
        main,
        metrics: None,
    }
}

#[handler]
fn live() -> Json<Value> {
    Json(json!({"status": "ok"}))
}

async fn check_redis(pool: &deadpool_redis::Pool) -> bool {
    let ping = async {
        let mut connection = pool.get().await.ok()?;
        deadpool_redis::redis::cmd("PING")
            .query_async::<String>(&mut connection)
            .await
            .ok()
    };
    matches!(tokio::time::timeout(READY_TIMEOUT, ping).await, Ok(Some(_)))
}

#[handler]
async fn ready(dependencies: poem::web::Data<&Arc<Dependencies>>) -> Response {
    let (database, redis) = check_dependencies(&dependencies).await;
    let mut checks = json!({"database": if database { "ok" } else { "unavailable" }});
    // Without Redis the service still works (limits in memory, sessions from the database):
    // it is degraded, not unready, so an orchestrator keeps routing to it.
    let mut degraded = false;
    if let Some(redis) = redis {
        checks["redis"] = json!(if redis { "ok" } else { "unavailable" });
        degraded = !redis;
    }
    let (status, word) = match (database, degraded) {
        (false, _) => (StatusCode::SERVICE_UNAVAILABLE, "unavailable"),
        (true, true) => (StatusCode::OK, "degraded"),
        (true, false) => (StatusCode::OK, "ok"),
    };
    let body = json!({"status": word, "checks": checks});
    Json(body).with_status(status).into_response()
}

/// Whether the database and Redis (when configured) answer, each within [`READY_TIMEOUT`]; as
/// `auth_dependency_up{dependency}` too.
async fn check_dependencies(dependencies: &Dependencies) -> (bool, Option<bool>) {
    let database = matches!(
        tokio::time::timeout(READY_TIMEOUT, dependencies.store.ping()).await,
        Ok(Ok(()))
    );
    let up = |answers: bool| if answers { 1.0 } else { 0.0 };
    metrics::gauge!("auth_dependency_up", "dependency" => "database").set(up(database));
    let redis = match &dependencies.redis {
        Some(pool) => Some(check_redis(pool).await),
        None => None,
    };
    if let Some(redis) = redis {
        metrics::gauge!("auth_dependency_up", "dependency" => "redis").set(up(redis));
    }
    (database, redis)
}

#[handler]
async fn metrics_endpoint(
    request: &Request,
    dependencies: poem::web::Data<&Arc<Dependencies>>,
) -> Response {
    if let Some(token) = &dependencies.metrics_token {
        let expected = format!("Bearer {token}");
        let given = request
            .headers()
            .get("authorization")
            .map(|v| v.as_bytes())
            .unwrap_or_default();
        if !bool::from(given.ct_eq(expected.as_bytes())) {
            let body = json!({"code": "UNAUTHORIZED", "message": "Unauthorized"});
            return Json(body)
                .with_status(StatusCode::UNAUTHORIZED)
                .into_response();
        }
    }
    check_dependencies(&dependencies).await;
    sample_signing_keys(&dependencies).await;
    let (size, idle) = dependencies.store.pool_status();
    metrics::gauge!("auth_db_pool_connections", "state" => "open").set(f64::from(size));
    metrics::gauge!("auth_db_pool_connections", "state" => "idle").set(idle as f64);
    if let Some(pool) = &dependencies.redis {
        let status = pool.status();
        metrics::gauge!("auth_redis_pool_connections", "state" => "open").set(status.size as f64);
        metrics::gauge!("auth_redis_pool_connections", "state" => "idle")
            .set(status.available as f64);
    }
    // Reading `/proc` is blocking file I/O (one entry per open socket for the descriptor
    // count): off the async workers.
    let _ = tokio::task::spawn_blocking(sample_process).await;
    Response::builder()
        .content_type("text/plain; version=0.0.4")
        .body(prometheus().render())
}

/// `auth_signing_key_expires_in_seconds{use}`: how long the key that signs JWTs (or PASETOs)
/// has left before the next one takes over, for keys that expire.
async fn sample_signing_keys(dependencies: &Dependencies) {
    use auth_ports::{Clock as _, JwksRepo as _};
    let Ok(Ok(keys)) = tokio::time::timeout(READY_TIMEOUT, dependencies.store.list_all()).await
    else {
        return;
    };
    let now = auth_crypto::SystemClock.now();
    let uses = [
        (auth_domain::KeyUse::Jwt, "jwt"),
        (auth_domain::KeyUse::PasetoPublic, "paseto"),
    ];
    for (key_use, label) in uses {
        let expires = dependencies
            .rotation
            .signing_key(&keys, key_use, now)
            .and_then(|key| key.expires_at);
        if let Some(expires) = expires {
            metrics::gauge!("auth_signing_key_expires_in_seconds", "use" => label)
                .set((expires - now).as_seconds_f64());
        }
    }
}

/// The process's own figures, read from `/proc` at each scrape (Linux; elsewhere absent):
/// resident memory, CPU time, open and allowed file descriptors.
fn sample_process() {
    if let Some(resident) = proc_status_kib("VmRSS:") {
        metrics::gauge!("process_resident_memory_bytes").set(resident * 1024.0);
    }
    if let Ok(stat) = std::fs::read_to_string("/proc/self/stat") {
        // After the command name (in parentheses, which may hold spaces): utime and stime are
        // the 12th and 13th fields, in clock ticks of 1/100 s (USER_HZ, fixed by the ABI).
        let ticks: f64 = stat
            .rsplit_once(')')
            .map(|(_, rest)| rest.split_whitespace().skip(11).take(2))
            .into_iter()
            .flatten()
            .filter_map(|field| field.parse::<f64>().ok())
            .sum();
        // A counter: whole seconds (the exporter's counters are integers).
        metrics::counter!("process_cpu_seconds_total").absolute((ticks / 100.0) as u64);
    }
    if let Ok(entries) = std::fs::read_dir("/proc/self/fd") {
        metrics::gauge!("process_open_fds").set(entries.count() as f64);
    }
    let limit = std::fs::read_to_string("/proc/self/limits")
        .ok()
        .and_then(|limits| {
            let line = limits
                .lines()
                .find(|line| line.starts_with("Max open files"))?
                .to_owned();
            line.split_whitespace().nth(3)?.parse::<f64>().ok()
        });
    if let Some(limit) = limit {
        metrics::gauge!("process_max_fds").set(limit);
    }
}

/// A `kB` figure of `/proc/self/status`.
fn proc_status_kib(field: &str) -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|line| line.starts_with(field))?;
    line[field.len()..]
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .ok()
}

/// `auth_build_info`: 1, labelled with the version and the plugins on.
pub(crate) fn record_build_info(plugins: &str) {
    metrics::gauge!(
        "auth_build_info",
        "version" => env!("CARGO_PKG_VERSION"),
        "plugins" => plugins.to_owned()
    )
    .set(1.0);
}

/// Once at start and then hourly: deletes audit events past the retention period (none when
/// `audit_days` is 0) and verification records that expired over a day ago.
pub(crate) fn spawn_housekeeping(auth: Auth, audit_days: i64) {
    tokio::spawn(async move {
        let mut interval = tokio::time::interval(Duration::from_secs(3600));
        loop {
            interval.tick().await;
            if audit_days > 0 {
                match auth
                    .purge_audit_events(time::Duration::days(audit_days))
                    .await
                {
                    Ok(0) => {}
                    Ok(count) => tracing::info!(count, "old audit events deleted"),
                    Err(error) => tracing::warn!(error = %error, "audit retention pass failed"),
                }
            }
            match auth.purge_expired_verifications().await {
                Ok(0) => {}
                Ok(count) => tracing::info!(count, "expired verification records deleted"),
                Err(error) => tracing::warn!(error = %error, "verification purge failed"),
            }
        }
    });
}
