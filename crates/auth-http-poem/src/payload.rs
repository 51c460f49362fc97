//! The request payload and the success response of every route, shaped like better-call's.

use poem::http::{HeaderName, HeaderValue, StatusCode, header};
use poem::{FromRequest, IntoResponse, Request, RequestBody, Response};
use poem_openapi::registry::{
    MetaMediaType, MetaRequest, MetaResponse, MetaResponses, MetaSchema, MetaSchemaRef, Registry,
};
use poem_openapi::types::{ParseFromJSON, ToJSON, Type};
use poem_openapi::{ApiExtractor, ApiExtractorType, ApiResponse, ExtractParamOptions};
use serde::Serialize;
use serde_json::Value;

use crate::cookies::ResponseCookies;
use crate::error::ApiError;

/// A JSON request body with Better-Auth's error semantics: no body is
/// `[body] Invalid input: expected object, received undefined`, a wrong type is
/// `VALIDATION_ERROR`. (Size, media type and JSON syntax were checked by the body guard.)
#[derive(Debug, Clone)]
pub struct BaJson<T>(pub T);

fn type_name(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

impl<'a, T: ParseFromJSON + Type> ApiExtractor<'a> for BaJson<T> {
    const TYPES: &'static [ApiExtractorType] = &[ApiExtractorType::RequestObject];

    type ParamType = ();
    type ParamRawType = ();

    fn register(registry: &mut Registry) {
        T::register(registry);
    }

    fn request_meta() -> Option<MetaRequest> {
        Some(MetaRequest {
            description: None,
            content: vec![MetaMediaType {
                content_type: "application/json",
                schema: T::schema_ref(),
            }],
            required: true,
        })
    }

    async fn from_request(
        request: &'a Request,
        body: &mut RequestBody,
        _param_opts: ExtractParamOptions<Self::ParamType>,
    ) -> poem::Result<Self> {
        let data = <Vec<u8> as FromRequest>::from_request(request, body).await?;
        if data.is_empty() {
            return Err(ApiError::validation(
                "[body] Invalid input: expected object, received undefined",
            )
            .into());
        }
        let Ok(value) = serde_json::from_slice::<Value>(&data) else {
            return Err(invalid_json().into());
        };
        if !value.is_object() {
            let message = format!(
                "[body] Invalid input: expected object, received {}",
                type_name(&value)
            );
            return Err(ApiError::validation(message).into());
        }
        check_shape::<T>(&value)?;
        match T::parse_from_json(Some(value)) {
            Ok(parsed) => Ok(Self(parsed)),
            Err(error) => {
                Err(ApiError::validation(format!("[body] {}", error.into_message())).into())
            }
        }
    }
}

/// Checks the body against the DTO's schema as zod would: every required property present and
/// every property of the declared JSON type (poem-openapi alone would turn `5` into `"5"`), in
/// nested objects too. Issues read `[body.<path>] Invalid input: expected <type>, received
/// <type>`, joined by `; `.
fn check_shape<T: Type>(value: &Value) -> Result<(), ApiError> {
    let mut registry = Registry::new();
    T::register(&mut registry);
    let MetaSchemaRef::Reference(name) = T::schema_ref() else {
        return Ok(());
    };
    let mut issues = Vec::new();
    check_object(&registry, &name, value, "body", &mut issues);
    if issues.is_empty() {
        return Ok(());
    }
    Err(ApiError::validation(issues.join("; ")))
}

/// [`check_shape`] for one object of the schema named `name`, found at `path`.
fn check_object(
    registry: &Registry,
    name: &str,
    value: &Value,
    path: &str,
    issues: &mut Vec<String>,
) {
    let (Some(schema), Value::Object(object)) = (registry.schemas.get(name), value) else {
        return;
    };
    for (property, property_schema) in &schema.properties {
        let (expected, nested) = match property_schema {
            // A documented field of an object type: `allOf` its reference and its description.
            MetaSchemaRef::Inline(inline) => {
                let nested = inline.all_of.iter().find_map(|part| match part {
                    MetaSchemaRef::Reference(nested) => Some(nested.as_str()),
                    MetaSchemaRef::Inline(_) => None,
                });
                (
                    if nested.is_some() {
                        "object"
                    } else {
                        inline.ty
                    },
                    nested,
                )
            }
            MetaSchemaRef::Reference(nested) => ("object", Some(nested.as_str())),
        };
        let required = schema.required.contains(property);
        let received = match object.get(*property) {
            None if required => "undefined",
            None | Some(Value::Null) if !required => continue,
            Some(actual) => type_name(actual),
            None => continue,
        };
        let matches = match expected {
            "string" | "boolean" | "object" | "array" => received == expected,
            "integer" | "number" => received == "number",
            _ => true,
        };
        let at = format!("{path}.{property}");
        if !matches {
            issues.push(format!(
                "[{at}] Invalid input: expected {expected}, received {received}"
            ));
        } else if let (Some(nested), Some(inner)) = (nested, object.get(*property)) {
            check_object(registry, nested, inner, &at, issues);
        }
    }
}

/// `400 BAD_REQUEST "Invalid JSON in request body"`.
pub(crate) fn invalid_json() -> ApiError {
    ApiError::new(
        poem::http::StatusCode::BAD_REQUEST,
        "BAD_REQUEST",
        "Invalid JSON in request body",
    )
}

/// A `200` JSON response with the cookies and headers a route sets.
#[derive(Debug)]
pub struct Reply<T> {
    body: ReplyBody<T>,
    cookies: ResponseCookies,
    headers: Vec<(HeaderName, HeaderValue)>,
}

/// A reply's body: a value to write, or its JSON written already.
#[derive(Debug)]
enum ReplyBody<T> {
    Value(T),
    Written(Vec<u8>),
}

impl<T> Reply<T> {
    /// A `200` with this body.
    pub fn new(body: T) -> Self {
        Self::with(ReplyBody::Value(body))
    }

    /// A `200` whose body is the JSON of a `T`, written beforehand by hand (as `get-session`
    /// writes its session, [`crate::dto::session_with_user_json`]).
    pub(crate) fn written(json: Vec<u8>) -> Self {
        Self::with(ReplyBody::Written(json))
    }

    fn with(body: ReplyBody<T>) -> Self {
        Self {
            body,
            cookies: ResponseCookies::default(),
            headers: Vec::new(),
        }
    }

    /// Adds `Set-Cookie` lines (and the session they issue, if any).
    #[must_use]
    pub fn cookies(mut self, cookies: impl Into<ResponseCookies>) -> Self {
        self.cookies.extend(cookies.into());
        self
    }

    /// Adds a header; a value that is not a valid header value is dropped rather than sent.
    #[must_use]
    pub fn header(self, name: HeaderName, value: impl Into<String>) -> Self {
        match HeaderValue::try_from(value.into()) {
            Ok(value) => self.header_value(name, value),
            Err(_) => self,
        }
    }

    /// Adds a header whose value is built already (a constant one, say, which is not copied).
    #[must_use]
    pub fn header_value(mut self, name: HeaderName, value: HeaderValue) -> Self {
        self.headers.push((name, value));
        self
    }
}

/// Bodies are written with `serde` straight from the DTO; the DTO's `ToJSON` (poem-openapi)
/// describes the same JSON in the OpenAPI document (checked in `dto::tests`).
impl<T: ToJSON + Serialize + Send> IntoResponse for Reply<T> {
    fn into_response(self) -> Response {
        let body = match self.body {
            ReplyBody::Value(value) => {
                // Room for a session and its user without regrowing.
                let mut body = Vec::with_capacity(1024);
                if serde_json::to_writer(&mut body, &value).is_err() {
                    body.clear();
                }
                body
            }
            ReplyBody::Written(body) => body,
        };
        let ResponseCookies { lines, issued } = self.cookies;
        let mut response = json_response(StatusCode::OK, body, lines, self.headers);
        if let Some(issued) = issued {
            response.set_data(issued);
        }
        response
    }
}

/// A JSON response with `Set-Cookie` lines and extra headers: the one way responses of the
/// auth API are built (success and error alike). Cookie lines that are not valid header values
/// are dropped rather than sent.
pub(crate) fn json_response(
    status: StatusCode,
    body: Vec<u8>,
    cookies: Vec<String>,
    headers: impl IntoIterator<Item = (HeaderName, HeaderValue)>,
) -> Response {
    let mut response = Response::builder()
        .status(status)
        .content_type("application/json")
        .body(body);
    for cookie in cookies {
        if let Ok(value) = HeaderValue::from_str(&cookie) {
            response.headers_mut().append(header::SET_COOKIE, value);
        }
    }
    for (name, value) in headers {
        response.headers_mut().append(name, value);
    }
    response
}

impl<T: ToJSON + Serialize + Send> ApiResponse for Reply<T> {
    fn meta() -> MetaResponses {
        success_meta::<T>()
    }

    fn register(registry: &mut Registry) {
        T::register(registry);
    }
}

/// A `200` JSON answer of `T`, as the OpenAPI document describes it. An `Option` is `T`'s
/// schema made nullable: the answer is `null` when there is nothing (`get-session` without a
/// session, `get-full-organization` without an active organization).
fn success_meta<T: Type>() -> MetaResponses {
    let schema = if T::IS_REQUIRED {
        T::schema_ref()
    } else {
        T::schema_ref().merge(MetaSchema {
            nullable: true,
            ..MetaSchema::ANY
        })
    };
    MetaResponses {
        responses: vec![MetaResponse {
            description: "Success",
            status: Some(200),
            status_range: None,
            content: vec![MetaMediaType {
                content_type: "application/json",
                schema,
            }],
            headers: Vec::new(),
        }],
    }
}

/// A JSON body serialised beforehand (`GET /jwks`), described in the OpenAPI document as `T`.
#[derive(Debug)]
pub struct RawJson<T> {
    body: bytes::Bytes,
    described: std::marker::PhantomData<fn() -> T>,
}

impl<T> RawJson<T> {
    /// The body, which must be the JSON of a `T`.
    #[must_use]
    pub fn new(body: bytes::Bytes) -> Self {
        Self {
            body,
            described: std::marker::PhantomData,
        }
    }
}

impl<T: Send> IntoResponse for RawJson<T> {
    fn into_response(self) -> Response {
        Response::builder()
            .content_type("application/json")
            .body(self.body)
    }
}

impl<T: ToJSON + Send> ApiResponse for RawJson<T> {
    fn meta() -> MetaResponses {
        success_meta::<T>()
    }

    fn register(registry: &mut Registry) {
        T::register(registry);
    }
}

/// A route's answer: its own typed reply, or one a plugin built (a diverted sign-in).
#[derive(Debug)]
pub enum Answer<T> {
    /// The route's reply.
    Reply(Reply<T>),
    /// A plugin's answer.
    Raw(Response),
}

impl<T: ToJSON + Serialize + Send> IntoResponse for Answer<T> {
    fn into_response(self) -> Response {
        match self {
            Self::Reply(reply) => reply.into_response(),
            Self::Raw(response) => response,
        }
    }
}

impl<T: ToJSON + Serialize + Send> ApiResponse for Answer<T> {
    fn meta() -> MetaResponses {
        success_meta::<T>()
    }

    fn register(registry: &mut Registry) {
        T::register(registry);
    }
}

/// A typed answer (a redirect, say) with `Set-Cookie` lines added (a session a link started or
/// ended); a session it issues is seen by the plugins, as with [`Reply`].
pub struct WithCookies<T>(pub T, pub ResponseCookies);

impl<T: IntoResponse> IntoResponse for WithCookies<T> {
    fn into_response(self) -> Response {
        let mut response = self.0.into_response();
        let ResponseCookies { lines, issued } = self.1;
        for line in lines {
            if let Ok(value) = HeaderValue::from_str(&line) {
                response.headers_mut().append(header::SET_COOKIE, value);
            }
        }
        if let Some(issued) = issued {
            response.set_data(issued);
        }
        response
    }
}

impl<T: ApiResponse> ApiResponse for WithCookies<T> {
    fn meta() -> MetaResponses {
        T::meta()
    }

    fn register(registry: &mut Registry) {
        T::register(registry);
    }
}

#[cfg(test)]
mod tests {
    use poem::IntoResponse;
    use poem::http::{HeaderName, HeaderValue, header};

    use super::Reply;

    #[test]
    fn a_reply_sends_its_headers_in_order_and_drops_a_value_that_is_no_header_value() {
        let response = Reply::new(true)
            .header_value(header::CACHE_CONTROL, HeaderValue::from_static("no-store"))
            .header(HeaderName::from_static("x-one"), "1")
            .header(HeaderName::from_static("x-bad"), "line\r\nInjected: yes")
            .header(HeaderName::from_static("x-one"), String::from("2"))
            .into_response();
        let headers = response.headers();
        assert_eq!(
            headers
                .get(header::CACHE_CONTROL)
                .map(HeaderValue::as_bytes),
            Some(&b"no-store"[..])
        );
        let ones: Vec<&[u8]> = headers
            .get_all("x-one")
            .iter()
            .map(HeaderValue::as_bytes)
            .collect();
        assert_eq!(ones, [b"1", b"2"]);
        assert!(headers.get("x-bad").is_none() && headers.get("injected").is_none());
        assert_eq!(
            headers.get(header::CONTENT_TYPE).map(HeaderValue::as_bytes),
            Some(&b"application/json"[..])
        );
    }
}
