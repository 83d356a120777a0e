//! What the Palette client sends where, and what it writes down: redirects
//! to another origin are refused before the `ApiKey` header travels, and the
//! gateway pairing code in the events path never reaches a log line or an
//! error. Against tiny axum servers, so any answer can be staged.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use palette_api::client::{Client, Config, Error};
use serde_json::{json, Value};
use tokio_util::sync::CancellationToken;

const KEY: &str = "key-that-stays-home";

/// One request as a staged server saw it.
#[derive(Debug, Clone)]
struct Seen {
    path: String,
    api_key: Option<String>,
}

type SeenLog = Arc<Mutex<Vec<Seen>>>;

/// Serves every request with `answer(path)` on a loopback port, recording
/// each request's path and `ApiKey` header; its base URL and the record.
async fn staged(
    answer: impl Fn(&str) -> Response + Clone + Send + Sync + 'static,
) -> (String, SeenLog) {
    let seen: SeenLog = Arc::default();
    let record = seen.clone();
    let app = axum::Router::new().fallback(move |uri: Uri, headers: HeaderMap| {
        let (answer, record) = (answer.clone(), record.clone());
        async move {
            record.lock().unwrap().push(Seen {
                path: uri.path().to_string(),
                api_key: headers
                    .get("ApiKey")
                    .and_then(|v| v.to_str().ok())
                    .map(str::to_string),
            });
            answer(uri.path())
        }
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    (base, seen)
}

fn redirect(to: &str) -> Response {
    (StatusCode::FOUND, [("Location", to.to_string())]).into_response()
}

fn client_for(endpoint: &str, max_retries: u32) -> Client {
    let _ =
        rustls::crypto::CryptoProvider::install_default(rustls::crypto::ring::default_provider());
    Client::new(Config {
        endpoint: endpoint.into(),
        api_key: KEY.into(),
        project_uid: None,
        ca_pem: None,
        insecure: false,
        max_retries,
        retry_max_wait: Duration::from_millis(10),
        request_timeout: Duration::from_secs(5),
    })
    .unwrap()
}

#[tokio::test]
async fn a_redirect_to_another_origin_is_refused_and_the_key_stays_home() {
    let (elsewhere, seen_elsewhere) = staged(|_| axum::Json(json!({})).into_response()).await;
    let target = elsewhere.clone();
    let (home, seen_home) = staged(move |path| match path {
        "/v1/old" => redirect("/v1/new"),
        "/v1/new" => axum::Json(json!({"moved": true})).into_response(),
        _ => redirect(&format!("{target}/v1/users/info")),
    })
    .await;
    let c = client_for(&home, 0);
    let cancel = CancellationToken::new();

    // Same origin: followed, with the key.
    let v: Value = c.get("/v1/old", &cancel).await.unwrap();
    assert_eq!(v, json!({"moved": true}));

    // Another port is another origin, for every method.
    let errors = [
        c.get::<Value>("/v1/users/info", &cancel).await.unwrap_err(),
        c.post::<_, Value>("/v1/users/info", &json!({}), &cancel)
            .await
            .unwrap_err(),
        c.put("/v1/users/info", &json!({}), &cancel)
            .await
            .unwrap_err(),
        c.delete("/v1/users/info", &cancel).await.unwrap_err(),
    ];
    for e in &errors {
        let Error::CrossOriginRedirect { target } = e else {
            panic!("{e:?}")
        };
        assert_eq!(target, &elsewhere);
        assert!(e.to_string().contains(elsewhere.as_str()), "{e}");
        assert!(!e.to_string().contains(KEY), "{e}");
    }
    assert!(
        seen_elsewhere.lock().unwrap().is_empty(),
        "the other origin got a request: {:?}",
        seen_elsewhere.lock().unwrap()
    );
    let home_seen = seen_home.lock().unwrap().clone();
    assert_eq!(home_seen.len(), 6, "not retried: {home_seen:?}");
    assert_eq!(home_seen[1].path, "/v1/new");
    assert!(home_seen.iter().all(|s| s.api_key.as_deref() == Some(KEY)));
}

/// A tracing subscriber that keeps every event as its target and fields.
struct Capture(Arc<Mutex<Vec<String>>>);

/// Every event of this test binary, from any thread: the process-wide
/// subscriber, set once. A subscriber scoped to one thread misses events
/// whose callsite another test thread registered first, and the client logs
/// from whichever thread polls it.
fn captured() -> Arc<Mutex<Vec<String>>> {
    static LINES: std::sync::OnceLock<Arc<Mutex<Vec<String>>>> = std::sync::OnceLock::new();
    LINES
        .get_or_init(|| {
            let lines = Arc::new(Mutex::new(Vec::new()));
            tracing::subscriber::set_global_default(Capture(lines.clone()))
                .expect("no other subscriber in this test binary");
            lines
        })
        .clone()
}

impl tracing::Subscriber for Capture {
    fn enabled(&self, _: &tracing::Metadata<'_>) -> bool {
        true
    }
    fn new_span(&self, _: &tracing::span::Attributes<'_>) -> tracing::span::Id {
        tracing::span::Id::from_u64(1)
    }
    fn record(&self, _: &tracing::span::Id, _: &tracing::span::Record<'_>) {}
    fn record_follows_from(&self, _: &tracing::span::Id, _: &tracing::span::Id) {}
    fn event(&self, event: &tracing::Event<'_>) {
        struct Fields(String);
        impl tracing::field::Visit for Fields {
            fn record_debug(&mut self, f: &tracing::field::Field, v: &dyn std::fmt::Debug) {
                self.0.push_str(&format!(" {}={v:?}", f.name()));
            }
        }
        let mut fields = Fields(event.metadata().target().to_string());
        event.record(&mut fields);
        self.0.lock().unwrap().push(fields.0);
    }
    fn enter(&self, _: &tracing::span::Id) {}
    fn exit(&self, _: &tracing::span::Id) {}
}

#[test]
fn the_pairing_code_never_reaches_a_log_line_or_an_error() {
    let lines = captured();
    let errors = {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async {
            let (base, _) = staged(|path| {
                let code = path.rsplit('/').next().unwrap_or_default().to_string();
                match code.as_str() {
                    "QX7RZK" => axum::Json(json!({"items": []})).into_response(),
                    "MV4TPD" => (
                        StatusCode::NOT_FOUND,
                        axum::Json(json!({"code": "NotFound", "message": format!("no pairing code {code}")})),
                    )
                        .into_response(),
                    "HW9CNF" => (
                        StatusCode::SERVICE_UNAVAILABLE,
                        axum::Json(json!({"message": format!("busy with {code}")})),
                    )
                        .into_response(),
                    // A body that does not decode: serde quotes the value.
                    _ => axum::Json(json!([code])).into_response(),
                }
            })
            .await;
            let c = client_for(&base, 1);
            let cancel = CancellationToken::new();
            let path = |code: &str| format!("/v1/events/components/pairingcode/{code}");
            let ok: Value = c.get(&path("QX7RZK"), &cancel).await.unwrap();
            assert_eq!(ok, json!({"items": []}));
            let mut errors = vec![
                c.get::<Value>(&path("MV4TPD"), &cancel).await.unwrap_err(),
                c.get::<Value>(&path("HW9CNF"), &cancel).await.unwrap_err(),
                c.get::<Vec<u32>>(&path("JB3WLS"), &cancel)
                    .await
                    .unwrap_err(),
            ];
            // Nothing listens there: the transport error quotes the URL.
            let free = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            let closed = client_for(&format!("http://{}", free.local_addr().unwrap()), 0);
            drop(free);
            errors.push(
                closed
                    .get::<Value>(&path("TG6YEA"), &cancel)
                    .await
                    .unwrap_err(),
            );
            errors
        })
    };
    let lines = lines.lock().unwrap().clone();
    // Every call was logged, with its code masked: once for the answer, the
    // 404 and the undecodable body, three times for the 503 (fail, retry,
    // fail). Other tests of this binary log into the same capture, but none
    // of them uses these codes.
    let logged = |tail: &str| {
        lines
            .iter()
            .filter(|l| {
                l.starts_with("palette_api") && l.contains(&format!("pairingcode/\u{2026}{tail}"))
            })
            .count()
    };
    for tail in ["ZK", "PD", "LS"] {
        assert!(logged(tail) >= 1, "no line for \u{2026}{tail}: {lines:#?}");
    }
    assert!(logged("NF") >= 3, "the 503's retry not logged: {lines:#?}");
    let errors: Vec<String> = errors.iter().map(|e| format!("{e} {e:?}")).collect();
    assert!(errors[0].contains("\u{2026}PD"), "{}", errors[0]);
    for code in ["QX7RZK", "MV4TPD", "HW9CNF", "JB3WLS", "TG6YEA"] {
        for line in &lines {
            assert!(!line.contains(code), "{code} logged: {line}");
        }
        for e in &errors {
            assert!(!e.contains(code), "{code} in an error: {e}");
        }
    }
}

/// A create answered 500, 502 or 504 may have been carried out (a proxy's
/// timeout after Palette stored the object): the client says so and sends it
/// once, so the caller looks the object up by name. A 503 or a 400 says the
/// request was not taken.
#[tokio::test]
async fn a_create_answered_with_a_server_failure_is_ambiguous_and_sent_once() {
    for (status, ambiguous) in [
        (500, true),
        (502, true),
        (504, true),
        (503, false),
        (400, false),
    ] {
        let (base, seen) = staged(move |_| {
            (
                StatusCode::from_u16(status).unwrap(),
                axum::Json(json!({"code": "Failed", "message": "upstream timed out"})),
            )
                .into_response()
        })
        .await;
        let c = client_for(&base, 3);
        let err = c
            .post::<_, Value>(
                "/v1/cloudaccounts/vsphere",
                &json!({}),
                &CancellationToken::new(),
            )
            .await
            .unwrap_err();
        assert_eq!(
            matches!(err, Error::Ambiguous { .. }),
            ambiguous,
            "{status}: {err:?}"
        );
        if ambiguous {
            assert!(err.to_string().contains(&format!("HTTP {status}")), "{err}");
        }
        assert_eq!(
            seen.lock().unwrap().len(),
            1,
            "{status}: a create is never sent twice"
        );
    }
}
