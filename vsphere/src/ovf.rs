//! OVA deployment: download to a file, read the tar's index, create an
//! import spec with property values (OvfManager), import it into a resource
//! pool (ImportVApp), stream each file to its NFC lease URL, complete.
//!
//! Files are streamed from disk, never held in memory: installer OVAs are
//! gigabytes.

use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncSeekExt};
use tokio_util::sync::CancellationToken;
use vim_rs::core::client::VimClient;
use vim_rs::mo;
use vim_rs::types::enums::HttpNfcLeaseStateEnum;
use vim_rs::types::structs::{
    KeyValue, OvfCreateImportSpecParams, OvfManagerCommonParams, OvfNetworkMapping,
    VirtualMachineImportSpec,
};

use crate::error::Error;
use crate::session::Session;
use crate::vm::Resolved;

/// How long a transfer may move no bytes before it is given up. A total
/// time limit would cut off multi-gigabyte OVAs on slow links; a stall
/// limit only ends transfers that stopped.
pub const STALL_TIMEOUT: Duration = Duration::from_secs(60);

/// An OVA on disk: its descriptor and where each file lies in the tar.
#[derive(Debug)]
pub struct Ova {
    pub path: PathBuf,
    pub descriptor: String,
    /// File name -> (offset of its data in the tar, size).
    pub files: BTreeMap<String, (u64, u64)>,
    /// The files whose digests matched the OVA's manifest; empty when the
    /// OVA has none.
    pub verified: Vec<String>,
}

impl Ova {
    /// Indexes an OVA file (a tar whose first `.ovf` entry is the
    /// descriptor) and checks it against its manifest (`.mf`) when it has
    /// one: every file listed must be there with the listed digest, so a
    /// damaged or altered OVA is refused before it is deployed. Reads the
    /// whole file when there is a manifest; call it off the async runtime.
    pub fn open(path: &Path) -> Result<Ova, Error> {
        let bad = |m: String| Error::Protocol {
            server: path.display().to_string(),
            message: m,
        };
        let f = std::fs::File::open(path).map_err(|e| bad(format!("cannot open the OVA: {e}")))?;
        let mut archive = tar::Archive::new(f);
        let mut descriptor = None;
        let mut files = BTreeMap::new();
        // Every entry, descriptor and manifest included, for the digests.
        let mut all = BTreeMap::new();
        let mut manifest = None;
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
            let name = name.trim_start_matches("./").to_string();
            let at = (entry.raw_file_position(), entry.size());
            all.insert(name.clone(), at);
            if name.ends_with(".ovf") && descriptor.is_none() {
                let mut s = String::new();
                entry
                    .read_to_string(&mut s)
                    .map_err(|e| bad(format!("descriptor {name}: {e}")))?;
                descriptor = Some(s);
            } else if name.ends_with(".mf") && manifest.is_none() {
                let mut s = String::new();
                entry
                    .read_to_string(&mut s)
                    .map_err(|e| bad(format!("manifest {name}: {e}")))?;
                manifest = Some((name, s));
            } else {
                files.insert(name, at);
            }
        }
        let descriptor = descriptor.ok_or_else(|| bad("no .ovf descriptor in the OVA".into()))?;
        let verified = match manifest {
            Some((name, text)) => verify(path, &name, &text, &all)?,
            None => {
                tracing::info!(ova = %path.display(), "the OVA has no manifest; its files are not checked against digests");
                Vec::new()
            }
        };
        Ok(Ova {
            path: path.to_path_buf(),
            descriptor,
            files,
            verified,
        })
    }
}

/// One manifest line: `SHA256(file.ovf)= 0123...` (also SHA1, SHA512).
fn manifest_line(line: &str) -> Option<(&str, &str, &str)> {
    let (algo, rest) = line.split_once('(')?;
    let (file, digest) = rest.rsplit_once(")=")?;
    Some((algo.trim(), file, digest.trim()))
}

/// Checks every file a manifest lists against its digest, reading it from
/// the tar at `path`. Returns the files checked.
fn verify(
    path: &Path,
    manifest: &str,
    text: &str,
    entries: &BTreeMap<String, (u64, u64)>,
) -> Result<Vec<String>, Error> {
    let mut checked = Vec::new();
    for line in text.lines().map(str::trim).filter(|l| !l.is_empty()) {
        let Some((algo, file, want)) = manifest_line(line) else {
            return Err(Error::Manifest {
                file: manifest.to_string(),
                problem: format!("unreadable line {line:?}"),
            });
        };
        let mismatch = |problem: String| Error::Manifest {
            file: file.to_string(),
            problem,
        };
        let algorithm = match algo.to_ascii_uppercase().as_str() {
            "SHA1" => &ring::digest::SHA1_FOR_LEGACY_USE_ONLY,
            "SHA256" => &ring::digest::SHA256,
            "SHA384" => &ring::digest::SHA384,
            "SHA512" => &ring::digest::SHA512,
            other => return Err(mismatch(format!("unsupported digest {other}"))),
        };
        let &(offset, size) = entries
            .get(file)
            .ok_or_else(|| mismatch("listed in the manifest but missing from the OVA".into()))?;
        let got = digest_of(path, offset, size, algorithm).map_err(|e| Error::Protocol {
            server: path.display().to_string(),
            message: format!("cannot read {file}: {e}"),
        })?;
        if !got.eq_ignore_ascii_case(want) {
            return Err(mismatch(format!(
                "its {algo} digest is {got}, the manifest says {want}"
            )));
        }
        checked.push(file.to_string());
    }
    Ok(checked)
}

fn digest_of(
    path: &Path,
    offset: u64,
    size: u64,
    algorithm: &'static ring::digest::Algorithm,
) -> std::io::Result<String> {
    use std::io::{Seek, SeekFrom};
    let mut f = std::fs::File::open(path)?;
    f.seek(SeekFrom::Start(offset))?;
    let mut data = f.take(size);
    let mut ctx = ring::digest::Context::new(algorithm);
    let mut buf = vec![0u8; 1 << 16];
    let mut read = 0u64;
    loop {
        let n = data.read(&mut buf)?;
        if n == 0 {
            break;
        }
        read += n as u64;
        ctx.update(&buf[..n]);
    }
    if read != size {
        return Err(std::io::Error::new(
            std::io::ErrorKind::UnexpectedEof,
            "the tar ends inside the file",
        ));
    }
    Ok(ctx
        .finish()
        .as_ref()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect())
}

/// Whether a download location may use plain http: only loopback, where
/// nobody else is on the path.
fn loopback(u: &reqwest::Url) -> bool {
    let Some(host) = u.host_str() else {
        return false;
    };
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    match bare.parse::<std::net::IpAddr>() {
        Ok(ip) => ip.is_loopback(),
        Err(_) => host.eq_ignore_ascii_case("localhost"),
    }
}

/// Downloads installer OVAs with a client of its own: default TLS roots
/// plus the given CA certificates, no redirect to another origin, plain
/// http only on loopback, and a stall limit instead of a total one.
/// vCenter's trust settings never apply here: `insecure` for a
/// self-signed vCenter must not switch off the checks on what is
/// downloaded from elsewhere.
#[derive(Clone, Debug)]
pub struct Downloader {
    http: reqwest::Client,
    stall: Duration,
    cancel: CancellationToken,
}

impl Downloader {
    /// A downloader trusting the default roots and `extra_ca_pem` (PEM).
    pub fn new(extra_ca_pem: Option<&[u8]>) -> Result<Downloader, Error> {
        let setup = |message: String| Error::Download {
            host: String::new(),
            message,
        };
        let mut b = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(15))
            .redirect(crate::session::same_origin_redirects())
            .user_agent(concat!("palette-vsphere/", env!("CARGO_PKG_VERSION")));
        if let Some(pem) = extra_ca_pem {
            for cert in crate::session::check_ca_pem(pem)
                .map_err(|e| setup(format!("CA certificates: {e}")))?
            {
                b = b.add_root_certificate(cert);
            }
        }
        Ok(Downloader {
            http: b.build().map_err(|e| setup(e.to_string()))?,
            stall: STALL_TIMEOUT,
            cancel: CancellationToken::new(),
        })
    }

    /// Gives up when no bytes arrive for `d` (default [`STALL_TIMEOUT`]).
    pub fn stall_timeout(mut self, d: Duration) -> Downloader {
        self.stall = d;
        self
    }

    /// Ends a download with [`Error::Cancelled`] once `token` is cancelled.
    pub fn with_cancel(mut self, token: CancellationToken) -> Downloader {
        self.cancel = token;
        self
    }

    /// Downloads `url` to `dest`, chunk by chunk.
    pub async fn download(&self, url: &str, dest: &Path) -> Result<(), Error> {
        let parsed = reqwest::Url::parse(url).map_err(|e| Error::Download {
            host: String::new(),
            message: format!("the location is not a URL: {e}"),
        })?;
        let host = match (parsed.host_str(), parsed.port()) {
            (Some(h), Some(p)) => format!("{h}:{p}"),
            (Some(h), None) => h.to_string(),
            (None, _) => String::new(),
        };
        let fail = |message: String| Error::Download {
            host: host.clone(),
            message,
        };
        match parsed.scheme() {
            "https" => {}
            "http" if loopback(&parsed) => {}
            "http" => return Err(Error::InsecureDownload { host }),
            other => return Err(fail(format!("unsupported scheme {other}"))),
        }
        let what = format!("the download from {host}");
        let mut resp = limited(
            &self.cancel,
            self.stall,
            &what,
            self.http.get(parsed.clone()).send(),
        )
        .await?
        .map_err(|e| fail(chain(e)))?;
        if !resp.status().is_success() {
            return Err(fail(format!("HTTP {}", resp.status())));
        }
        let mut out = tokio::fs::File::create(dest)
            .await
            .map_err(|e| fail(format!("cannot write {}: {e}", dest.display())))?;
        while let Some(chunk) = limited(&self.cancel, self.stall, &what, resp.chunk())
            .await?
            .map_err(|e| fail(chain(e)))?
        {
            tokio::io::AsyncWriteExt::write_all(&mut out, &chunk)
                .await
                .map_err(|e| fail(format!("cannot write {}: {e}", dest.display())))?;
        }
        tokio::io::AsyncWriteExt::flush(&mut out)
            .await
            .map_err(|e| fail(format!("cannot write {}: {e}", dest.display())))?;
        Ok(())
    }
}

/// Runs one step of a transfer, ending it on cancellation or when it
/// moves nothing for `stall`.
async fn limited<F: std::future::Future>(
    cancel: &CancellationToken,
    stall: Duration,
    what: &str,
    fut: F,
) -> Result<F::Output, Error> {
    tokio::select! {
        biased;
        _ = cancel.cancelled() => Err(Error::Cancelled { what: what.to_string(), still_running: false }),
        r = tokio::time::timeout(stall, fut) => r.map_err(|_| Error::Stalled {
            what: what.to_string(),
            secs: stall.as_secs(),
        }),
    }
}

/// A reqwest error's cause chain without the URL, whose query may hold a
/// signed token.
fn chain(e: reqwest::Error) -> String {
    let e = e.without_url();
    let mut message = e.to_string();
    let mut src = std::error::Error::source(&e);
    while let Some(inner) = src {
        message.push_str(": ");
        message.push_str(&inner.to_string());
        src = inner.source();
    }
    message
}

/// Downloads `url` to `dest` with a [`Downloader`] trusting the default
/// roots and `extra_ca_pem`.
pub async fn download(url: &str, dest: &Path, extra_ca_pem: Option<&[u8]>) -> Result<(), Error> {
    Downloader::new(extra_ca_pem)?.download(url, dest).await
}

impl Session {
    /// Downloads `url` (an OVA this session will import) to `dest` with a
    /// [`Downloader`] of its own: default roots plus the CAs given to
    /// [`Session::with_download_ca`], never this session's client, whose
    /// trust is vCenter's. Ends on the session's cancellation.
    pub async fn download(&self, url: &str, dest: &Path) -> Result<(), Error> {
        Downloader::new(self.download_ca())?
            .with_cancel(self.limits().cancel.clone())
            .download(url, dest)
            .await
    }
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
        let mut spec = result.import_spec.ok_or_else(|| Error::Protocol {
            server: self.server().into(),
            message: "CreateImportSpec returned no import spec".into(),
        })?;
        // vCenter gives the NICs of an imported VM their network resource
        // allocation; vcsim does not, and tools that read the VM expect it.
        // Asking for vCenter's own defaults changes nothing on vCenter.
        // `as_ref` first: on the Box itself, `as_any_ref` would see the Box.
        if spec.as_ref().as_any_ref().is::<VirtualMachineImportSpec>() {
            let mut vm_spec = spec
                .as_any_box()
                .downcast::<VirtualMachineImportSpec>()
                .map_err(|_| Error::Protocol {
                    server: self.server().into(),
                    message: "the import spec could not be read".into(),
                })?;
            for change in vm_spec.config_spec.device_change.iter_mut().flatten() {
                let change = change.get_virtual_device_config_spec_mut();
                let device = std::mem::take(&mut change.device);
                change.device =
                    crate::vm::with_nic_allocation(device).map_err(|message| Error::Protocol {
                        server: self.server().into(),
                        message,
                    })?;
            }
            spec = vm_spec;
        }
        let items = result.file_item.unwrap_or_default();
        let lease_ref = mo::ResourcePool::new(handle.clone(), &at.pool.value)
            .import_v_app(spec.as_ref(), Some(&at.folder), None)
            .await
            .map_err(fault)?;
        let lease = mo::HttpNfcLease::new(handle.clone(), &lease_ref.value);
        let what = || format!("the NFC lease {} to import {name}", lease_ref.value);
        let ready = self
            .limits()
            .wait(what, false, || async {
                match lease.state().await.map_err(fault)? {
                    HttpNfcLeaseStateEnum::Ready => Ok(Some(Ok(()))),
                    HttpNfcLeaseStateEnum::Error | HttpNfcLeaseStateEnum::Done => {
                        let why = lease
                            .error()
                            .await
                            .ok()
                            .flatten()
                            .and_then(|f| f.fault_message)
                            .and_then(|m| m.first().and_then(|m| m.message.clone()));
                        Ok(Some(Err(Error::Fault {
                            server: self.server().into(),
                            fault: "HttpNfcLeaseFailed".into(),
                            detail: why,
                        })))
                    }
                    _ => Ok(None),
                }
            })
            .await;
        match ready {
            Ok(Ok(())) => {}
            Ok(Err(e)) => return Err(e),
            Err(e) => {
                // Given up: the lease must not keep the half-made VM locked.
                let _ = lease.http_nfc_lease_abort(None).await;
                return Err(e);
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
        let start = Instant::now();
        let last = Arc::new(AtomicU64::new(0));
        let progress = Progress {
            inner: f.take(size),
            start,
            last: last.clone(),
        };
        let body = reqwest::Body::wrap_stream(tokio_util::io::ReaderStream::new(progress));
        let req = if create {
            self.http().put(url)
        } else {
            self.http().post(url)
        };
        // The session's total request limit would cut off a disk of a few
        // gigabytes; a stall limit ends only an upload that stopped.
        let send = req
            .timeout(NO_TOTAL_LIMIT)
            .header("Content-Type", "application/x-vnd.vmware-streamVmdk")
            .header("Content-Length", size)
            .body(body)
            .send();
        tokio::pin!(send);
        let what = || format!("the upload of {} to {}", file.display(), self.server());
        let resp = loop {
            tokio::select! {
                biased;
                _ = self.limits().cancel.cancelled() => {
                    return Err(Error::Cancelled { what: what(), still_running: false })
                }
                r = &mut send => break r.map_err(|e| fail(e.to_string()))?,
                _ = tokio::time::sleep(Duration::from_secs(1)) => {
                    let idle = start.elapsed().saturating_sub(Duration::from_millis(last.load(Ordering::Relaxed)));
                    if idle >= STALL_TIMEOUT {
                        return Err(Error::Stalled { what: what(), secs: STALL_TIMEOUT.as_secs() });
                    }
                }
            }
        };
        if !resp.status().is_success() {
            return Err(fail(format!("HTTP {}", resp.status())));
        }
        Ok(())
    }
}

/// reqwest's per-request limit replacing the session's total one for
/// uploads: in effect none; [`STALL_TIMEOUT`] bounds them instead.
const NO_TOTAL_LIMIT: Duration = Duration::from_secs(30 * 24 * 3600);

/// A reader that records when it last yielded bytes, for the stall check.
struct Progress<R> {
    inner: R,
    start: Instant,
    /// Milliseconds after `start` of the last read that yielded bytes.
    last: Arc<AtomicU64>,
}

impl<R: tokio::io::AsyncRead + Unpin> tokio::io::AsyncRead for Progress<R> {
    fn poll_read(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &mut tokio::io::ReadBuf<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        let before = buf.filled().len();
        let r = std::pin::Pin::new(&mut self.inner).poll_read(cx, buf);
        if buf.filled().len() > before {
            let ms = self.start.elapsed().as_millis() as u64;
            self.last.store(ms, Ordering::Relaxed);
        }
        r
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
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;

    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    use super::*;

    fn sha256(data: &[u8]) -> String {
        ring::digest::digest(&ring::digest::SHA256, data)
            .as_ref()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
    }

    const OVF: &[u8] = b"<Envelope><NetworkSection/></Envelope>";
    const DISK: &[u8] = b"disk bytes";

    /// An OVA on disk with these entries, in this order.
    fn ova(entries: &[(&str, &[u8])]) -> (tempfile::TempDir, PathBuf) {
        let mut b = tar::Builder::new(Vec::new());
        for (name, data) in entries {
            let mut h = tar::Header::new_ustar();
            h.set_size(data.len() as u64);
            h.set_mode(0o644);
            h.set_cksum();
            b.append_data(&mut h, name, *data).unwrap();
        }
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x.ova");
        std::fs::write(&path, b.into_inner().unwrap()).unwrap();
        (dir, path)
    }

    #[test]
    fn a_matching_manifest_is_verified() {
        let mf = format!(
            "SHA256(x.ovf)= {}\nSHA1(x-disk1.vmdk)= {}\n",
            sha256(OVF),
            ring::digest::digest(&ring::digest::SHA1_FOR_LEGACY_USE_ONLY, DISK)
                .as_ref()
                .iter()
                .map(|b| format!("{b:02X}"))
                .collect::<String>()
        );
        let (_d, path) = ova(&[
            ("x.ovf", OVF),
            ("x.mf", mf.as_bytes()),
            ("x-disk1.vmdk", DISK),
        ]);
        let o = Ova::open(&path).unwrap();
        assert_eq!(o.verified, vec!["x.ovf", "x-disk1.vmdk"]);
        assert!(o.files.contains_key("x-disk1.vmdk"));
        assert!(!o.files.contains_key("x.mf"));
    }

    #[test]
    fn a_wrong_digest_is_refused_naming_the_file() {
        let mf = format!(
            "SHA256(x.ovf)= {}\nSHA256(x-disk1.vmdk)= {}\n",
            sha256(OVF),
            sha256(b"the disk that was signed")
        );
        let (_d, path) = ova(&[
            ("x.ovf", OVF),
            ("x.mf", mf.as_bytes()),
            ("x-disk1.vmdk", DISK),
        ]);
        match Ova::open(&path).unwrap_err() {
            Error::Manifest { file, problem } => {
                assert_eq!(file, "x-disk1.vmdk");
                assert!(problem.contains("SHA256"), "{problem}");
            }
            e => panic!("{e:?}"),
        }
    }

    #[test]
    fn a_listed_file_missing_from_the_ova_is_refused() {
        let mf = format!(
            "SHA256(x.ovf)= {}\nSHA256(x-disk2.vmdk)= {}\n",
            sha256(OVF),
            sha256(DISK)
        );
        let (_d, path) = ova(&[("x.ovf", OVF), ("x.mf", mf.as_bytes())]);
        let e = Ova::open(&path).unwrap_err();
        assert!(
            matches!(&e, Error::Manifest { file, .. } if file == "x-disk2.vmdk"),
            "{e:?}"
        );
        assert!(e.to_string().contains("missing"), "{e}");
    }

    #[test]
    fn an_ova_without_manifest_is_accepted_unchecked() {
        let (_d, path) = ova(&[("x.ovf", OVF), ("x-disk1.vmdk", DISK)]);
        let o = Ova::open(&path).unwrap();
        assert!(o.verified.is_empty());
        assert_eq!(o.files.len(), 1);
    }

    #[test]
    fn an_unknown_digest_or_a_garbled_line_is_refused() {
        for mf in ["MD5(x.ovf)= 00\n", "this is no manifest\n"] {
            let (_d, path) = ova(&[("x.ovf", OVF), ("x.mf", mf.as_bytes())]);
            let e = Ova::open(&path).unwrap_err();
            assert!(matches!(e, Error::Manifest { .. }), "{e:?}");
        }
    }

    /// A one-shot-per-connection HTTP server on loopback: `answer` gives the
    /// whole response for a request line. Returns its port and how many
    /// requests it saw.
    async fn server(
        answer: impl Fn(&str) -> Vec<u8> + Send + Sync + 'static,
    ) -> (u16, Arc<AtomicUsize>) {
        let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = l.local_addr().unwrap().port();
        let hits = Arc::new(AtomicUsize::new(0));
        let seen = hits.clone();
        let answer = Arc::new(answer);
        tokio::spawn(async move {
            while let Ok((mut c, _)) = l.accept().await {
                let seen = seen.clone();
                let answer = answer.clone();
                tokio::spawn(async move {
                    let mut buf = Vec::new();
                    let mut chunk = [0u8; 4096];
                    while !buf.windows(4).any(|w| w == b"\r\n\r\n") {
                        match c.read(&mut chunk).await {
                            Ok(0) | Err(_) => return,
                            Ok(n) => buf.extend_from_slice(&chunk[..n]),
                        }
                    }
                    seen.fetch_add(1, Ordering::SeqCst);
                    let head = String::from_utf8_lossy(&buf).to_string();
                    let line = head.lines().next().unwrap_or_default().to_string();
                    let answer = answer(&line);
                    let _ = c.write_all(&answer).await;
                    if !String::from_utf8_lossy(&answer).contains("connection: close") {
                        // A stalled answer: the connection stays open.
                        tokio::time::sleep(Duration::from_secs(30)).await;
                    }
                });
            }
        });
        (port, hits)
    }

    fn ok(body: &[u8]) -> Vec<u8> {
        let mut r = format!(
            "HTTP/1.1 200 OK\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
            body.len()
        )
        .into_bytes();
        r.extend_from_slice(body);
        r
    }

    fn provider() {
        let _ = rustls::crypto::ring::default_provider().install_default();
    }

    #[tokio::test]
    async fn plain_http_is_for_loopback_only() {
        provider();
        let (port, _) = server(|_| ok(b"ova bytes")).await;
        let dir = tempfile::tempdir().unwrap();
        let dest = dir.path().join("a.ova");
        for host in ["127.0.0.1", "localhost"] {
            download(&format!("http://{host}:{port}/x.ova"), &dest, None)
                .await
                .unwrap();
            assert_eq!(std::fs::read(&dest).unwrap(), b"ova bytes");
        }
        // Refused before any connection: nothing listens there.
        for url in [
            "http://downloads.example.com/pcg.ova?X-Amz-Signature=s3cr3t",
            "http://10.1.2.3:8080/pcg.ova?token=s3cr3t",
        ] {
            let e = download(url, &dest, None).await.unwrap_err();
            assert!(matches!(e, Error::InsecureDownload { .. }), "{e:?}");
            let text = e.to_string();
            assert!(
                text.contains("downloads.example.com") || text.contains("10.1.2.3:8080"),
                "{text}"
            );
            assert!(!text.contains("s3cr3t"), "{text}");
        }
        assert!(loopback(&reqwest::Url::parse("http://[::1]:1/").unwrap()));
        assert!(loopback(&reqwest::Url::parse("http://127.9.9.9/").unwrap()));
        assert!(!loopback(
            &reqwest::Url::parse("http://localhost.example.com/").unwrap()
        ));
    }

    #[tokio::test]
    async fn a_redirect_to_another_origin_is_refused() {
        provider();
        let (other, other_hits) = server(|_| ok(b"swapped ova")).await;
        let (port, _) = server(move |line| {
            if line.contains("/moved") {
                b"HTTP/1.1 302 Found\r\nlocation: /x.ova\r\ncontent-length: 0\r\nconnection: close\r\n\r\n".to_vec()
            } else if line.contains("/x.ova") {
                ok(b"real ova")
            } else {
                format!(
                    "HTTP/1.1 302 Found\r\nlocation: http://127.0.0.1:{other}/x.ova\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"
                )
                .into_bytes()
            }
        })
        .await;
        let dir = tempfile::tempdir().unwrap();
        let dest = dir.path().join("a.ova");
        // Within the origin, redirects are followed.
        download(&format!("http://127.0.0.1:{port}/moved"), &dest, None)
            .await
            .unwrap();
        assert_eq!(std::fs::read(&dest).unwrap(), b"real ova");
        let e = download(
            &format!("http://127.0.0.1:{port}/elsewhere?sig=s3cr3t"),
            &dest,
            None,
        )
        .await
        .unwrap_err();
        let text = e.to_string();
        assert!(text.contains("redirect"), "{text}");
        assert!(!text.contains("s3cr3t"), "{text}");
        assert_eq!(other_hits.load(Ordering::SeqCst), 0);
    }

    #[tokio::test]
    async fn a_stalled_download_ends_with_a_stall_error() {
        provider();
        // Headers and part of the body, then nothing.
        let (port, _) =
            server(|_| b"HTTP/1.1 200 OK\r\ncontent-length: 1000\r\n\r\npartial".to_vec()).await;
        let dir = tempfile::tempdir().unwrap();
        let started = std::time::Instant::now();
        let e = Downloader::new(None)
            .unwrap()
            .stall_timeout(Duration::from_millis(300))
            .download(
                &format!("http://127.0.0.1:{port}/x.ova"),
                &dir.path().join("a.ova"),
            )
            .await
            .unwrap_err();
        assert!(matches!(e, Error::Stalled { .. }), "{e:?}");
        assert!(started.elapsed() < Duration::from_secs(5));
    }

    #[tokio::test]
    async fn a_cancelled_download_returns_promptly() {
        provider();
        let (port, _) =
            server(|_| b"HTTP/1.1 200 OK\r\ncontent-length: 1000\r\n\r\npartial".to_vec()).await;
        let dir = tempfile::tempdir().unwrap();
        let token = CancellationToken::new();
        let t = token.clone();
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(200)).await;
            t.cancel();
        });
        let started = std::time::Instant::now();
        let e = Downloader::new(None)
            .unwrap()
            .with_cancel(token)
            .download(
                &format!("http://127.0.0.1:{port}/x.ova"),
                &dir.path().join("a.ova"),
            )
            .await
            .unwrap_err();
        assert!(matches!(e, Error::Cancelled { .. }), "{e:?}");
        assert!(started.elapsed() < Duration::from_secs(5));
    }

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
