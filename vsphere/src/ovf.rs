//! OVA deployment: download to a file, read the tar's index, create an
//! import spec with property values (OvfManager), import it into a resource
//! pool (ImportVApp), stream each file to its NFC lease URL, complete.
//!
//! Files are streamed from disk, never held in memory: installer OVAs are
//! gigabytes.

use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncSeekExt};
use vim_rs::core::client::VimClient;
use vim_rs::mo;
use vim_rs::types::enums::HttpNfcLeaseStateEnum;
use vim_rs::types::structs::{
    KeyValue, OvfCreateImportSpecParams, OvfManagerCommonParams, OvfNetworkMapping,
};

use crate::error::Error;
use crate::session::Session;
use crate::vm::Resolved;

/// An OVA on disk: its descriptor and where each file lies in the tar.
#[derive(Debug)]
pub struct Ova {
    pub path: PathBuf,
    pub descriptor: String,
    /// File name -> (offset of its data in the tar, size).
    pub files: BTreeMap<String, (u64, u64)>,
}

impl Ova {
    /// Indexes an OVA file (a tar whose first `.ovf` entry is the descriptor).
    pub fn open(path: &Path) -> Result<Ova, Error> {
        let bad = |m: String| Error::Protocol {
            server: path.display().to_string(),
            message: m,
        };
        let f = std::fs::File::open(path).map_err(|e| bad(format!("cannot open the OVA: {e}")))?;
        let mut archive = tar::Archive::new(f);
        let mut descriptor = None;
        let mut files = BTreeMap::new();
        for entry in archive
            .entries()
            .map_err(|e| bad(format!("not a tar archive: {e}")))?
        {
            let mut entry = entry.map_err(|e| bad(format!("broken tar entry: {e}")))?;
            let name = entry
                .path()
                .map_err(|e| bad(e.to_string()))?
                .display()
                .to_string();
            if name.ends_with(".ovf") && descriptor.is_none() {
                let mut s = String::new();
                entry
                    .read_to_string(&mut s)
                    .map_err(|e| bad(format!("descriptor {name}: {e}")))?;
                descriptor = Some(s);
            } else {
                files.insert(name, (entry.raw_file_position(), entry.size()));
            }
        }
        let descriptor = descriptor.ok_or_else(|| bad("no .ovf descriptor in the OVA".into()))?;
        Ok(Ova {
            path: path.to_path_buf(),
            descriptor,
            files,
        })
    }
}

/// Downloads `url` to `dest`, chunk by chunk.
pub async fn download(http: &reqwest::Client, url: &str, dest: &Path) -> Result<(), Error> {
    let fail = |m: String| Error::Unreachable {
        server: url.to_string(),
        message: m,
    };
    let mut resp = http
        .get(url)
        .send()
        .await
        .map_err(|e| fail(e.to_string()))?;
    if !resp.status().is_success() {
        return Err(fail(format!("HTTP {}", resp.status())));
    }
    let mut out = tokio::fs::File::create(dest)
        .await
        .map_err(|e| fail(format!("cannot write {}: {e}", dest.display())))?;
    while let Some(chunk) = resp.chunk().await.map_err(|e| fail(e.to_string()))? {
        tokio::io::AsyncWriteExt::write_all(&mut out, &chunk)
            .await
            .map_err(|e| fail(e.to_string()))?;
    }
    tokio::io::AsyncWriteExt::flush(&mut out)
        .await
        .map_err(|e| fail(e.to_string()))?;
    Ok(())
}

impl Session {
    /// Deploys `ova` as VM `name` at `at`, with OVF property values, its
    /// networks mapped to the placement's network. Returns the VM's id.
    /// The VM is left powered off.
    pub async fn import_ova(
        &self,
        ova: &Ova,
        name: &str,
        at: &Resolved,
        properties: &BTreeMap<String, String>,
    ) -> Result<String, Error> {
        let handle: Arc<dyn VimClient> = self.vim().clone();
        let fault = |e| Error::from_vim(self.server(), "", e);
        let content = self.vim().service_content();
        let ovf_mgr = content.ovf_manager.clone().ok_or_else(|| Error::Protocol {
            server: self.server().into(),
            message: "no OvfManager".into(),
        })?;
        let datastore = at.datastore.clone();
        let networks = ovf_networks(&ova.descriptor);
        let params = OvfCreateImportSpecParams {
            ovf_manager_common_params_: OvfManagerCommonParams::default(),
            entity_name: name.to_string(),
            network_mapping: Some(
                networks
                    .into_iter()
                    .map(|n| OvfNetworkMapping {
                        name: n,
                        network: at.network.clone(),
                    })
                    .collect(),
            ),
            property_mapping: Some(
                properties
                    .iter()
                    .map(|(k, v)| KeyValue {
                        key: k.clone(),
                        value: v.clone(),
                    })
                    .collect(),
            ),
            ..Default::default()
        };
        let result = mo::OvfManager::new(handle.clone(), &ovf_mgr.value)
            .create_import_spec(&ova.descriptor, &at.pool, &datastore, &params)
            .await
            .map_err(fault)?;
        if let Some(errors) = result.error.filter(|e| !e.is_empty()) {
            let first = errors[0]
                .fault_message
                .as_ref()
                .and_then(|m| m.first())
                .and_then(|m| m.message.clone())
                .unwrap_or_else(|| format!("{:?}", errors[0].type_));
            return Err(Error::Fault {
                server: self.server().into(),
                fault: "OvfImportFailed".into(),
                detail: Some(first),
            });
        }
        let spec = result.import_spec.ok_or_else(|| Error::Protocol {
            server: self.server().into(),
            message: "CreateImportSpec returned no import spec".into(),
        })?;
        let items = result.file_item.unwrap_or_default();
        let lease_ref = mo::ResourcePool::new(handle.clone(), &at.pool.value)
            .import_v_app(spec.as_ref(), Some(&at.folder), None)
            .await
            .map_err(fault)?;
        let lease = mo::HttpNfcLease::new(handle.clone(), &lease_ref.value);
        loop {
            match lease.state().await.map_err(fault)? {
                HttpNfcLeaseStateEnum::Ready => break,
                HttpNfcLeaseStateEnum::Error | HttpNfcLeaseStateEnum::Done => {
                    let why = lease
                        .error()
                        .await
                        .ok()
                        .flatten()
                        .and_then(|f| f.fault_message)
                        .and_then(|m| m.first().and_then(|m| m.message.clone()));
                    return Err(Error::Fault {
                        server: self.server().into(),
                        fault: "HttpNfcLeaseFailed".into(),
                        detail: why,
                    });
                }
                _ => tokio::time::sleep(Duration::from_millis(100)).await,
            }
        }
        let info = lease
            .info()
            .await
            .map_err(fault)?
            .ok_or_else(|| Error::Protocol {
                server: self.server().into(),
                message: "the NFC lease has no info".into(),
            })?;
        let vm = info.entity.value.clone();
        let urls = info.device_url.unwrap_or_default();
        let total: u64 = items
            .iter()
            .map(|i| i.size.unwrap_or(0).max(0) as u64)
            .sum();
        let mut sent: u64 = 0;
        for item in &items {
            let Some(dev) = urls.iter().find(|u| u.import_key == item.device_id) else {
                let _ = lease.http_nfc_lease_abort(None).await;
                return Err(Error::Protocol {
                    server: self.server().into(),
                    message: format!("no upload URL for {}", item.device_id),
                });
            };
            let Some(&(offset, size)) = ova.files.get(&item.path) else {
                let _ = lease.http_nfc_lease_abort(None).await;
                return Err(Error::Protocol {
                    server: ova.path.display().to_string(),
                    message: format!("the OVA lacks {}", item.path),
                });
            };
            // A lease URL with host `*` means "the server you talk to".
            let url = dev
                .url
                .replacen("://*", &format!("://{}", self.server()), 1);
            if let Err(e) = self
                .upload(&ova.path, offset, size, &url, item.create)
                .await
            {
                let _ = lease.http_nfc_lease_abort(None).await;
                return Err(e);
            }
            sent += size;
            if let Some(pct) = (sent * 100).checked_div(total) {
                let _ = lease.http_nfc_lease_progress(pct.min(99) as i32).await;
            }
        }
        lease.http_nfc_lease_complete().await.map_err(fault)?;
        tracing::debug!(vm, name, "OVA imported");
        Ok(vm)
    }

    async fn upload(
        &self,
        file: &Path,
        offset: u64,
        size: u64,
        url: &str,
        create: bool,
    ) -> Result<(), Error> {
        let fail = |m: String| Error::Protocol {
            server: self.server().into(),
            message: format!("upload to {url}: {m}"),
        };
        let mut f = tokio::fs::File::open(file)
            .await
            .map_err(|e| fail(e.to_string()))?;
        f.seek(std::io::SeekFrom::Start(offset))
            .await
            .map_err(|e| fail(e.to_string()))?;
        let body = reqwest::Body::wrap_stream(tokio_util::io::ReaderStream::new(f.take(size)));
        let req = if create {
            self.http().put(url)
        } else {
            self.http().post(url)
        };
        let resp = req
            .header("Content-Type", "application/x-vnd.vmware-streamVmdk")
            .header("Content-Length", size)
            .body(body)
            .send()
            .await
            .map_err(|e| fail(e.to_string()))?;
        if !resp.status().is_success() {
            return Err(fail(format!("HTTP {}", resp.status())));
        }
        Ok(())
    }
}

/// `(key, label)` of every property an OVF descriptor declares, so a
/// caller can set properties by the labels people read in the wizard.
pub fn property_labels(descriptor: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut rest = descriptor;
    while let Some(i) = rest.find("<Property ") {
        rest = &rest[i + 10..];
        let tag_end = rest.find('>').unwrap_or(rest.len());
        let tag = &rest[..tag_end];
        let Some(k) = tag.find("ovf:key=\"") else {
            continue;
        };
        let key_start = &tag[k + 9..];
        let Some(q) = key_start.find('"') else {
            continue;
        };
        let key = key_start[..q].to_string();
        let mut label = String::new();
        if !tag.ends_with('/') {
            let body_end = rest.find("</Property>").unwrap_or(rest.len());
            let body = &rest[..body_end];
            if let (Some(a), Some(b)) = (body.find("<Label>"), body.find("</Label>")) {
                if a + 7 <= b {
                    label = body[a + 7..b].trim().to_string();
                }
            }
        }
        out.push((key, label));
    }
    out
}

/// The logical network names an OVF descriptor declares.
fn ovf_networks(descriptor: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = descriptor;
    while let Some(i) = rest.find("<Network ") {
        rest = &rest[i..];
        if let Some(j) = rest.find("ovf:name=\"") {
            let after = &rest[j + 10..];
            if let Some(k) = after.find('"') {
                out.push(after[..k].to_string());
            }
        }
        rest = &rest[1..];
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn property_labels_pair_keys_with_what_people_read() {
        let d = r#"<ProductSection><Property ovf:key="a.b" ovf:type="string"><Label>Pairing Code</Label></Property>
                   <Property ovf:key="c" ovf:type="string"/><Property ovf:key="d"><Label> Pod CIDR </Label></Property>"#;
        assert_eq!(
            super::property_labels(d),
            vec![
                ("a.b".to_string(), "Pairing Code".to_string()),
                ("c".to_string(), String::new()),
                ("d".to_string(), "Pod CIDR".to_string())
            ]
        );
    }

    #[test]
    fn networks_come_from_the_network_section() {
        let d = r#"<NetworkSection><Network ovf:name="VM Network"><Description/></Network>
                   <Network ovf:name="Storage"/></NetworkSection>"#;
        assert_eq!(super::ovf_networks(d), vec!["VM Network", "Storage"]);
    }
}
