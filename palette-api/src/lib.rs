//! The Palette API as this project uses it: serde models named after the
//! spec's definitions (generated), a client with safe retries and typed
//! errors, and IP pool arithmetic shared by the provider and the lab.

pub mod client;
pub mod models;
pub mod pool;

#[cfg(test)]
mod tests {
    use crate::models::*;

    #[test]
    fn a_gateway_reads_from_palette_json() {
        let json = r#"{
            "kind": "Overlord",
            "metadata": {"name": "pcg-dc1", "uid": "5f1e2d3c4b5a697887766554"},
            "status": {"state": "Running", "isActive": true, "isReady": true, "somethingNew": 1}
        }"#;
        let o: V1Overlord = serde_json::from_str(json).unwrap();
        assert_eq!(
            o.metadata.as_ref().and_then(|m| m.name.as_deref()),
            Some("pcg-dc1")
        );
        let status = o.status.unwrap();
        assert_eq!(status.state.as_deref(), Some("Running"));
        assert_eq!(status.is_ready, Some(true));
    }

    #[test]
    fn absent_fields_are_not_sent() {
        let a = V1VsphereCloudAccount {
            vcenter_server: Some("vc.example.com".into()),
            username: Some("svc".into()),
            ..Default::default()
        };
        let j = serde_json::to_value(&a).unwrap();
        assert_eq!(
            j,
            serde_json::json!({"vcenterServer": "vc.example.com", "username": "svc"})
        );
    }

    #[test]
    fn spec_spellings_are_kept_on_the_wire() {
        // The spec spells it this way; the wire must too.
        let spec = V1IpPoolEntitySpec {
            priavet_gateway_uid: Some("g".into()),
            ..Default::default()
        };
        assert!(serde_json::to_string(&spec)
            .unwrap()
            .contains("priavetGatewayUid"));
    }
}
