//! Palette's error responses: a status and a JSON body with `code`,
//! `message` and `ref`, which clients show to users.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;

#[derive(Debug, Clone, PartialEq)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: &'static str,
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
    pub fn unauthorized(message: impl Into<String>) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, "Unauthorized", message)
    }
    pub fn forbidden(message: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, "Forbidden", message)
    }
    pub fn not_found(kind: &str, uid: &str) -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "ResourceNotFound",
            format!("{kind} '{uid}' not found"),
        )
    }
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "InvalidRequest", message)
    }
    pub fn conflict(message: impl Into<String>) -> Self {
        Self::new(StatusCode::CONFLICT, "Conflict", message)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        // `ref` carries a request reference in Palette; a fresh one per error
        // lets a user quote it, as they would to Spectro Cloud support.
        let body = serde_json::json!({
            "code": self.code,
            "message": self.message,
            "ref": crate::ids::new_uid(),
        });
        (self.status, Json(body)).into_response()
    }
}
