//! The one place where the tracing subscriber is installed: log lines (pretty or JSON) and,
//! with the `otel` feature and `AUTH_OTEL_ENDPOINT`, the spans exported over OTLP.

use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{EnvFilter, Layer};

use crate::config::{AppConfig, LogFormat};

/// What the subscriber holds beyond the process's lifetime: the span exporter, when there is
/// one. [`Telemetry::shutdown`] sends the spans still queued.
#[must_use = "shut it down at exit, or queued spans are lost"]
pub struct Telemetry {
    #[cfg(feature = "otel")]
    provider: Option<opentelemetry_sdk::trace::SdkTracerProvider>,
}

impl Telemetry {
    /// Sends the spans still queued (within the exporter's timeout) and stops exporting. It
    /// blocks: call it off the async runtime (`spawn_blocking`) or after it.
    pub fn shutdown(self) {
        #[cfg(feature = "otel")]
        if let Some(provider) = self.provider
            && let Err(error) = provider.shutdown()
        {
            tracing::warn!(%error, "exporting the last spans failed");
        }
    }
}

/// The log filter: `AUTH_LOG`, else `RUST_LOG`, else `info`.
fn filter(config: &AppConfig) -> EnvFilter {
    let filter = config
        .log
        .clone()
        .or_else(|| std::env::var("RUST_LOG").ok())
        .unwrap_or_else(|| "info".to_owned());
    EnvFilter::try_new(&filter).unwrap_or_else(|_| EnvFilter::new("info"))
}

/// Installs the global subscriber: log lines through the filter, pretty or JSON, and the span
/// exporter when configured (through the same filter). A second call (tests) installs nothing.
///
/// # Errors
/// An exporter that cannot be built from the configuration.
pub fn init(config: &AppConfig) -> anyhow::Result<Telemetry> {
    let lines = match config.log_format {
        LogFormat::Json => tracing_subscriber::fmt::layer().json().boxed(),
        LogFormat::Pretty => tracing_subscriber::fmt::layer().boxed(),
    };
    let registry = tracing_subscriber::registry().with(lines.with_filter(filter(config)));
    #[cfg(feature = "otel")]
    {
        let exporter = config
            .otel_endpoint
            .as_deref()
            .map(otel::provider)
            .transpose()?;
        let layer = exporter.as_ref().map(|provider| {
            use opentelemetry::trace::TracerProvider as _;
            // Without context activation a span starts when it ends or gets a child, so that
            // the HTTP layer can still name the request's span after its route.
            tracing_opentelemetry::layer()
                .with_tracer(provider.tracer("auth-server"))
                .with_context_activation(false)
                .with_filter(filter(config))
        });
        let _ = registry.with(layer).try_init();
        Ok(Telemetry { provider: exporter })
    }
    #[cfg(not(feature = "otel"))]
    {
        let _ = registry.try_init();
        Ok(Telemetry {})
    }
}

/// `endpoint` with a span per request around it, when spans are exported.
pub(crate) fn traced(
    endpoint: poem::endpoint::BoxEndpoint<'static>,
    config: &AppConfig,
) -> poem::endpoint::BoxEndpoint<'static> {
    #[cfg(feature = "otel")]
    if config.otel_endpoint.is_some() {
        return poem::EndpointExt::boxed(poem::EndpointExt::with(endpoint, otel::TraceRequests));
    }
    let _ = config;
    endpoint
}

#[cfg(feature = "otel")]
mod otel {
    use std::time::Duration;

    use opentelemetry::propagation::{Extractor, TextMapPropagator};
    use opentelemetry_otlp::WithExportConfig;
    use opentelemetry_sdk::propagation::TraceContextPropagator;
    use opentelemetry_sdk::trace::SdkTracerProvider;
    use poem::{Endpoint, IntoResponse, Middleware, Request, Response};
    use tracing::Instrument;
    use tracing_opentelemetry::OpenTelemetrySpanExt;

    /// How long one export may take before it is given up (its spans are dropped).
    const EXPORT_TIMEOUT: Duration = Duration::from_secs(10);

    /// The tracer provider exporting to the collector at `endpoint` (`http://host:4318`; the
    /// spans go to `/v1/traces`), in batches from a thread of its own: a slow or absent
    /// collector never holds a request, and past the queue's bound spans are dropped.
    pub(super) fn provider(endpoint: &str) -> anyhow::Result<SdkTracerProvider> {
        let exporter = opentelemetry_otlp::SpanExporter::builder()
            .with_http()
            .with_protocol(opentelemetry_otlp::Protocol::HttpBinary)
            .with_endpoint(format!("{}/v1/traces", endpoint.trim_end_matches('/')))
            .with_timeout(EXPORT_TIMEOUT)
            .build()?;
        let name = std::env::var("OTEL_SERVICE_NAME").unwrap_or_else(|_| "auth-server".to_owned());
        let resource = opentelemetry_sdk::Resource::builder()
            .with_service_name(name)
            .build();
        // Every request is traced: a caller's `traceparent` names the trace, but its sampling
        // flag cannot switch tracing off for its own requests.
        Ok(SdkTracerProvider::builder()
            .with_sampler(opentelemetry_sdk::trace::Sampler::AlwaysOn)
            .with_batch_exporter(exporter)
            .with_resource(resource)
            .build())
    }

    /// A span per request (`otel.kind = server`), the child of the caller's span when the
    /// request carries a W3C `traceparent`. The HTTP layer names it after its route.
    pub(super) struct TraceRequests;

    impl<E: Endpoint> Middleware<E> for TraceRequests {
        type Output = Traced<E>;

        fn transform(&self, inner: E) -> Self::Output {
            Traced(inner)
        }
    }

    pub(super) struct Traced<E>(E);

    /// The request's headers, as the propagator reads them.
    struct Headers<'a>(&'a poem::http::HeaderMap);

    impl Extractor for Headers<'_> {
        fn get(&self, key: &str) -> Option<&str> {
            self.0.get(key).and_then(|value| value.to_str().ok())
        }

        fn keys(&self) -> Vec<&str> {
            self.0.keys().map(poem::http::HeaderName::as_str).collect()
        }
    }

    impl<E: Endpoint> Endpoint for Traced<E> {
        type Output = Response;

        async fn call(&self, request: Request) -> poem::Result<Response> {
            let method = auth_http_poem::method_label(request.method());
            let span = tracing::info_span!(
                "request",
                otel.name = method,
                otel.kind = "server",
                otel.status_code = tracing::field::Empty,
                http.request.method = method,
                http.route = tracing::field::Empty,
                http.response.status_code = tracing::field::Empty,
            );
            let parent = TraceContextPropagator::new().extract(&Headers(request.headers()));
            let _ = span.set_parent(parent);
            let response = match self.0.call(request).instrument(span.clone()).await {
                Ok(response) => response.into_response(),
                Err(error) => error.into_response(),
            };
            let status = response.status();
            span.record("http.response.status_code", i64::from(status.as_u16()));
            if status.is_server_error() {
                span.record("otel.status_code", "ERROR");
            }
            Ok(response)
        }
    }
}
