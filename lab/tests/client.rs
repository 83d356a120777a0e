//! The palette-api client against the lab's injected faults: what is
//! retried, how often, and what surfaces when it is not.

use std::time::{Duration, Instant};

use palette_api::client::{Client, Config, Error};
use serde_json::{json, Value};
use tokio_util::sync::CancellationToken;

/// The lab, clients, and a guard that fails the test if a response broke
/// the API contract.
async fn setup(
    max_retries: u32,
) -> (
    palette_lab::RunningLab,
    Client,
    reqwest::Client,
    palette_lab::contract::Guard,
) {
    let _ =
        rustls::crypto::CryptoProvider::install_default(rustls::crypto::ring::default_provider());
    let lab = palette_lab::start("127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    let client = lab.client(max_retries);
    let contract = palette_lab::contract::guard(&lab.lab);
    (lab, client, reqwest::Client::new(), contract)
}

async fn fault(lab: &palette_lab::RunningLab, http: &reqwest::Client, rule: Value) {
    let r = http
        .post(format!("{}/lab/faults", lab.endpoint()))
        .header("ApiKey", &lab.api_key)
        .json(&rule)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
}

/// Calls the lab counted that `pattern` fits (see palette_lab::calls); a
/// pattern no route fits fails the test.
async fn calls(lab: &palette_lab::RunningLab, http: &reqwest::Client, pattern: &str) -> u64 {
    let mut url = reqwest::Url::parse(&format!("{}/lab/calls", lab.endpoint())).unwrap();
    url.query_pairs_mut().append_pair("match", pattern);
    let r = http
        .get(url)
        .header("ApiKey", &lab.api_key)
        .send()
        .await
        .unwrap();
    let status = r.status();
    let c: Value = r.json().await.unwrap();
    assert_eq!(status, 200, "calls({pattern:?}): {c}");
    c["count"].as_u64().unwrap()
}

#[tokio::test]
async fn throttling_is_retried_after_retry_after() {
    let (lab, client, http, _contract) = setup(3).await;
    fault(&lab, &http, json!({"path_prefix": "/v1/users/info", "kind": "status", "status": 429, "retry_after_secs": 1, "count": 2})).await;
    let start = Instant::now();
    let info: Value = client
        .get("/v1/users/info", &CancellationToken::new())
        .await
        .unwrap();
    assert_eq!(info["orgName"], "palette-lab");
    assert!(
        start.elapsed() >= Duration::from_secs(2),
        "Retry-After was not honoured"
    );
    assert_eq!(calls(&lab, &http, "GET /v1/users/info").await, 3);
}

#[tokio::test]
async fn server_errors_stop_after_the_retry_limit() {
    let (lab, client, http, _contract) = setup(2).await;
    fault(&lab, &http, json!({"path_prefix": "/v1/users/info", "kind": "status", "status": 503, "retry_after_secs": 0})).await;
    let err = client
        .get::<Value>("/v1/users/info", &CancellationToken::new())
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            Error::Server {
                status: 503,
                attempts: 3,
                ..
            }
        ),
        "{err:?}"
    );
    assert_eq!(calls(&lab, &http, "GET /v1/users/info").await, 3);
}

#[tokio::test]
async fn dropped_connections_are_retried_for_reads() {
    let (lab, client, http, _contract) = setup(2).await;
    fault(
        &lab,
        &http,
        json!({"path_prefix": "/v1/users/info", "kind": "drop", "count": 1}),
    )
    .await;
    let info: Value = client
        .get("/v1/users/info", &CancellationToken::new())
        .await
        .unwrap();
    assert_eq!(info["orgName"], "palette-lab");
    assert_eq!(calls(&lab, &http, "GET /v1/users/info").await, 2);
}

#[tokio::test]
async fn not_found_and_auth_errors_are_final_and_typed() {
    let (lab, client, http, _contract) = setup(3).await;
    let err = client
        .get::<Value>(
            "/v1/projects/000000000000000000000000",
            &CancellationToken::new(),
        )
        .await
        .unwrap_err();
    assert!(err.is_not_found(), "{err:?}");
    assert_eq!(
        calls(&lab, &http, "GET /v1/projects/000000000000000000000000").await,
        1
    );

    let bad = Client::new(Config {
        api_key: "wrong-key-value".into(),
        ..client.config().clone()
    })
    .unwrap();
    let err = bad
        .get::<Value>("/v1/users/info", &CancellationToken::new())
        .await
        .unwrap_err();
    assert!(
        matches!(err, Error::Unauthorized { status: 401, .. }),
        "{err:?}"
    );
    assert!(!format!("{err} {err:?}").contains("wrong-key-value"));
}

#[tokio::test]
async fn cancellation_ends_a_hanging_call_promptly() {
    let (lab, client, http, _contract) = setup(3).await;
    fault(
        &lab,
        &http,
        json!({"path_prefix": "/v1/users/info", "kind": "no_answer"}),
    )
    .await;
    let cancel = CancellationToken::new();
    let c2 = cancel.clone();
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(200)).await;
        c2.cancel();
    });
    let start = Instant::now();
    let err = client
        .get::<Value>("/v1/users/info", &cancel)
        .await
        .unwrap_err();
    assert_eq!(err, Error::Cancelled);
    assert!(
        start.elapsed() < Duration::from_secs(4),
        "took {:?}",
        start.elapsed()
    );
}
