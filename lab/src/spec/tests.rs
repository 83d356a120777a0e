use super::*;
use serde_json::json;

fn defs() -> Map<String, Value> {
    json!({
        "v1Uid": {"type": "object", "required": ["uid"],
                  "properties": {"uid": {"type": "string"}}},
        "v1Meta": {"type": "object", "properties": {
            "name": {"type": "string"},
            "labels": {"type": "object", "additionalProperties": {"type": "string"}},
            "created": {"type": "string", "format": "date-time"}}},
        "v1Thing": {"type": "object", "properties": {
            "metadata": {"$ref": "#/definitions/v1Meta"},
            "size": {"type": "integer", "format": "int32"},
            "state": {"type": "string", "enum": ["Running", "Deleted"]},
            "tags": {"type": "array", "items": {"type": "string"}},
            "free": {"type": "object"},
            "maybe": {"type": "string", "x-nullable": true}}}
    })
    .as_object()
    .unwrap()
    .clone()
}

fn problems(def: &str, v: Value) -> Vec<String> {
    let mut p = Vec::new();
    validate(
        &defs(),
        &json!({"$ref": format!("#/definitions/{def}")}),
        &v,
        "$",
        &mut p,
    );
    p
}

#[test]
fn a_conforming_value_passes_and_absent_optional_fields_are_fine() {
    let v = json!({
        "metadata": {"name": "a", "labels": {"k": "v"}, "created": "2024-05-01T10:00:00.123Z"},
        "size": 3, "state": "Running", "tags": ["x"], "free": {"anything": [1]},
        "maybe": null
    });
    assert_eq!(problems("v1Thing", v), Vec::<String>::new());
    assert_eq!(problems("v1Thing", json!({})), Vec::<String>::new());
}

#[test]
fn invented_properties_are_caught_through_refs() {
    let p = problems("v1Thing", json!({"metadata": {"name": "a", "invented": 1}}));
    assert_eq!(
        p,
        vec!["$.metadata.invented: not a property of this object in the spec"]
    );
    let p = problems("v1Thing", json!({"invented": true}));
    assert_eq!(p.len(), 1, "{p:?}");
}

#[test]
fn wrong_types_ranges_enums_and_formats_are_caught() {
    let p = problems(
        "v1Thing",
        json!({"size": "3", "state": "Gone", "tags": [1],
               "metadata": {"labels": {"k": 1}, "created": "yesterday", "name": null}}),
    );
    assert_eq!(p.len(), 6, "{p:?}");
    assert!(p.contains(&"$.size: a string where the spec has an integer".to_string()));
    assert!(p.contains(&"$.tags[0]: a number where the spec has a string".to_string()));
    assert!(p.contains(&"$.metadata.labels.k: a number where the spec has a string".to_string()));
    assert_eq!(problems("v1Thing", json!({"size": 4294967296u64})).len(), 1);
    assert_eq!(problems("v1Thing", json!({"size": 1.5})).len(), 1);
}

#[test]
fn required_fields_and_unresolvable_refs_are_caught() {
    assert_eq!(
        problems("v1Uid", json!({})),
        vec!["$.uid: required, and missing"]
    );
    assert_eq!(problems("v1Nope", json!({})).len(), 1);
}

#[test]
fn rfc3339() {
    for ok in [
        "2024-05-01T10:00:00Z",
        "2024-05-01T10:00:00.5+02:00",
        "2024-12-31t23:59:60z",
    ] {
        assert!(is_rfc3339(ok), "{ok}");
    }
    for bad in [
        "2024-05-01 10:00:00Z",
        "2024-13-01T10:00:00Z",
        "2024-05-01T10:00:00",
        "2024-05-01T10:00:00.Z",
        "2024-05-01T10:00:00+0200",
    ] {
        assert!(!is_rfc3339(bad), "{bad}");
    }
}

fn tiny_spec() -> Spec {
    let doc = json!({
        "paths": {
            "/v1/overlords/{uid}": {
                "get": {"operationId": "get", "responses": {"200": {"schema": {"$ref": "#/definitions/v1Uid"}}}},
                "delete": {"operationId": "del", "responses": {"204": {"description": "gone"}}}},
            "/v1/overlords/pairing/code": {
                "get": {"operationId": "pairing", "responses": {"200": {"schema": {"type": "object", "properties": {"pairingCode": {"type": "string"}}}}}}},
            "/v1/kube/{uid}": {
                "get": {"operationId": "kube", "responses": {"200": {"schema": {"type": "string", "format": "binary"}}}}}
        },
        "definitions": {
            "v1Uid": {"type": "object", "required": ["uid"], "properties": {"uid": {"type": "string"}}},
            "v1Error": {"type": "object", "properties": {"code": {"type": "string"}, "message": {"type": "string"}, "ref": {"type": "string"}}}
        }
    });
    Spec::from_documents(&doc, None, &[])
}

const JSON: Option<&str> = Some("application/json");

#[test]
fn literal_segments_win_over_parameters() {
    let s = tiny_spec();
    assert_eq!(
        s.operation_id("GET", "/v1/overlords/pairing/code"),
        Some("pairing")
    );
    assert_eq!(s.operation_id("GET", "/v1/overlords/abc"), Some("get"));
    assert_eq!(s.operation_id("GET", "/v1/overlords/abc/x"), None);
    let v = s
        .check(
            "GET",
            "/v1/overlords/pairing/code",
            200,
            JSON,
            br#"{"uid":"u"}"#,
        )
        .unwrap();
    assert_eq!(v.operation, "pairing");
    assert_eq!(
        v.problems,
        vec!["$.uid: not a property of this object in the spec"]
    );
}

#[test]
fn statuses_bodies_and_errors_are_checked() {
    let s = tiny_spec();
    assert_eq!(
        s.check("GET", "/v1/overlords/a", 200, JSON, br#"{"uid":"u"}"#),
        None
    );
    assert_eq!(s.check("DELETE", "/v1/overlords/a", 204, None, b""), None);
    assert_eq!(
        s.check(
            "GET",
            "/v1/kube/a",
            200,
            Some("application/octet-stream"),
            b"apiVersion: v1"
        ),
        None
    );
    let err = br#"{"code":"ResourceNotFound","message":"no","ref":"r"}"#;
    assert_eq!(s.check("GET", "/v1/overlords/a", 404, JSON, err), None);
    assert_eq!(s.check("GET", "/v1/nowhere", 404, JSON, err), None);
    let undeclared = s
        .check("DELETE", "/v1/overlords/a", 200, JSON, br#"{}"#)
        .unwrap();
    assert_eq!(undeclared.problems.len(), 1, "{undeclared:?}");
    assert!(s
        .check("DELETE", "/v1/overlords/a", 204, JSON, b"{}")
        .is_some());
    assert!(s
        .check("GET", "/v1/overlords/a", 200, Some("text/plain"), b"u")
        .is_some());
    assert!(s.check("PUT", "/v1/overlords/a", 200, None, b"").is_some());
    assert!(s.check("GET", "/v1/nowhere", 200, JSON, b"{}").is_some());
    let bad_error = s
        .check("GET", "/v1/overlords/a", 500, JSON, br#"{"error":"x"}"#)
        .unwrap();
    assert_eq!(bad_error.problems.len(), 3, "{bad_error:?}");
}

#[test]
fn the_real_spec_loads_with_the_extra_operations() {
    let s = spec().expect("the spec");
    assert!(s.notes.is_empty(), "{:?}", s.notes);
    assert_eq!(
        s.operation_id("GET", "/v1/spectroclusters/abc/status"),
        Some("v1SpectroClustersUidStatus")
    );
    assert_eq!(
        s.operation_id("GET", "/v1/overlords/pairing/code"),
        Some("v1OverlordsPairingCode")
    );
    assert_eq!(
        s.operation_id("PATCH", "/v1/spectroclusters/abc/profiles"),
        Some("v1SpectroClustersPatchProfiles")
    );
    assert!(s.error.is_some());
}

#[test]
fn known_deviations_widen_only_what_they_name() {
    let s = spec().expect("the spec");
    let check = |state: &str| {
        let mut p = Vec::new();
        let v = json!({"items": [{"status": {"instanceState": state}}]});
        validate(
            &s.definitions,
            &json!({"$ref": "#/definitions/v1VsphereMachines"}),
            &v,
            "$",
            &mut p,
        );
        p
    };
    // The spec's own states pass, an invented one does not.
    assert!(check("Unknown").is_empty());
    assert_eq!(check("PoweredOff").len(), 1);
    let mut p = Vec::new();
    let account = json!({"spec": {"vcenterServer": "vc", "username": "u"}});
    validate(
        &s.definitions,
        &json!({"$ref": "#/definitions/v1VsphereAccount"}),
        &account,
        "$",
        &mut p,
    );
    assert!(p.is_empty(), "{p:?}");
    validate(
        &s.definitions,
        &json!({"$ref": "#/definitions/v1VsphereAccount"}),
        &json!({"spec": {}}),
        "$",
        &mut p,
    );
    assert_eq!(p.len(), 2, "{p:?}");
}
