//! The lab as a witness of what clients send: requests that break the
//! Palette API spec (a misnamed body field, an unknown or mistyped query
//! parameter, a path value outside its enum) are recorded as violations,
//! correct ones are not, and error statuses the spec does not declare pass
//! only through a listed deviation, which the lab reports.

use palette_lab::contract::{self, Exchange, Violation};
use serde_json::{json, Value};

struct Lab {
    lab: palette_lab::RunningLab,
    http: reqwest::Client,
}

/// A lab with the contract check on but no guard: these tests break the
/// contract on purpose and look at what was recorded.
async fn lab() -> Lab {
    let _ =
        rustls::crypto::CryptoProvider::install_default(rustls::crypto::ring::default_provider());
    let lab = palette_lab::start("127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    lab.lab.contract.enable();
    Lab {
        lab,
        http: reqwest::Client::new(),
    }
}

impl Lab {
    async fn call(&self, method: &str, path: &str, body: Option<Value>) -> u16 {
        let mut req = self
            .http
            .request(
                method.parse().unwrap(),
                format!("{}{path}", self.lab.endpoint()),
            )
            .header("ApiKey", &self.lab.api_key);
        if let Some(b) = body {
            req = req.json(&b);
        }
        req.send().await.unwrap().status().as_u16()
    }

    async fn admin(&self, method: &str, path: &str, body: Option<Value>) -> Value {
        let mut req = self
            .http
            .request(
                method.parse().unwrap(),
                format!("{}{path}", self.lab.endpoint()),
            )
            .header("ApiKey", &self.lab.api_key);
        if let Some(b) = body {
            req = req.json(&b);
        }
        let text = req.send().await.unwrap().text().await.unwrap();
        serde_json::from_str(&text).unwrap_or(Value::Null)
    }

    async fn gateway(&self, name: &str) -> String {
        let r = self
            .admin("POST", "/lab/gateways", Some(json!({"name": name})))
            .await;
        r["uid"].as_str().unwrap().to_string()
    }

    /// The violations so far, cleared.
    fn taken(&self) -> Vec<Violation> {
        let found = self.lab.lab.contract.violations();
        self.lab.lab.contract.clear();
        found
    }

    /// The one violation recorded since the last look, which must have a
    /// problem starting with `problem`.
    fn one(&self, operation: &str, problem: &str) -> Violation {
        let found = self.taken();
        assert_eq!(found.len(), 1, "{found:#?}");
        let v = found.into_iter().next().unwrap();
        assert_eq!(v.operation, operation, "{v:#?}");
        assert!(
            v.problems.iter().any(|p| p.starts_with(problem)),
            "no problem starting with {problem:?} in {v:#?}"
        );
        v
    }
}

#[tokio::test]
async fn correct_requests_leave_no_violation() {
    let lab = lab().await;
    let gw = lab.gateway("gw-ok").await;
    assert_eq!(lab.call("GET", "/v1/overlords?name=gw-ok", None).await, 200);
    assert_eq!(
        lab.call("GET", "/v1/cloudaccounts/vsphere?limit=20&offset=0", None)
            .await,
        200
    );
    assert_eq!(
        lab.call(
            "POST",
            "/v1/dashboard/projects",
            Some(json!({"filter": {"name": {"eq": "Default"}}}))
        )
        .await,
        200
    );
    assert_eq!(
        lab.call(
            "PUT",
            &format!("/v1/overlords/{gw}/metadata"),
            Some(json!({"metadata": {"name": "gw-renamed", "labels": {"team": "a"}}}))
        )
        .await,
        204
    );
    assert_eq!(
        lab.call("GET", "/v1/overlords/pairing/code?cloudType=vsphere", None)
            .await,
        200
    );
    lab.lab.lab.contract.assert_clean();
}

#[tokio::test]
async fn a_misnamed_or_invented_body_field_is_a_violation() {
    let lab = lab().await;
    let gw = lab.gateway("gw-body").await;
    // `labls` for `labels`: the lab's serde model drops it without a word,
    // and the gateway keeps its old labels; the check names it.
    lab.call(
        "PUT",
        &format!("/v1/overlords/{gw}/metadata"),
        Some(json!({"metadata": {"name": "gw-body", "labls": {"team": "a"}}})),
    )
    .await;
    lab.one(
        "v1OverlordsUidMetadataUpdate",
        "request $.metadata.labls: not a property of this object in the spec",
    );
    // At the top of the body too.
    lab.call(
        "POST",
        "/v1/dashboard/projects",
        Some(json!({"filter": {"name": {"eq": "Default"}}, "sortBy": "name"})),
    )
    .await;
    lab.one(
        "v1ProjectsFilterSummary",
        "request $.sortBy: not a property",
    );
}

#[tokio::test]
async fn wrong_types_missing_required_fields_and_bodies_where_none_belong() {
    let lab = lab().await;
    let gw = lab.gateway("gw-types").await;
    lab.call(
        "PUT",
        &format!("/v1/overlords/{gw}/metadata"),
        Some(json!({"metadata": {"name": 5}})),
    )
    .await;
    lab.one(
        "v1OverlordsUidMetadataUpdate",
        "request $.metadata.name: a number where the spec has a string",
    );
    // v1ObjectMetaInputEntitySchema requires metadata.
    lab.call(
        "PUT",
        &format!("/v1/overlords/{gw}/metadata"),
        Some(json!({})),
    )
    .await;
    lab.one(
        "v1OverlordsUidMetadataUpdate",
        "request $.metadata: required, and missing",
    );
    // The password-less account is a deviation for answers only.
    lab.call(
        "POST",
        "/v1/cloudaccounts/vsphere",
        Some(json!({"metadata": {"name": "a"},
                    "spec": {"vcenterServer": "vc.example", "username": "u"}})),
    )
    .await;
    lab.one(
        "v1CloudAccountsVsphereCreate",
        "request $.spec.password: required, and missing",
    );
    // Reset takes no body.
    lab.call("PUT", &format!("/v1/overlords/{gw}/reset"), Some(json!({})))
        .await;
    lab.one(
        "v1OverlordsUidReset",
        "request $: a body (2 bytes) where the operation takes none",
    );
}

#[tokio::test]
async fn unknown_and_mistyped_query_parameters_are_violations() {
    let lab = lab().await;
    lab.call("GET", "/v1/overlords?nmae=gw", None).await;
    lab.one(
        "v1OverlordsList",
        "request query nmae: not a query parameter of this operation in the spec",
    );
    lab.call("GET", "/v1/cloudaccounts/vsphere?limit=ten", None)
        .await;
    lab.one(
        "v1CloudAccountsVsphereList",
        "request query limit: \"ten\" where the spec has an integer",
    );
    lab.call("GET", "/v1/overlords/pairing/code?cloudType=vmware", None)
        .await;
    lab.one(
        "v1OverlordsPairingCode",
        "request query cloudType: \"vmware\" is not one of",
    );
    lab.call(
        "POST",
        "/v1/dashboard/spectroclusters/search?limit=51",
        Some(json!({})),
    )
    .await;
    lab.one(
        "v1SpectroClustersSearchFilterSummary",
        "request query limit: 51 is above the maximum 50",
    );
    lab.call("DELETE", "/v1/spectroclusters/abc?forceDelete=yes", None)
        .await;
    lab.one(
        "v1SpectroClustersDelete",
        "request query forceDelete: \"yes\" where the spec has a boolean",
    );
    lab.call("GET", "/v1/overlords?name=a&name=b", None).await;
    lab.one(
        "v1OverlordsList",
        "request query name: given 2 times where the spec takes one value",
    );
}

#[tokio::test]
async fn path_values_and_paths_outside_the_spec_are_violations() {
    let lab = lab().await;
    let gw = lab.gateway("gw-path").await;
    // Events are for spectroclusters and edge hosts only.
    lab.call(
        "GET",
        &format!("/v1/events/components/cloudaccount/{gw}"),
        None,
    )
    .await;
    lab.one(
        "v1EventsComponentsObjTypeUidList",
        "request path {objectKind}: \"cloudaccount\" is not one of",
    );
    lab.call("GET", "/v1/overlords/vsphere/pools", None).await;
    let found = lab.taken();
    assert!(
        found.iter().any(|v| v.problems[0].contains("no operation")
            || v.problems[0].contains("the spec has no GET")),
        "{found:#?}"
    );
}

#[tokio::test]
async fn error_statuses_pass_only_through_listed_deviations_and_are_reported() {
    let lab = lab().await;
    // A deleted or unknown object: 404, which the spec never declares.
    assert_eq!(lab.call("GET", "/v1/overlords/nope", None).await, 404);
    assert_eq!(
        lab.call("GET", "/v1/cloudaccounts/vsphere/nope", None)
            .await,
        404
    );
    lab.lab.lab.contract.assert_clean();
    let report = lab.admin("GET", "/lab/contract-deviations", None).await;
    let used = report.as_array().expect("a list");
    assert_eq!(used.len(), 1, "{report:#}");
    assert_eq!(used[0]["name"], "404-no-such-object");
    assert_eq!(used[0]["uses"], 2);
    assert_eq!(
        used[0]["operations"],
        json!(["v1CloudAccountsVsphereGet", "v1OverlordsUidGet"])
    );
    assert!(used[0]["reason"].as_str().unwrap().contains("404"));
    let text = lab.lab.lab.contract.deviations_report().unwrap();
    assert!(text.contains("404-no-such-object x2"), "{text}");

    // Without a key: the 401 deviation, on any operation.
    let r = lab
        .http
        .get(format!("{}/v1/users/info", lab.lab.endpoint()))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    lab.lab.lab.contract.assert_clean();
    let names: Vec<Value> = lab
        .admin("GET", "/lab/contract-deviations", None)
        .await
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["name"].clone())
        .collect();
    assert_eq!(
        names,
        [json!("401-unauthenticated"), json!("404-no-such-object")]
    );

    lab.admin("DELETE", "/lab/contract-deviations", None).await;
    assert!(lab.lab.lab.contract.deviations_used().is_empty());
}

/// What the lab cannot be made to answer through its API: statuses that
/// no deviation covers for the operation.
#[test]
fn undeclared_error_statuses_without_a_deviation_are_violations() {
    let spec = contract::spec().expect("the spec");
    let error = br#"{"code":"X","message":"m","ref":"r"}"#;
    let answer = |method, path, status| {
        spec.examine(
            &Exchange {
                method,
                path,
                status,
                response_type: Some("application/json"),
                response_body: error,
                ..Exchange::default()
            },
            true,
        )
    };
    // users/info names no object: a 404 there is nothing Palette does.
    let v = answer("GET", "/v1/users/info", 404).violation.unwrap();
    assert!(
        v.problems[0].starts_with("status 404 is not declared"),
        "{v:#?}"
    );
    // A conflict from a read.
    assert!(answer("GET", "/v1/overlords/abc", 409).violation.is_some());
    // A teapot anywhere.
    assert!(answer("DELETE", "/v1/overlords/abc", 418)
        .violation
        .is_some());
    // And what the deviations cover passes, naming them.
    let ok = answer("DELETE", "/v1/overlords/abc", 409);
    assert!(ok.violation.is_none(), "{:?}", ok.violation);
    assert_eq!(
        ok.deviations.into_iter().collect::<Vec<_>>(),
        ["409-conflict"]
    );
    // Every deviation has a reason, and names are unique.
    let mut names: Vec<&str> = contract::DEVIATIONS.iter().map(|d| d.name).collect();
    assert!(contract::DEVIATIONS.iter().all(|d| d.reason.len() > 40));
    names.sort();
    names.dedup();
    assert_eq!(names.len(), contract::DEVIATIONS.len());
}
