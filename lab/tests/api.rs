//! The lab over HTTP: auth, project scoping, Palette errors, faults, counts.

use std::time::{Duration, Instant};

use serde_json::{json, Value};

/// The lab, a client, and a guard that fails the test if a response broke
/// the API contract.
async fn lab() -> (
    palette_lab::RunningLab,
    reqwest::Client,
    palette_lab::contract::Guard,
) {
    let _ =
        rustls::crypto::CryptoProvider::install_default(rustls::crypto::ring::default_provider());
    let lab = palette_lab::start("127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    let contract = palette_lab::contract::guard(&lab.lab);
    (
        lab,
        reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .build()
            .unwrap(),
        contract,
    )
}

fn assert_palette_error(body: &Value, code: &str) {
    assert_eq!(body["code"], code, "{body}");
    assert!(
        body["message"].as_str().is_some_and(|m| !m.is_empty()),
        "{body}"
    );
    assert_eq!(body["ref"].as_str().map(str::len), Some(24), "{body}");
}

#[tokio::test]
async fn api_key_is_required_and_checked() {
    let (lab, http, _contract) = lab().await;
    let url = format!("{}/v1/users/info", lab.endpoint());
    let r = http.get(&url).send().await.unwrap();
    assert_eq!(r.status(), 401);
    assert_palette_error(&r.json().await.unwrap(), "Unauthorized");
    let r = http
        .get(&url)
        .header("ApiKey", "not-a-key")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);

    let r = http
        .get(&url)
        .header("ApiKey", &lab.api_key)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let info: Value = r.json().await.unwrap();
    assert_eq!(info["orgName"], "palette-lab");
    assert_eq!(info["tenantUid"].as_str().map(str::len), Some(24));

    // Keys made through the admin API work too.
    let k: Value = http
        .post(format!("{}/lab/keys", lab.endpoint()))
        .header("ApiKey", &lab.api_key)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let r = http
        .get(&url)
        .header("ApiKey", k["apiKey"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
}

#[tokio::test]
async fn the_admin_api_takes_the_start_up_key_only() {
    let (lab, http, _contract) = lab().await;
    let keys = || lab.lab.store().keys.len();
    let before = keys();
    let minted: Value = http
        .post(format!("{}/lab/keys", lab.endpoint()))
        .header("ApiKey", &lab.api_key)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let minted = minted["apiKey"].as_str().unwrap().to_string();
    assert_eq!(keys(), before + 1);

    // No key, a wrong one, one of the right length, a minted /v1 key:
    // 401 in Palette's error shape, and nothing minted or changed.
    let (head, last) = lab.api_key.split_at(lab.api_key.len() - 1);
    let near_miss = format!("{head}{}", if last == "x" { "y" } else { "x" });
    for key in [
        None,
        Some("not-a-key"),
        Some(near_miss.as_str()),
        Some(&minted),
    ] {
        for (method, path) in [
            ("POST", "/lab/keys"),
            ("GET", "/lab/projects"),
            ("POST", "/lab/gateways"),
            ("POST", "/lab/faults"),
            ("DELETE", "/lab/faults"),
            ("GET", "/lab/calls"),
            ("DELETE", "/lab/calls"),
            ("POST", "/lab/clusters"),
            ("DELETE", "/lab/clusters/x"),
            ("POST", "/lab/cluster-faults"),
            ("GET", "/lab/contract-violations"),
        ] {
            let mut req = http
                .request(method.parse().unwrap(), format!("{}{path}", lab.endpoint()))
                .json(
                    &json!({"name": "pcg", "method": "GET", "path_prefix": "/v1",
                              "kind": "drop", "count": 1}),
                );
            if let Some(k) = key {
                req = req.header("ApiKey", k);
            }
            let r = req.send().await.unwrap();
            assert_eq!(r.status(), 401, "{method} {path} with {key:?}");
            assert_palette_error(&r.json().await.unwrap(), "Unauthorized");
        }
    }
    assert_eq!(keys(), before + 1, "a refused request minted a key");
    assert!(lab.lab.store().gateways.is_empty());
    let r = http
        .get(format!("{}/v1/users/info", lab.endpoint()))
        .header("ApiKey", &minted)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200, "no fault was switched on");

    // The installer OVA is what an installer fetches without a key.
    let r = http
        .get(format!(
            "{}{}",
            lab.endpoint(),
            palette_lab::gateways::OVA_PATH
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
}

#[tokio::test]
async fn project_header_scopes_requests() {
    let (lab, http, _contract) = lab().await;
    let projects: Value = http
        .get(format!("{}/lab/projects", lab.endpoint()))
        .header("ApiKey", &lab.api_key)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let names: Vec<&str> = projects["projects"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, vec!["Default", "Production"]);
    let uid = projects["projects"][0]["uid"].as_str().unwrap();

    let r = http
        .get(format!("{}/v1/projects/{uid}", lab.endpoint()))
        .header("ApiKey", &lab.api_key)
        .header("ProjectUid", uid)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let p: Value = r.json().await.unwrap();
    assert_eq!(p["metadata"]["name"], "Default");

    let r = http
        .get(format!("{}/v1/users/info", lab.endpoint()))
        .header("ApiKey", &lab.api_key)
        .header("ProjectUid", "000000000000000000000000")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    assert_palette_error(&r.json().await.unwrap(), "Forbidden");

    let r = http
        .get(format!(
            "{}/v1/projects/000000000000000000000000",
            lab.endpoint()
        ))
        .header("ApiKey", &lab.api_key)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
    assert_palette_error(&r.json().await.unwrap(), "ResourceNotFound");
}

async fn add_fault(lab: &palette_lab::RunningLab, http: &reqwest::Client, rule: Value) {
    let r = http
        .post(format!("{}/lab/faults", lab.endpoint()))
        .header("ApiKey", &lab.api_key)
        .json(&rule)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201, "{}", r.text().await.unwrap());
}

#[tokio::test]
async fn faults_switch_on_and_expire() {
    let (lab, http, _contract) = lab().await;
    let url = format!("{}/v1/users/info", lab.endpoint());
    add_fault(&lab, &http, json!({"path_prefix": "/v1/users", "kind": "status", "status": 429, "retry_after_secs": 3, "count": 2})).await;
    for _ in 0..2 {
        let r = http
            .get(&url)
            .header("ApiKey", &lab.api_key)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 429);
        assert_eq!(r.headers()["Retry-After"], "3");
    }
    let r = http
        .get(&url)
        .header("ApiKey", &lab.api_key)
        .send()
        .await
        .unwrap();
    assert_eq!(
        r.status(),
        200,
        "the rule should have expired after two uses"
    );

    add_fault(
        &lab,
        &http,
        json!({"path_prefix": "/v1/users", "kind": "drop", "count": 1}),
    )
    .await;
    let r = http.get(&url).header("ApiKey", &lab.api_key).send().await;
    let failed = match r {
        Err(_) => true,
        Ok(resp) => resp.bytes().await.is_err(),
    };
    assert!(
        failed,
        "a dropped connection must surface as a transport error"
    );

    add_fault(
        &lab,
        &http,
        json!({"path_prefix": "/v1/users", "kind": "latency", "millis": 300, "count": 1}),
    )
    .await;
    let start = Instant::now();
    let r = http
        .get(&url)
        .header("ApiKey", &lab.api_key)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert!(start.elapsed() >= Duration::from_millis(300));

    add_fault(
        &lab,
        &http,
        json!({"path_prefix": "/v1/users", "kind": "no_answer", "count": 1}),
    )
    .await;
    let r = http
        .get(&url)
        .header("ApiKey", &lab.api_key)
        .timeout(Duration::from_millis(500))
        .send()
        .await;
    assert!(r.unwrap_err().is_timeout());

    let r = http
        .delete(format!("{}/lab/faults", lab.endpoint()))
        .header("ApiKey", &lab.api_key)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 204);
}

#[tokio::test]
async fn calls_are_counted_per_path() {
    let (lab, http, _contract) = lab().await;
    for _ in 0..3 {
        http.get(format!("{}/v1/users/info", lab.endpoint()))
            .header("ApiKey", &lab.api_key)
            .send()
            .await
            .unwrap();
    }
    let calls: Value = http
        .get(format!("{}/lab/calls", lab.endpoint()))
        .header("ApiKey", &lab.api_key)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(calls["GET /v1/users/info"], 3);
    http.delete(format!("{}/lab/calls", lab.endpoint()))
        .header("ApiKey", &lab.api_key)
        .send()
        .await
        .unwrap();
    let calls: Value = http
        .get(format!("{}/lab/calls", lab.endpoint()))
        .header("ApiKey", &lab.api_key)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(calls.get("GET /v1/users/info"), None);
}

#[tokio::test]
async fn calls_are_counted_by_pattern_and_a_pattern_no_route_fits_is_refused() {
    let (lab, http, _contract) = lab().await;
    let count = async |pattern: &str| {
        let mut url = reqwest::Url::parse(&format!("{}/lab/calls", lab.endpoint())).unwrap();
        url.query_pairs_mut().append_pair("match", pattern);
        let r = http
            .get(url)
            .header("ApiKey", &lab.api_key)
            .send()
            .await
            .unwrap();
        (r.status().as_u16(), r.json::<Value>().await.unwrap())
    };
    for _ in 0..2 {
        http.get(format!("{}/v1/users/info", lab.endpoint()))
            .header("ApiKey", &lab.api_key)
            .send()
            .await
            .unwrap();
    }
    for (pattern, n) in [
        ("GET /v1/users/info", 2),
        ("GET /v1/users/*", 2),
        ("GET /v1/**", 2),
        ("* /v1/users/info", 2),
        ("GET /v1/projects/*", 0),
        ("DELETE /v1/spectroclusters/*", 0),
        // The OVA download is outside /v1 but counted like it.
        (&format!("GET {}", palette_lab::gateways::OVA_PATH), 0),
    ] {
        let (status, body) = count(pattern).await;
        assert_eq!(
            (status, body["count"].as_u64()),
            (200, Some(n)),
            "{pattern}: {body}"
        );
    }
    // Paths the lab does not serve, or not with that method: counting them
    // would give 0 whatever the client did.
    for pattern in [
        "PATCH /v1/spectroclusters",
        "PATCH /v1/spectroclusters/*",
        "GET /v1/user/info",
        "POST /v1/projects/*",
        "GET /lab/calls",
        "get /v1/users/info",
        "GET /v1/users/inf*",
    ] {
        let (status, body) = count(pattern).await;
        assert_eq!(status, 400, "{pattern}: {body}");
        assert_palette_error(&body, "InvalidRequest");
    }
    let (_, body) = count("PATCH /v1/spectroclusters/*").await;
    let message = body["message"].as_str().unwrap();
    assert!(
        message.contains("fits no route")
            && message.contains("PATCH /v1/spectroclusters/{uid}/profiles"),
        "the refusal lists the routes for the method: {message}"
    );
}
