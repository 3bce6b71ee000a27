//! The one error type of the REST API boundary: `{"error": {"code", "message"}}` with its
//! HTTP status. Causes of unexpected failures are logged where they happen
//! ([`crate::server::error::internal`]) and never sent.

use axum::extract::rejection::BytesRejection;
use axum::response::{IntoResponse, Response};
use axum::Json;
use http::{header, StatusCode};
use serde::Serialize;
use utoipa::ToSchema;

use crate::error::AppError;

#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
}

/// The body of every error answer.
#[derive(Serialize, ToSchema)]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

#[derive(Serialize, ToSchema)]
pub struct ErrorDetail {
    /// Stable, for programs: `bad_request`, `unauthenticated`, `forbidden`, `not_found`,
    /// `conflict`, `network_full`, `check_failed`, `unprocessable`, `payload_too_large`,
    /// `method_not_allowed`, `too_many_requests`, `check_timeout`, `request_timeout`, `internal`.
    #[schema(example = "network_full")]
    pub code: String,
    /// For people; names the offending field when the input is at fault.
    #[schema(example = "The network 198.18.0.0/29 has no free address.")]
    pub message: String,
}

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        ApiError {
            status,
            code,
            message: message.into(),
        }
    }

    /// Bad input, naming the field or parameter at fault.
    pub fn bad(field: &str, message: impl std::fmt::Display) -> Self {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            "bad_request",
            format!("{field}: {message}"),
        )
    }

    /// The same error, its field named inside `parent` (`check_policy.probes: …`).
    pub fn within(mut self, parent: &str) -> Self {
        if self.code == "bad_request" {
            self.message = format!("{parent}.{}", self.message);
        }
        self
    }

    pub fn not_found(message: impl Into<String>) -> Self {
        ApiError::new(StatusCode::NOT_FOUND, "not_found", message)
    }
}

impl From<AppError> for ApiError {
    fn from(err: AppError) -> Self {
        let status = err.status();
        let code = match &err {
            AppError::Unauthenticated | AppError::InvalidCredentials => {
                return ApiError::new(
                    StatusCode::UNAUTHORIZED,
                    "unauthenticated",
                    "Send a live API token: `Authorization: Bearer <token>`. Tokens are made on the Tokens page or with `ipvet token create`.",
                )
            }
            AppError::Forbidden => {
                return ApiError::new(
                    StatusCode::FORBIDDEN,
                    "forbidden",
                    "The token's role does not allow this.",
                )
            }
            AppError::BadRequest(_) => "bad_request",
            AppError::NotFound(_) => "not_found",
            AppError::Conflict(_) => "conflict",
            AppError::NetworkFull(_) => "network_full",
            AppError::CheckFailed(_) => "check_failed",
            AppError::Unprocessable(_) => "unprocessable",
            AppError::TooManyRequests(_) => "too_many_requests",
            AppError::CheckTimedOut(_) => "check_timeout",
            AppError::TimedOut(_) => "request_timeout",
            AppError::Internal | AppError::Transport(_) => {
                return ApiError::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "internal",
                    AppError::Internal.to_string(),
                )
            }
        };
        ApiError::new(status, code, err.to_string())
    }
}

impl From<sea_orm::DbErr> for ApiError {
    fn from(err: sea_orm::DbErr) -> Self {
        AppError::from(err).into()
    }
}

impl From<BytesRejection> for ApiError {
    fn from(rejection: BytesRejection) -> Self {
        if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
            return ApiError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "payload_too_large",
                format!(
                    "The request body is larger than {} bytes.",
                    crate::server::rest::MAX_BODY
                ),
            );
        }
        ApiError::bad("body", rejection.body_text())
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = ErrorBody {
            error: ErrorDetail {
                code: self.code.to_string(),
                message: self.message,
            },
        };
        let mut res = (self.status, Json(body)).into_response();
        if self.status == StatusCode::UNAUTHORIZED {
            res.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                header::HeaderValue::from_static("Bearer realm=\"ipvet\""),
            );
        }
        res
    }
}
