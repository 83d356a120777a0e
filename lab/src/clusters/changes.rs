//! Changes made in place: profiles, metadata, and the kubeconfig they serve.

use super::*;

// ---------------------------------------------------------------- in-place changes

/// `PATCH /v1/spectroclusters/{uid}/profiles`: the named packs' values (and
/// the variables) of the cluster's profiles; `replaceWithProfile` swaps a
/// profile for another (a new version), keeping no overrides of the old.
pub async fn profiles_patch(
    State(lab): State<Lab>,
    Extension(scope): Extension<Scope>,
    Path(uid): Path<String>,
    Json(body): Json<V1SpectroClusterProfiles>,
) -> Response {
    let mut store = lab.store();
    let (mut profiles, name) = match find(&store, &uid, &scope) {
        Ok(c) => {
            if let Err(e) = refuse_if_deleting(c) {
                return e.into_response();
            }
            (c.profiles.clone(), c.name.clone())
        }
        Err(e) => return e.into_response(),
    };
    for (i, e) in body.profiles.unwrap_or_default().iter().enumerate() {
        let old_uid = e.uid.clone().unwrap_or_default();
        let Some(slot) = profiles.iter().position(|p| p.uid == old_uid) else {
            return invalid(format!(
                "profiles[{i}]: cluster profile '{old_uid}' is not a profile of cluster '{name}' \
                 (use replaceWithProfile to switch a profile)"
            ))
            .into_response();
        };
        let target = e
            .replace_with_profile
            .clone()
            .filter(|r| !r.is_empty())
            .unwrap_or(old_uid.clone());
        let Some(p) = store
            .profiles
            .iter()
            .find(|p| p.uid == target && (p.scope == Scope::Tenant || p.scope == scope))
        else {
            return invalid(format!(
                "profiles[{i}]: cluster profile '{target}' not found"
            ))
            .into_response();
        };
        let given = match pack_values(p, e) {
            Ok(v) => v,
            Err(e) => return e.into_response(),
        };
        let entry = &mut profiles[slot];
        if target != old_uid {
            entry.uid = target;
            entry.values = given;
        } else {
            for v in e.pack_values.clone().unwrap_or_default() {
                let pack = v.name.unwrap_or_default();
                match given.get(&pack) {
                    Some(values) => {
                        entry.values.insert(pack, values.clone());
                    }
                    // Named without values: back to the profile's own.
                    None => {
                        entry.values.remove(&pack);
                    }
                }
            }
        }
        if let Some(vars) = &e.variables {
            entry.variables = vars.clone();
        }
    }
    let Ok(c) = find_mut(&mut store, &uid, &scope) else {
        return not_found(&uid).into_response();
    };
    c.profiles = profiles;
    c.modified = lab.clock.now();
    store.event(
        KIND,
        &uid,
        &name,
        "Normal",
        "ProfilesUpdated",
        "cluster profile pack values updated",
    );
    StatusCode::NO_CONTENT.into_response()
}

/// `PATCH /v1/spectroclusters/{uid}/metadata`: tags (labels) and
/// annotations (the description); the name cannot change.
pub async fn metadata_patch(
    State(lab): State<Lab>,
    Extension(scope): Extension<Scope>,
    Path(uid): Path<String>,
    Json(body): Json<V1ObjectMetaInputEntitySchema>,
) -> Response {
    let meta = body.metadata.unwrap_or_default();
    let mut store = lab.store();
    let c = match find_mut(&mut store, &uid, &scope) {
        Ok(c) => c,
        Err(e) => return e.into_response(),
    };
    if let Some(n) = meta.name.as_deref().filter(|n| !n.is_empty()) {
        if n != c.name {
            return invalid(format!(
                "metadata.name cannot change ('{}' -> '{n}'): a cluster is never renamed",
                c.name
            ))
            .into_response();
        }
    }
    if let Some(labels) = meta.labels {
        c.labels = labels;
    }
    if let Some(mut annotations) = meta.annotations {
        annotations.remove("scope");
        c.annotations = annotations;
    }
    c.modified = lab.clock.now();
    let name = c.name.clone();
    store.event(
        KIND,
        &uid,
        &name,
        "Normal",
        "MetadataUpdated",
        "tags and description updated",
    );
    StatusCode::NO_CONTENT.into_response()
}

/// `GET /v1/spectroclusters/{uid}/assets/kubeconfig`: once a control-plane
/// node exists.
pub async fn kubeconfig(
    State(lab): State<Lab>,
    Extension(scope): Extension<Scope>,
    Path(uid): Path<String>,
) -> Response {
    let store = lab.store();
    let c = match find(&store, &uid, &scope) {
        Ok(c) => c,
        Err(e) => return e.into_response(),
    };
    let Some(host) = endpoint(c) else {
        return ApiError::new(
            StatusCode::NOT_FOUND,
            "ResourceNotFound",
            format!(
                "cluster '{}' has no kubeconfig yet: its control plane is not up ({})",
                c.name, c.state
            ),
        )
        .into_response();
    };
    let n = &c.name;
    let ca = {
        use base64::Engine as _;
        base64::engine::general_purpose::STANDARD.encode(cluster_ca(&c.uid))
    };
    let text = format!(
        "apiVersion: v1\n\
         kind: Config\n\
         clusters:\n\
         - name: {n}\n  cluster:\n    server: https://{host}:6443\n    certificate-authority-data: {ca}\n\
         contexts:\n\
         - name: {n}-admin@{n}\n  context:\n    cluster: {n}\n    user: {n}-admin\n\
         current-context: {n}-admin@{n}\n\
         users:\n\
         - name: {n}-admin\n  user:\n    token: {}\n",
        c.token
    );
    (
        [
            (header::CONTENT_TYPE, "application/octet-stream".to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{n}.kubeconfig\""),
            ),
        ],
        text,
    )
        .into_response()
}

/// A cluster's CA certificate as its kubeconfig carries it: a PEM block
/// unique to the cluster, so a client that mixed two clusters' entries up
/// would be caught. It is shaped like a certificate without being one: the
/// servers the lab's kubeconfigs name are never contacted.
pub(super) fn cluster_ca(uid: &str) -> String {
    use base64::Engine as _;
    let mut der = Vec::new();
    for part in 0u8..8 {
        let seed = format!("palette-lab cluster CA {uid} {part}");
        der.extend_from_slice(
            ring::digest::digest(&ring::digest::SHA256, seed.as_bytes()).as_ref(),
        );
    }
    let body = base64::engine::general_purpose::STANDARD.encode(der);
    let lines: Vec<&str> = body
        .as_bytes()
        .chunks(64)
        .map(|l| std::str::from_utf8(l).expect("base64 is ASCII"))
        .collect();
    format!(
        "-----BEGIN CERTIFICATE-----\n{}\n-----END CERTIFICATE-----\n",
        lines.join("\n")
    )
}
