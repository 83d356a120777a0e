//! Gateway upgrades, as the spec carries them. Palette releases an upgrade
//! as a notification of the gateway's own cluster (`spec.spectroClusterUid`)
//! and raises the overlord's `status.notifications.isAvailable`; the
//! console's Update button applies it with `PATCH
//! /v1/spectroclusters/{uid}/packRefs?notify={notificationUid}`. The upgrade
//! then runs for a scaled few minutes: the gateway stays Running (its
//! clusters see no downtime), new cluster requests queue until it completes
//! (see clusters::lifecycle), and the gateway cluster's `status.spcApply`
//! shows it in flight (`lastModifiedTime` after `patchAppliedTime`).

use std::time::Duration;

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use palette_api::models::{
    V1ClusterNotificationUpdateEntity, V1ListMetaData, V1Notification, V1NotificationAction,
    V1NotificationSource, V1Notifications, V1ObjectMeta, V1RelatedObject, V1SpcApply, V1Upgrades,
};

use crate::error::ApiError;
use crate::ids;
use crate::model::gateway::{visible, Gateway, Upgrade};
use crate::state::{Lab, Scope, Store};

/// How long an applied upgrade runs (scaled by `--time-scale`).
pub const UPGRADE_DURATION: Duration = Duration::from_secs(180);

/// Events of gateways are filed under this kind (see gateways::events).
const GATEWAY_KIND: &str = "overlord";

fn notification(g: &Gateway, u: &Upgrade) -> V1Notification {
    V1Notification {
        metadata: Some(V1ObjectMeta {
            name: Some(format!("{}-upgrade", g.name)),
            uid: Some(u.notification_uid.clone()),
            creation_timestamp: Some(u.created.clone()),
            ..Default::default()
        }),
        r#type: Some("NotificationPackUpdate".into()),
        related_object: Some(V1RelatedObject {
            kind: Some("spectrocluster".into()),
            name: Some(g.name.clone()),
            uid: Some(g.cluster_uid.clone()),
        }),
        source: Some(V1NotificationSource {
            component: Some("private-cloud-gateway".into()),
        }),
        action: Some(V1NotificationAction {
            ack: Some(u.acked),
            is_done: Some(u.done),
            is_info: Some(false),
            action_type: Some("NotifyActionPacksUpdate".into()),
            action_message: Some(
                "An upgrade of the gateway's OS image and components is available. Clusters keep \
                 running while it is applied; new cluster requests queue until it completes."
                    .into(),
            ),
            ..Default::default()
        }),
    }
}

#[derive(serde::Deserialize)]
pub struct DoneQuery {
    #[serde(rename = "isDone")]
    is_done: Option<String>,
}

/// `GET /v1/notifications/{objectKind}/{objectUid}`: a gateway cluster's
/// upgrade notification (by default the ones not done; `isDone=true` for
/// the done ones). Tenant clusters have none in the lab.
pub async fn list(
    State(lab): State<Lab>,
    Extension(scope): Extension<Scope>,
    Path((kind, uid)): Path<(String, String)>,
    Query(q): Query<DoneQuery>,
) -> Response {
    let done = q.is_done.as_deref() == Some("true");
    let store = lab.store();
    let items: Vec<V1Notification> = store
        .gateways
        .iter()
        .filter(|g| kind == "spectrocluster" && !g.cluster_uid.is_empty() && g.cluster_uid == uid)
        .filter(|g| visible(g, &scope))
        .filter_map(|g| {
            let u = g.upgrade.as_ref()?;
            (u.done == done).then(|| notification(g, u))
        })
        .collect();
    Json(V1Notifications {
        listmeta: Some(V1ListMetaData {
            count: Some(items.len() as i64),
            ..Default::default()
        }),
        items: Some(items),
    })
    .into_response()
}

fn by_notification<'a>(
    store: &'a mut Store,
    uid: &str,
    scope: &Scope,
) -> Result<&'a mut Gateway, ApiError> {
    store
        .gateways
        .iter_mut()
        .find(|g| {
            visible(g, scope)
                && g.upgrade
                    .as_ref()
                    .is_some_and(|u| u.notification_uid == uid)
        })
        .ok_or_else(|| ApiError::not_found("notification", uid))
}

/// `PATCH /v1/notifications/{uid}/ack`: reviewed.
pub async fn ack(
    State(lab): State<Lab>,
    Extension(scope): Extension<Scope>,
    Path(uid): Path<String>,
) -> Response {
    let mut store = lab.store();
    match by_notification(&mut store, &uid, &scope) {
        Ok(g) => {
            if let Some(u) = g.upgrade.as_mut() {
                u.acked = true;
            }
            StatusCode::NO_CONTENT.into_response()
        }
        Err(e) => e.into_response(),
    }
}

/// `PATCH /v1/notifications/{uid}/done`: marked done. An upgrade still
/// running is refused (it is not done); one never applied is dismissed;
/// one completed is done already.
pub async fn done(
    State(lab): State<Lab>,
    Extension(scope): Extension<Scope>,
    Path(uid): Path<String>,
) -> Response {
    let mut store = lab.store();
    match by_notification(&mut store, &uid, &scope) {
        Ok(g) => {
            let Some(u) = g.upgrade.as_mut() else {
                return ApiError::not_found("notification", &uid).into_response();
            };
            if u.running() {
                return ApiError::conflict(format!(
                    "the upgrade of gateway '{}' is still being applied",
                    g.name
                ))
                .into_response();
            }
            u.done = true;
            StatusCode::NO_CONTENT.into_response()
        }
        Err(e) => e.into_response(),
    }
}

#[derive(serde::Deserialize)]
pub struct NotifyQuery {
    notify: Option<String>,
}

/// `PATCH /v1/spectroclusters/{uid}/packRefs?notify=`: applies a
/// notification's pack updates. For a gateway's cluster this starts the
/// gateway upgrade; the lab files no notifications for tenant clusters.
pub async fn apply(
    State(lab): State<Lab>,
    Extension(scope): Extension<Scope>,
    Path(uid): Path<String>,
    Query(q): Query<NotifyQuery>,
    Json(_body): Json<V1ClusterNotificationUpdateEntity>,
) -> Response {
    let now = lab.clock.now();
    let (gateway, generation) = {
        let mut store = lab.store();
        let Some(g) = store
            .gateways
            .iter_mut()
            .find(|g| !g.cluster_uid.is_empty() && g.cluster_uid == uid && visible(g, &scope))
        else {
            return if store.clusters.iter().any(|c| c.uid == uid) {
                ApiError::not_found("notification", q.notify.as_deref().unwrap_or_default())
            } else {
                ApiError::not_found("cluster", &uid)
            }
            .into_response();
        };
        let wanted = q.notify.unwrap_or_default();
        let Some(u) = g
            .upgrade
            .as_mut()
            .filter(|u| !wanted.is_empty() && u.notification_uid == wanted)
        else {
            return ApiError::not_found("notification", &wanted).into_response();
        };
        if u.running() {
            return ApiError::conflict(format!(
                "the upgrade of gateway '{}' is already being applied",
                g.name
            ))
            .into_response();
        }
        if !u.available() {
            return ApiError::conflict(format!(
                "notification '{wanted}' of gateway '{}' is done",
                g.name
            ))
            .into_response();
        }
        if g.state != "Running" {
            return ApiError::conflict(format!(
                "gateway '{}' is {}: an upgrade is applied to a Running gateway",
                g.name, g.state
            ))
            .into_response();
        }
        u.started = Some(now);
        let (name, gateway, generation) = (g.name.clone(), g.uid.clone(), g.generation);
        store.event(
            GATEWAY_KIND,
            &gateway,
            &name,
            "Normal",
            "Upgrading",
            "gateway upgrade started; new cluster requests queue until it completes",
        );
        (gateway, generation)
    };
    spawn_completion(lab, gateway, generation, UPGRADE_DURATION);
    StatusCode::NO_CONTENT.into_response()
}

/// Completes a running upgrade after `after` (scaled), unless the gateway
/// changed (reset, deleted) in the meantime.
fn spawn_completion(lab: Lab, gateway: String, generation: u64, after: Duration) {
    lab.clone().spawn(async move {
        tokio::time::sleep(lab.scaled(after)).await;
        let now = lab.clock.now();
        let mut store = lab.store();
        let Some(g) = store
            .gateways
            .iter_mut()
            .find(|g| g.uid == gateway && g.generation == generation)
        else {
            return;
        };
        let Some(u) = g.upgrade.as_mut().filter(|u| u.running()) else {
            return;
        };
        // Applied is done: the notification leaves the list of those to
        // apply (a client's own PATCH .../done after it changes nothing).
        u.completed = Some(now);
        u.done = true;
        let name = g.name.clone();
        store.event(
            GATEWAY_KIND,
            &gateway,
            &name,
            "Normal",
            "Upgraded",
            "gateway upgrade completed; queued cluster requests are processed",
        );
    });
}

/// After a restart: an upgrade that was running completes after what was
/// left of it (all of it: the lab keeps no finer record).
pub(crate) fn resume(lab: &Lab) {
    let running: Vec<(String, u64)> = lab
        .store()
        .gateways
        .iter()
        .filter(|g| g.upgrade.as_ref().is_some_and(Upgrade::running))
        .map(|g| (g.uid.clone(), g.generation))
        .collect();
    for (uid, generation) in running {
        spawn_completion(lab.clone(), uid, generation, UPGRADE_DURATION);
    }
}

/// Whether the gateway `uid` is applying an upgrade: cluster creates on it
/// wait (the document: "New cluster requests are queued while the gateway
/// is being upgraded").
pub fn upgrading(store: &Store, gateway: &str) -> Option<String> {
    store
        .gateways
        .iter()
        .find(|g| g.uid == gateway && g.upgrade.as_ref().is_some_and(Upgrade::running))
        .map(|g| g.name.clone())
}

/// The gateway cluster's `status.spcApply` and `status.upgrades`: an
/// applied upgrade shows as a change (`lastModifiedTime`) not yet applied
/// (`patchAppliedTime`) until it completes.
pub fn cluster_status(g: &Gateway) -> (Option<V1SpcApply>, Option<Vec<V1Upgrades>>) {
    let Some(u) = g.upgrade.as_ref().filter(|u| u.started.is_some()) else {
        return (None, None);
    };
    let apply = V1SpcApply {
        action_type: Some("DownloadAndInstall".into()),
        can_be_applied: Some(true),
        last_modified_time: u.started.clone(),
        patch_applied_time: u.completed.clone(),
        ..Default::default()
    };
    let upgrades = u.completed.as_ref().map(|t| {
        vec![V1Upgrades {
            reason: Some(vec!["gateway upgrade".into()]),
            timestamp: Some(t.clone()),
        }]
    });
    (Some(apply), upgrades)
}

#[derive(serde::Deserialize)]
pub struct Release {
    /// Whether Palette has an upgrade for the gateway.
    pub available: bool,
}

/// `POST /lab/gateways/{uid}/upgrade`: releases an upgrade for a gateway
/// (a notification of its cluster), or withdraws one not yet applied.
pub async fn admin_release(
    State(lab): State<Lab>,
    Path(uid): Path<String>,
    Json(body): Json<Release>,
) -> Response {
    let now = lab.clock.now();
    let mut store = lab.store();
    let Some(g) = store.gateways.iter_mut().find(|g| g.uid == uid) else {
        return ApiError::not_found("gateway", &uid).into_response();
    };
    match (body.available, g.upgrade.as_ref()) {
        (_, Some(u)) if u.running() => {
            return ApiError::conflict("the gateway's upgrade is running").into_response()
        }
        (true, Some(u)) if u.available() => {}
        (true, _) => {
            g.upgrade = Some(Upgrade {
                notification_uid: ids::new_uid(),
                created: now,
                ..Default::default()
            })
        }
        (false, Some(u)) if u.available() => g.upgrade = None,
        (false, _) => {}
    }
    let n = g.upgrade.as_ref().map(|u| u.notification_uid.clone());
    (
        StatusCode::OK,
        Json(serde_json::json!({"notification_uid": n})),
    )
        .into_response()
}
