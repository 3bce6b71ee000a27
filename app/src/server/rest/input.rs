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
    whole_numbers_as_integers(&mut value);
    let t = serde_path_to_error::deserialize(&value).map_err(|e| {
        let path = e.path().to_string();
        let field = if path == "." { "body" } else { path.as_str() };
        ApiError::bad(field, without_position(e.inner()))
    })?;
    Ok((t, value.to_string()))
}

/// JSON Schema's `integer` counts `1776.0` as an integer and clients may send one (a
/// JavaScript number printed by some libraries), where serde's integers refuse a float:
/// every whole number in range becomes an integer before the body is read.
fn whole_numbers_as_integers(value: &mut serde_json::Value) {
    use serde_json::Value;
    match value {
        Value::Number(n) => {
            if let Some(f) = n.as_f64().filter(|_| n.is_f64()) {
                // Beyond ±2^63 a float has no integer of its own; it stays a float.
                if f.fract() == 0.0
                    && (-9.223_372_036_854_775e18..9.223_372_036_854_775e18).contains(&f)
                {
                    *n = serde_json::Number::from(f as i64);
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(whole_numbers_as_integers),
        Value::Object(fields) => fields.values_mut().for_each(whole_numbers_as_integers),
        _ => {}
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn whole_floats_read_as_integers_and_others_stay() {
        let mut v =
            serde_json::json!({"port": 1776.0, "ids": [3.0, 4], "ratio": 0.5, "huge": 1e30});
        whole_numbers_as_integers(&mut v);
        assert_eq!(
            v,
            serde_json::json!({"port": 1776, "ids": [3, 4], "ratio": 0.5, "huge": 1e30})
        );
    }
}
