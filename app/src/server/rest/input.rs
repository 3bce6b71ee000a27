//! Reading API input: JSON bodies, path and query parameters. Each failure is a 400 that
//! names the field or parameter at fault. Handlers read their input after the role check,
//! so a caller without a token learns nothing about what the input should be.

use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, QueryRejection};
use axum::extract::Query;
use serde::de::DeserializeOwned;

use crate::error::AppError;
use crate::server::inventory::ip;
use crate::server::rest::error::ApiError;

/// A JSON body; an empty one reads as `{}`, so requests without fields need no body.
pub fn json<T: DeserializeOwned>(body: Result<Bytes, BytesRejection>) -> Result<T, ApiError> {
    json_and_canonical(body).map(|(t, _)| t)
}

/// A JSON body as [`json`] reads it, and its canonical text (keys sorted, no spacing), by
/// which a retried request is told from another.
pub fn json_and_canonical<T: DeserializeOwned>(
    body: Result<Bytes, BytesRejection>,
) -> Result<(T, String), ApiError> {
    let bytes = body?;
    let text: &[u8] = if bytes.iter().all(u8::is_ascii_whitespace) {
        b"{}"
    } else {
        &bytes
    };
    let mut value: serde_json::Value = serde_json::from_slice(text)
        .map_err(|e| ApiError::bad("body", format!("not valid JSON ({})", without_position(&e))))?;
    // `null` says "no fields" as an empty body does; the document offers it where a body
    // is optional, since it cannot mark a body optional without it.
    if value.is_null() {
        value = serde_json::json!({});
    }
    // Every body is an object; serde would also read a struct from an array (`[]` as a
    // body without fields), which the document does not allow.
    if !value.is_object() {
        return Err(ApiError::bad("body", "send a JSON object."));
    }
    let t = serde_path_to_error::deserialize(&value).map_err(|e| {
        let path = e.path().to_string();
        let field = if path == "." { "body" } else { path.as_str() };
        ApiError::bad(field, without_position(e.inner()))
    })?;
    Ok((t, value.to_string()))
}

/// serde_json's message without its position: noise for one-line bodies, where the field
/// name is the help.
fn without_position(e: &serde_json::Error) -> String {
    let mut message = e.to_string();
    if let Some(at) = message.rfind(" at line ") {
        message.truncate(at);
    }
    message
}

/// Query parameters.
pub fn query<T>(q: Result<Query<T>, QueryRejection>) -> Result<T, ApiError> {
    q.map(|Query(t)| t).map_err(|rejection| {
        let text = rejection.body_text();
        let text = text
            .strip_prefix("Failed to deserialize query string: ")
            .unwrap_or(&text);
        ApiError::bad("query", text)
    })
}

/// The smallest id: ids are positive.
pub const MIN_ID: i64 = 1;

/// A numeric id from the path or query, named `what` in errors.
pub fn id(raw: &str, what: &str) -> Result<i64, ApiError> {
    raw.parse::<i64>()
        .ok()
        .filter(|n| *n >= MIN_ID)
        .ok_or_else(|| ApiError::bad(what, format!("`{raw}` is not an id (a positive integer).")))
}

/// An IP address from the path.
pub fn address(raw: &str) -> Result<std::net::IpAddr, ApiError> {
    ip::parse_address(raw.trim()).map_err(|e| ApiError::bad("ip", e))
}

/// An address-valued cursor.
pub fn cursor_address(raw: &str) -> Result<std::net::IpAddr, ApiError> {
    ip::parse_address(raw.trim())
        .map_err(|_| ApiError::bad("cursor", format!("`{raw}` is not a cursor this list gave.")))
}

/// Names `field` in a domain refusal of bad input; other errors pass as they are.
pub fn blame(field: &'static str) -> impl Fn(AppError) -> ApiError {
    move |err| match err {
        AppError::BadRequest(message) => ApiError::bad(field, message),
        other => other.into(),
    }
}
