//! The contract check's HTTP side: the middleware that holds every `/v1`
//! exchange against the spec (crate::spec), the admin endpoints that show
//! what it found, and the guard tests hold. The checker itself is in
//! crate::spec, below the store, since every `Lab` carries one.

use std::sync::Arc;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::Json;

use crate::error::ApiError;
use crate::state::Lab;

pub use crate::spec::{
    spec, validate, Checker, Deviation, DeviationUse, Exchange, Spec, Verdict, Violation,
    DEVIATIONS,
};

/// Bodies larger than this, either way, are not Palette JSON; the limit
/// only keeps a runaway body from being held in memory.
const BODY_LIMIT: usize = 16 << 20;

/// Switches the check on for a lab and fails the test when dropped with
/// violations recorded, so no test has to remember a final assertion; it
/// also prints the deviations the run relied on.
pub struct Guard(Arc<Checker>);

pub fn guard(lab: &Lab) -> Guard {
    lab.contract.enable();
    Guard(lab.contract.clone())
}

impl Drop for Guard {
    fn drop(&mut self) {
        if let Some(report) = self.0.deviations_report() {
            eprintln!("{report}");
        }
        // A second panic while unwinding would abort and hide the first.
        if !std::thread::panicking() {
            self.0.assert_clean();
        }
    }
}

// ---------------------------------------------------------------- the layer

fn content_type(headers: &HeaderMap) -> Option<String> {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
}

/// The middleware: reads the request body to check it and hands the same
/// bytes on, then passes the response on unchanged, after checking it.
pub async fn check(State(lab): State<Lab>, req: Request, next: Next) -> Response {
    if !lab.contract.enabled() {
        return next.run(req).await;
    }
    let method = req.method().as_str().to_string();
    let path = req.uri().path().to_string();
    let query = req.uri().query().map(str::to_string);
    let (parts, body) = req.into_parts();
    let request_type = content_type(&parts.headers);
    let request_body = match axum::body::to_bytes(body, BODY_LIMIT).await {
        Ok(b) => b,
        Err(e) => {
            let problem = format!("request $: body not read within {BODY_LIMIT} bytes: {e}");
            let answer = ApiError::new(StatusCode::PAYLOAD_TOO_LARGE, "InvalidRequest", &problem);
            lab.contract.record(Violation {
                operation: spec()
                    .ok()
                    .and_then(|s| s.operation_id(&method, &path))
                    .unwrap_or("(none)")
                    .to_string(),
                method,
                path,
                status: answer.status.as_u16(),
                problems: vec![problem],
            });
            return answer.into_response();
        }
    };
    let req = Request::from_parts(parts, Body::from(request_body.clone()));
    let resp = next.run(req).await;
    let (parts, body) = resp.into_parts();
    let bytes = match axum::body::to_bytes(body, BODY_LIMIT).await {
        Ok(b) => b,
        Err(e) => {
            // The client sees a broken body either way; keep it broken.
            let failing = futures::stream::once(async move {
                Err::<axum::body::Bytes, std::io::Error>(std::io::Error::other(e.to_string()))
            });
            return Response::from_parts(parts, Body::from_stream(failing));
        }
    };
    let response_type = content_type(&parts.headers);
    let exchange = Exchange {
        method: &method,
        path: &path,
        query: query.as_deref(),
        request_type: request_type.as_deref(),
        request_body: &request_body,
        status: parts.status.as_u16(),
        response_type: response_type.as_deref(),
        response_body: &bytes,
    };
    match spec() {
        Ok(spec) => {
            let verdict = spec.examine(&exchange, true);
            if let Some(op) = &verdict.operation {
                lab.contract.note_used(op, &verdict.deviations);
            }
            if let Some(v) = verdict.violation {
                lab.contract.record(v);
            }
        }
        Err(e) => lab.contract.record(Violation {
            operation: "(spec unavailable)".into(),
            method: method.clone(),
            path: path.clone(),
            status: parts.status.as_u16(),
            problems: vec![e.clone()],
        }),
    }
    Response::from_parts(parts, Body::from(bytes))
}

/// For the router's fallback: a `/v1` request no route serves never
/// reaches [`check`], yet calling a path the spec lacks is the client's
/// mistake (and one the spec has but the lab lacks, the lab's).
pub fn unrouted(lab: &Lab, method: &str, path: &str) {
    if !lab.contract.enabled() || !path.starts_with("/v1/") {
        return;
    }
    let (operation, problem) = match spec().map(|s| s.operation_id(method, path)) {
        Ok(Some(id)) => (
            id.to_string(),
            "the lab has no route for this operation of the spec".to_string(),
        ),
        Ok(None) => (
            "(none)".to_string(),
            "request: no operation in the spec serves this path".to_string(),
        ),
        Err(e) => ("(spec unavailable)".to_string(), e.clone()),
    };
    lab.contract.record(Violation {
        operation,
        method: method.to_string(),
        path: path.to_string(),
        status: StatusCode::NOT_FOUND.as_u16(),
        problems: vec![problem],
    });
}

pub async fn admin_violations(State(lab): State<Lab>) -> Response {
    Json(lab.contract.violations()).into_response()
}

pub async fn admin_clear_violations(State(lab): State<Lab>) -> StatusCode {
    lab.contract.clear();
    StatusCode::NO_CONTENT
}

/// `GET /lab/contract-deviations`: the deviations the lab's answers relied
/// on, with their reasons, how often and for which operations.
pub async fn admin_deviations(State(lab): State<Lab>) -> Response {
    Json(lab.contract.deviations_used()).into_response()
}

pub async fn admin_clear_deviations(State(lab): State<Lab>) -> StatusCode {
    lab.contract.clear_deviations();
    StatusCode::NO_CONTENT
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{json, Value};

    /// The layer and the admin endpoints end to end, on a router whose
    /// users/info handler invents a field.
    #[tokio::test]
    async fn the_layer_records_violations_and_the_admin_api_shows_and_clears_them() {
        use axum::routing::get;
        let _ = rustls::crypto::ring::default_provider().install_default();
        let lab = Lab::new(crate::state::Store::seeded());
        lab.contract.enable();
        let v1 = axum::Router::new()
            .route(
                "/v1/users/info",
                get(|| async { Json(json!({"orgName": "o", "invented": 1})) }),
            )
            .layer(axum::middleware::from_fn_with_state(lab.clone(), check));
        let app = v1
            .route(
                "/lab/contract-violations",
                get(admin_violations).delete(admin_clear_violations),
            )
            .with_state(lab.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await });
        let http = reqwest::Client::new();
        let info: Value = http
            .get(format!("{base}/v1/users/info"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(
            info,
            json!({"orgName": "o", "invented": 1}),
            "passed on unchanged"
        );
        let found: Value = http
            .get(format!("{base}/lab/contract-violations"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(
            found,
            json!([{"operation": "v1UsersInfoGet", "method": "GET", "path": "/v1/users/info",
                    "status": 200,
                    "problems": ["$.invented: not a property of this object in the spec"]}])
        );
        let r = http
            .delete(format!("{base}/lab/contract-violations"))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 204);
        assert!(lab.contract.violations().is_empty());
    }
}
