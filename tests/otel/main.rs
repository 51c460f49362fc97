//! The `otel` feature: spans exported over OTLP/HTTP to a receiver this test starts on
//! loopback, one span per request named after its route, the child of the caller's W3C
//! `traceparent`, with the use case's span below it, and a failing route's span marked as an
//! error. A test binary of its own: it installs the process's global subscriber.
//! Must not depend on: internals of the server; only `auth_app` and HTTP.
#![allow(clippy::expect_used, reason = "a test binary: broken fixtures panic")]

use std::sync::{Arc, Mutex};

use auth_app::{AppConfig, Application, Overrides};
use auth_store_seaorm::test_db::TestDatabase;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::any_value::Value as Any;
use opentelemetry_proto::tonic::trace::v1::Span;
use opentelemetry_proto::tonic::trace::v1::span::SpanKind;
use poem::web::Data;
use poem::{EndpointExt, Route, handler, post};
use prost::Message;
use serde_json::json;

/// What the receiver was sent: each export's decoded body.
type Received = Arc<Mutex<Vec<ExportTraceServiceRequest>>>;

#[handler]
fn receive(body: Vec<u8>, received: Data<&Received>) -> poem::Response {
    let request = ExportTraceServiceRequest::decode(body.as_slice()).expect("an OTLP request");
    received.lock().expect("lock").push(request);
    poem::Response::builder()
        .content_type("application/x-protobuf")
        .body(Vec::new())
}

/// A minimal OTLP/HTTP receiver on loopback: its address and what it received.
async fn receiver() -> (String, Received) {
    let received = Received::default();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let address = format!("http://{}", listener.local_addr().expect("addr"));
    let app = Route::new()
        .at("/v1/traces", post(receive))
        .data(received.clone());
    tokio::spawn(async move {
        let listener = poem::listener::TcpAcceptor::from_tokio(listener).expect("acceptor");
        let _ = poem::Server::new_with_acceptor(listener).run(app).await;
    });
    (address, received)
}

fn attribute<'a>(span: &'a Span, key: &str) -> Option<&'a Any> {
    span.attributes
        .iter()
        .find(|attribute| attribute.key == key)
        .and_then(|attribute| attribute.value.as_ref()?.value.as_ref())
}

const TRACE_ID: &str = "4bf92f3577b34da6a3ce929d0e0e4736";
const CALLER_SPAN: &str = "00f067aa0ba902b7";

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_request_is_exported_as_a_server_span_under_the_callers_trace() {
    let (collector, received) = receiver().await;
    let database = TestDatabase::sqlite();
    let config = AppConfig {
        secret: Some("an-otel-test-secret-of-at-least-32-bytes".to_owned()),
        database_url: database.url.clone(),
        bind: "127.0.0.1:0".to_owned(),
        otel_endpoint: Some(collector),
        ..AppConfig::default()
    };
    let telemetry = auth_app::telemetry::init(&config).expect("the exporter is built");
    // An application route beside the API that fails: its span is marked as an error.
    let failing = poem::get(poem::endpoint::make_sync(|_| {
        poem::http::StatusCode::INTERNAL_SERVER_ERROR
    }))
    .boxed();
    let overrides = Overrides {
        routes: vec![("/v1/failing".to_owned(), Arc::new(failing))],
        ..Overrides::default()
    };
    let app = Application::build(config, overrides)
        .await
        .expect("the app builds");
    let address = format!("http://127.0.0.1:{}", app.port());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(app.run_until(async {
        let _ = stopped.await;
    }));

    let client = reqwest::Client::new();
    let signed_up = client
        .post(format!("{address}/api/auth/sign-up/email"))
        .header("traceparent", format!("00-{TRACE_ID}-{CALLER_SPAN}-01"))
        .json(&json!({"name": "Ada", "email": "ada@example.com", "password": "password-123"}))
        .send()
        .await
        .expect("sign-up");
    assert_eq!(signed_up.status(), 200);
    let junk = client
        .post(format!("{address}/api/auth/sign-in/email"))
        .header("traceparent", "00-not-a-trace-01")
        .body("{")
        .header("content-type", "application/json")
        .send()
        .await
        .expect("sign-in");
    assert_eq!(
        junk.status(),
        400,
        "a bad traceparent starts a trace of its own"
    );

    let failed = client
        .get(format!("{address}/v1/failing"))
        .send()
        .await
        .expect("failing route");
    assert_eq!(failed.status(), 500);

    let _ = stop.send(());
    let _ = server.await;
    tokio::task::spawn_blocking(move || telemetry.shutdown())
        .await
        .expect("shut down");

    let exports = received.lock().expect("lock").clone();
    assert!(!exports.is_empty(), "the spans reached the receiver");
    let service = exports[0].resource_spans[0]
        .resource
        .as_ref()
        .and_then(|resource| {
            resource
                .attributes
                .iter()
                .find(|attribute| attribute.key == "service.name")
        })
        .and_then(|attribute| attribute.value.as_ref()?.value.clone());
    assert_eq!(service, Some(Any::StringValue("auth-server".to_owned())));
    let spans: Vec<Span> = exports
        .into_iter()
        .flat_map(|export| export.resource_spans)
        .flat_map(|resource| resource.scope_spans)
        .flat_map(|scope| scope.spans)
        .collect();
    let names: Vec<&str> = spans.iter().map(|span| span.name.as_str()).collect();

    let request = spans
        .iter()
        .find(|span| span.name == "POST /sign-up/email")
        .unwrap_or_else(|| panic!("the request's span, named after its route, in {names:?}"));
    assert_eq!(request.kind, SpanKind::Server as i32);
    assert_eq!(hex(&request.trace_id), TRACE_ID, "the caller's trace");
    assert_eq!(
        hex(&request.parent_span_id),
        CALLER_SPAN,
        "the caller's span"
    );
    assert_eq!(
        attribute(request, "http.route"),
        Some(&Any::StringValue("/sign-up/email".to_owned()))
    );
    assert_eq!(
        attribute(request, "http.response.status_code"),
        Some(&Any::IntValue(200))
    );
    let use_case = spans
        .iter()
        .find(|span| span.name == "sign_up_email")
        .unwrap_or_else(|| panic!("the use case's span in {names:?}"));
    assert_eq!(
        use_case.parent_span_id, request.span_id,
        "below the request"
    );
    assert_eq!(use_case.trace_id, request.trace_id);

    let refused = spans
        .iter()
        .find(|span| span.name == "POST /sign-in/email")
        .unwrap_or_else(|| panic!("the refused request's span in {names:?}"));
    assert_ne!(hex(&refused.trace_id), TRACE_ID, "a trace of its own");
    assert!(refused.parent_span_id.is_empty(), "a root span");
    assert_eq!(
        attribute(refused, "http.response.status_code"),
        Some(&Any::IntValue(400))
    );
    let unset = opentelemetry_proto::tonic::trace::v1::status::StatusCode::Unset as i32;
    let error = opentelemetry_proto::tonic::trace::v1::status::StatusCode::Error as i32;
    let status = |span: &Span| span.status.as_ref().map_or(unset, |status| status.code);
    assert_eq!(
        status(refused),
        unset,
        "a 4xx is the client's error, not the server's"
    );
    let failed = spans
        .iter()
        .find(|span| attribute(span, "http.response.status_code") == Some(&Any::IntValue(500)))
        .unwrap_or_else(|| panic!("the failing route's span in {names:?}"));
    assert_eq!(status(failed), error, "a 5xx marks the span as an error");
    database.cleanup().await;
}
