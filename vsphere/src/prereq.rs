//! What the reference document asks of a vSphere environment before Palette
//! is installed, as facts read from vCenter: the account's privileges
//! (asked of vCenter's AuthorizationManager, never guessed from role
//! names), each host's NTP configuration and the datastores it mounts.
//! Judging the facts is the caller's business.

use vim_rs::mo;
use vim_rs::types::structs::{HostServiceInfo, ManagedObjectReference};

use crate::error::Error;
use crate::session::Session;
use crate::tags::ObjectRef;

/// One host of a compute cluster, as the checks need it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct HostFacts {
    pub name: String,
    /// `config.dateTimeInfo.ntpConfig.server`; empty when none is set.
    pub ntp_servers: Vec<String>,
    /// Whether the host's `ntpd` service runs; `None` when the host lists
    /// no such service.
    pub ntpd_running: Option<bool>,
    /// Names of the datastores the host mounts.
    pub datastores: Vec<String>,
}

/// vim_rs reports an unset property as a parse error naming it empty; for
/// optional configuration that is "not set", not a failure.
fn unset(e: &vim_rs::core::client::Error) -> bool {
    matches!(e, vim_rs::core::client::Error::ParseError(m) if m.ends_with("was empty"))
}

impl Session {
    /// The root folder, where the reference document's root-level role is
    /// granted.
    pub fn root_ref(&self) -> ObjectRef {
        ObjectRef::from(&self.vim().service_content().root_folder)
    }

    /// A datastore by datacenter and name.
    pub async fn datastore_ref(&self, datacenter: &str, name: &str) -> Result<ObjectRef, Error> {
        let m = self
            .find("datastore", &format!("{datacenter}/datastore/{name}"))
            .await?;
        Ok(ObjectRef::from(&m))
    }

    /// The user this session is logged in as, as vCenter spells it
    /// (`VSPHERE.LOCAL\\svc-palette` for `svc-palette@vsphere.local`): the
    /// name its privilege checks take.
    pub async fn session_user(&self) -> Result<String, Error> {
        let sm = self
            .vim()
            .service_content()
            .session_manager
            .clone()
            .ok_or_else(|| Error::Protocol {
                server: self.server().into(),
                message: "no SessionManager".into(),
            })?;
        let s = mo::SessionManager::new(self.handle(), &sm.value)
            .current_session()
            .await
            .map_err(|e| self.err(e))?;
        s.map(|s| s.user_name).ok_or_else(|| Error::Protocol {
            server: self.server().into(),
            message: "no current session".into(),
        })
    }

    /// Which of `privileges` (ids such as `Datastore.Browse`) `user` lacks
    /// on `entity`, as vCenter answers HasUserPrivilegeOnEntities. A
    /// privilege vCenter does not answer for counts as lacking.
    pub async fn missing_privileges(
        &self,
        entity: &ObjectRef,
        user: &str,
        privileges: &[&str],
    ) -> Result<Vec<String>, Error> {
        let content = self.vim().service_content();
        let am = content
            .authorization_manager
            .as_ref()
            .ok_or_else(|| Error::Protocol {
                server: self.server().into(),
                message: "no AuthorizationManager".into(),
            })?;
        let m = to_moref(entity);
        let ids: Vec<String> = privileges.iter().map(|p| p.to_string()).collect();
        let answer = mo::AuthorizationManager::new(self.handle(), &am.value)
            .has_user_privilege_on_entities(&[m], user, Some(&ids))
            .await
            .map_err(|e| self.err(e))?
            .unwrap_or_default();
        let granted: Vec<&str> = answer
            .iter()
            .filter(|e| e.entity.value == entity.id)
            .flat_map(|e| e.priv_availability.iter())
            .filter(|p| p.is_granted)
            .map(|p| p.priv_id.as_str())
            .collect();
        Ok(privileges
            .iter()
            .filter(|p| !granted.contains(p))
            .map(|p| p.to_string())
            .collect())
    }

    /// Every host of a compute cluster with its NTP settings and mounted
    /// datastores, by host name.
    pub async fn cluster_hosts(
        &self,
        datacenter: &str,
        cluster: &str,
    ) -> Result<Vec<HostFacts>, Error> {
        let c = self.cluster_ref(datacenter, cluster).await?;
        let c = to_moref(&c);
        let vim = self.vim();
        let hosts = match vim
            .fetch_property::<Vec<ManagedObjectReference>>(c, "host")
            .await
        {
            Ok(h) => h,
            Err(e) if unset(&e) => Vec::new(),
            Err(e) => return Err(self.err(e)),
        };
        let mut out = Vec::new();
        for h in hosts {
            let name = self.name_of(&h).await?;
            let ntp_servers = match vim
                .fetch_property::<Vec<String>>(h.clone(), "config.dateTimeInfo.ntpConfig.server")
                .await
            {
                Ok(s) => s,
                Err(e) if unset(&e) => Vec::new(),
                Err(e) => return Err(self.err(e)),
            };
            let ntpd_running = match vim
                .fetch_property::<HostServiceInfo>(h.clone(), "config.service")
                .await
            {
                Ok(s) => s
                    .service
                    .unwrap_or_default()
                    .into_iter()
                    .find(|s| s.key == "ntpd")
                    .map(|s| s.running),
                Err(e) if unset(&e) => None,
                Err(e) => return Err(self.err(e)),
            };
            let mut datastores = Vec::new();
            let mounted = match vim
                .fetch_property::<Vec<ManagedObjectReference>>(h.clone(), "datastore")
                .await
            {
                Ok(d) => d,
                Err(e) if unset(&e) => Vec::new(),
                Err(e) => return Err(self.err(e)),
            };
            for d in mounted {
                datastores.push(self.name_of(&d).await?);
            }
            datastores.sort();
            out.push(HostFacts {
                name,
                ntp_servers,
                ntpd_running,
                datastores,
            });
        }
        out.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(out)
    }
}

fn to_moref(o: &ObjectRef) -> ManagedObjectReference {
    ManagedObjectReference {
        r#type: vim_rs::types::enums::MoTypesEnum::from_str(&o.kind),
        value: o.id.clone(),
    }
}
