//! The lab's state in a data file (`--data FILE`), so that a restart keeps
//! the tenant, projects, API keys, gateways, pools, accounts, profiles,
//! pairing codes, events, stand-in clusters, clusters and cluster faults.
//! Without a file the lab lives in memory, as the tests use it.
//!
//! # Format
//!
//! A redb database with one table, `palette-lab`, holding one row, `state`:
//! the whole [`Store`] as JSON, with a format number and the start-up API
//! key. Each snapshot is one write transaction, which redb commits
//! atomically and durably (it syncs the file), so a crash leaves the
//! previous state or the new one, never a mix. One JSON value rather than a
//! table per kind: the store is small, its types grow with the lab, and a
//! single value is a consistent state with no cross-table bookkeeping.
//!
//! # When it is saved
//!
//! Every mutable use of the store ([`crate::state::StoreGuard`]) counts as
//! a change and wakes a writer thread, which takes a snapshot under the
//! store's lock and commits it unless it equals the last one written;
//! changes that arrive while it writes go into its next write. A request
//! that can change something (any method but GET and HEAD) is answered only
//! once its change is on disk, so a client never loses what it was told
//! happened. Background steps (registration, provisioning, deletion) reach
//! the disk the same way, a moment after they happen. Stopping the lab
//! writes the last state and closes the file; redb locks the file while it
//! is open, so two labs never share one.
//!
//! Not saved: injected HTTP faults, call counts and contract violations
//! (instruments of one test run), and whatever vCenter holds.
//!
//! # What resumes after a restart
//!
//! Background tasks do not survive a restart. What they were driving is
//! found again from the saved states and driven again, with an event
//! `LabRestarted` on the object saying so:
//!
//! - A gateway `Provisioning` provisions again from its saved cloud config,
//!   healing as it always does: VMs still in vCenter are kept, gone ones
//!   made again, and one made just before the stop but not yet recorded is
//!   found by name and adopted rather than made twice.
//! - A cluster `Pending` waits its Pending delay again, then provisions.
//! - A cluster `Provisioning` reconciles its VMs again (adopting any made
//!   but not recorded) and waits the provisioning delay (generation 1: its
//!   create) or the update delay (a later change).
//! - A cluster `Deleting` deletes its VMs again (gone ones are fine) and
//!   waits the deletion delay. Force delete counts from when the deletion
//!   first started, the lab's downtime included: that time is saved.
//! - An installer VM waiting to register has nothing saved to resume: the
//!   installer watcher finds it powered on in vCenter again, as a real
//!   installer phones home again after its Palette was down. Installers
//!   that registered are known from their gateways and not registered
//!   twice; one that cannot register is not reported again with the same
//!   message.
//!
//! The delays start over because when they began is not recorded, and
//! starting over errs towards a client waiting longer, never towards a
//! `Running` that came early. Gateways `Pending` (waiting for their account
//! and cloud config) and `Running` or `Failed` objects have nothing in
//! flight and stay as they were.
//!
//! # vCenter across a restart
//!
//! With `--vcenter` the VMs are still there after a restart. The lab's own
//! vcsim keeps its inventory in memory, so VMs made before a restart are
//! gone: machines show them `NotFound` (drift) until their pool is PUT
//! again. A new vcsim also hands out the same managed object ids again, so a
//! saved id may name another VM: before the lab heals, adopts or destroys a
//! VM it checks the `guestinfo.palette.*` key it put on it ([`vm_info_of`]).

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{mpsc, Arc, Mutex};
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::store::Store;

const TABLE: redb::TableDefinition<&str, &[u8]> = redb::TableDefinition::new("palette-lab");
const STATE: &str = "state";
/// Raised when a saved file can no longer be read as the current store.
const FORMAT: u32 = 1;
/// How long an answer waits for its change to reach the disk: a stuck disk
/// must not hang the API, and the failure is reported on stderr anyway.
const FLUSH_WAIT: Duration = Duration::from_secs(10);

/// A data file that cannot be opened, read or written.
#[derive(Debug, thiserror::Error)]
#[error("data file {}: {message}", path.display())]
pub struct Error {
    pub path: PathBuf,
    pub message: String,
}

/// What a data file held.
#[derive(Debug)]
pub struct Loaded {
    pub store: Store,
    /// The key printed at the first start, printed again.
    pub api_key: String,
}

#[derive(Serialize)]
struct SavedRef<'a> {
    format: u32,
    api_key: &'a str,
    store: &'a Store,
}

#[derive(Deserialize)]
struct Head {
    format: u32,
}

#[derive(Deserialize)]
struct Saved {
    api_key: String,
    store: Store,
}

/// An open data file.
pub struct DataFile {
    path: PathBuf,
    db: redb::Database,
}

impl DataFile {
    /// Opens `path`, creating an empty database if there is no file (or an
    /// empty one).
    pub fn open(path: &Path) -> Result<DataFile, Error> {
        let err = |message: String| Error {
            path: path.to_path_buf(),
            message,
        };
        // The file holds API keys and vCenter passwords: only its owner may
        // read it. Made before redb opens it, so it never exists readable.
        restrict_to_owner(path).map_err(err)?;
        // redb asserts on some malformed files instead of returning an
        // error; a bad file must be an error that names it, not a crash.
        let opened = std::panic::catch_unwind(|| redb::Database::create(path));
        let db = match opened {
            Ok(Ok(db)) => db,
            Ok(Err(redb::DatabaseError::DatabaseAlreadyOpen)) => {
                return Err(err(
                    "in use by another palette-lab (a data file serves one lab at a time)".into(),
                ))
            }
            // redb reports a file that is not its own as invalid data.
            Ok(Err(redb::DatabaseError::Storage(redb::StorageError::Io(e))))
                if e.kind() != std::io::ErrorKind::InvalidData =>
            {
                return Err(err(format!("cannot open it: {e}")))
            }
            Ok(Err(e)) => return Err(err(format!("not a palette-lab data file, or damaged: {e}"))),
            Err(_) => {
                return Err(err(
                    "not a palette-lab data file, or damaged (the database reader gave up on it)"
                        .into(),
                ))
            }
        };
        Ok(DataFile {
            path: path.to_path_buf(),
            db,
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    fn error(&self, what: &str, e: impl std::fmt::Display) -> Error {
        Error {
            path: self.path.clone(),
            message: format!("{what}: {e}"),
        }
    }

    /// The saved state, or `None` for a new file.
    pub fn load(&self) -> Result<Option<Loaded>, Error> {
        let txn = self
            .db
            .begin_read()
            .map_err(|e| self.error("cannot read it", e))?;
        let table = match txn.open_table(TABLE) {
            Ok(t) => t,
            Err(redb::TableError::TableDoesNotExist(_)) => return Ok(None),
            Err(e) => return Err(self.error("cannot read it", e)),
        };
        let Some(value) = table
            .get(STATE)
            .map_err(|e| self.error("cannot read it", e))?
        else {
            return Ok(None);
        };
        self.decode(value.value()).map(Some)
    }

    fn decode(&self, bytes: &[u8]) -> Result<Loaded, Error> {
        let head: Head = serde_json::from_slice(bytes)
            .map_err(|e| self.error("the saved state is not readable", e))?;
        if head.format != FORMAT {
            return Err(self.error(
                "the saved state cannot be read",
                format!(
                    "it is in format {}, this palette-lab reads format {FORMAT}",
                    head.format
                ),
            ));
        }
        let saved: Saved = serde_json::from_slice(bytes)
            .map_err(|e| self.error("the saved state is not readable", e))?;
        Ok(Loaded {
            store: saved.store,
            api_key: saved.api_key,
        })
    }

    /// Writes a snapshot in one transaction.
    pub fn save(&self, api_key: &str, store: &Store) -> Result<(), Error> {
        self.write(&encode(api_key, store).map_err(|e| self.error("cannot encode the state", e))?)
    }

    fn write(&self, bytes: &[u8]) -> Result<(), Error> {
        let txn = self
            .db
            .begin_write()
            .map_err(|e| self.error("cannot write it", e))?;
        {
            let mut table = txn
                .open_table(TABLE)
                .map_err(|e| self.error("cannot write it", e))?;
            table
                .insert(STATE, bytes)
                .map_err(|e| self.error("cannot write it", e))?;
        }
        txn.commit().map_err(|e| self.error("cannot write it", e))
    }
}

/// Creates `path` with mode 0600 if it is missing, and takes group and
/// other permissions off an existing file. A file we may not change (another
/// user's) is refused rather than used: it would keep the keys readable.
#[cfg(unix)]
fn restrict_to_owner(path: &Path) -> Result<(), String> {
    use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
    match std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
    {
        Ok(_) => return Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
        Err(e) => return Err(format!("cannot create it: {e}")),
    }
    let mode = std::fs::metadata(path)
        .map_err(|e| format!("cannot open it: {e}"))?
        .permissions()
        .mode();
    if mode & 0o077 != 0 {
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode & 0o700)).map_err(
            |e| {
                format!(
                    "it is readable by others (mode {:o}) and cannot be restricted to its owner \
                     ({e}); it holds API keys and passwords",
                    mode & 0o777
                )
            },
        )?;
        eprintln!(
            "palette-lab: data file {} was readable by others (mode {:o}); now {:o}, \
             as it holds API keys and passwords",
            path.display(),
            mode & 0o777,
            mode & 0o700
        );
    }
    Ok(())
}

/// Elsewhere the file gets the platform's default permissions.
#[cfg(not(unix))]
fn restrict_to_owner(_: &Path) -> Result<(), String> {
    Ok(())
}

fn encode(api_key: &str, store: &Store) -> Result<Vec<u8>, serde_json::Error> {
    serde_json::to_vec(&SavedRef {
        format: FORMAT,
        api_key,
        store,
    })
}

/// What the store's users and the writer thread share.
struct Shared {
    /// Changes made to the store so far.
    changes: AtomicU64,
    /// The change count of the last state written.
    saved: tokio::sync::watch::Sender<u64>,
}

/// Saves the store to its data file after every change, on a thread of its
/// own: a write syncs the disk, which must not hold up the async runtime.
pub struct Persist {
    path: PathBuf,
    shared: Arc<Shared>,
    /// Wakes the writer; `None` once closed.
    wake: Mutex<Option<mpsc::Sender<()>>>,
    writer: Mutex<Option<std::thread::JoinHandle<()>>>,
}

impl Persist {
    /// Writes the store once (so a file that cannot be written fails the
    /// start, not a later request) and starts the writer.
    pub fn start(
        file: DataFile,
        store: Arc<Mutex<Store>>,
        api_key: String,
    ) -> Result<Persist, Error> {
        let first = {
            let s = store.lock().expect("lab store lock");
            encode(&api_key, &s).map_err(|e| file.error("cannot encode the state", e))?
        };
        file.write(&first)?;
        let shared = Arc::new(Shared {
            changes: AtomicU64::new(0),
            saved: tokio::sync::watch::Sender::new(0),
        });
        let (tx, rx) = mpsc::channel();
        let path = file.path.clone();
        let writer = Writer {
            file,
            store,
            shared: shared.clone(),
            api_key,
            last: first,
            last_error: None,
        };
        let handle = std::thread::Builder::new()
            .name("palette-lab-save".into())
            .spawn(move || writer.run(rx))
            .map_err(|e| Error {
                path: path.clone(),
                message: format!("cannot start its writer: {e}"),
            })?;
        Ok(Persist {
            path,
            shared,
            wake: Mutex::new(Some(tx)),
            writer: Mutex::new(Some(handle)),
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Called with the store still locked after a change.
    pub(crate) fn changed(&self) {
        self.shared.changes.fetch_add(1, Ordering::SeqCst);
        if let Some(tx) = self.wake.lock().expect("persist lock").as_ref() {
            let _ = tx.send(());
        }
    }

    /// Waits until every change made so far is on disk (or the file is
    /// closed, or [`FLUSH_WAIT`] has passed).
    pub async fn flushed(&self) {
        let target = self.shared.changes.load(Ordering::SeqCst);
        let mut saved = self.shared.saved.subscribe();
        if *saved.borrow() >= target {
            return;
        }
        match self.wake.lock().expect("persist lock").as_ref() {
            Some(tx) => {
                let _ = tx.send(());
            }
            None => return,
        }
        let _ = tokio::time::timeout(FLUSH_WAIT, saved.wait_for(|s| *s >= target)).await;
    }

    /// Writes the last state and closes the file, so that another lab can
    /// open it. Changes after this are not saved. Blocks for one write at
    /// most.
    pub fn close(&self) {
        // Dropping the sender ends the writer after a last write.
        drop(self.wake.lock().expect("persist lock").take());
        let handle = self.writer.lock().expect("persist lock").take();
        if let Some(h) = handle {
            let _ = h.join();
        }
    }
}

impl Drop for Persist {
    fn drop(&mut self) {
        self.close();
    }
}

struct Writer {
    file: DataFile,
    store: Arc<Mutex<Store>>,
    shared: Arc<Shared>,
    api_key: String,
    /// What the file holds, so that a change that changed nothing (a failed
    /// lookup through a mutable borrow) costs no write.
    last: Vec<u8>,
    /// Reported once until it changes or a write succeeds, not per change.
    last_error: Option<String>,
}

impl Writer {
    fn run(mut self, wake: mpsc::Receiver<()>) {
        while wake.recv().is_ok() {
            while wake.try_recv().is_ok() {}
            self.save();
        }
        // The sender is gone: the lab stopped. A change that raced the stop
        // may not have woken us; this write takes it.
        self.save();
    }

    fn save(&mut self) {
        let (seen, encoded) = {
            let Ok(store) = self.store.lock() else {
                // A handler panicked mid-change: that state is not one to keep.
                self.report("the store is poisoned by a panic; not saving it".into());
                return;
            };
            (
                self.shared.changes.load(Ordering::SeqCst),
                encode(&self.api_key, &store),
            )
        };
        let result = match encoded {
            Ok(bytes) if bytes == self.last => Ok(()),
            Ok(bytes) => self.file.write(&bytes).map(|()| self.last = bytes),
            Err(e) => Err(self.file.error("cannot encode the state", e)),
        };
        match result {
            Ok(()) => self.last_error = None,
            Err(e) => self.report(e.to_string()),
        }
        // Advanced on failure too: waiting answers must not hang on a disk
        // that refuses writes; the failure is reported instead.
        self.shared.saved.send_replace(seen);
    }

    fn report(&mut self, message: String) {
        if self.last_error.as_ref() != Some(&message) {
            tracing::error!(%message, "palette-lab cannot save its state");
            eprintln!("palette-lab: cannot save the state: {message}");
            self.last_error = Some(message);
        }
    }
}

// ---------------------------------------------------------------- VMs across restarts

/// A VM's info if it is still the one the lab made for `owner`: its
/// `marker` extraConfig key (`guestinfo.palette.cluster` or `.gateway`)
/// names `owner`. A saved managed object id can name another VM once a new
/// vcsim hands the same ids out again; that VM is not the owner's to heal
/// or destroy, and for the owner its own VM is gone.
pub(crate) async fn vm_info_of(
    s: &vsphere::Session,
    vm: &str,
    marker: &str,
    owner: &str,
) -> Result<vsphere::vm::VmInfo, vsphere::Error> {
    let info = s.vm_info(vm).await?;
    if info.extra_config.get(marker).map(String::as_str) == Some(owner) {
        return Ok(info);
    }
    Err(vsphere::Error::NotFound {
        kind: "virtual machine",
        path: vm.to_string(),
        hint: Some(format!(
            "{vm} is now VM {:?}, not the one made for {owner}",
            info.name
        )),
    })
}

/// Destroys `vm` if it is still the owner's (see [`vm_info_of`]); one
/// already gone is fine.
pub(crate) async fn destroy_vm_of(
    s: &vsphere::Session,
    vm: &str,
    marker: &str,
    owner: &str,
) -> Result<(), vsphere::Error> {
    let result = match vm_info_of(s, vm, marker, owner).await {
        Ok(_) => s.destroy_vm(vm).await,
        Err(e) => Err(e),
    };
    match result {
        Err(e) if e.is_not_found() => Ok(()),
        other => other,
    }
}

/// The owner's VM at inventory path `path`, if there is one: made just
/// before the lab stopped and not recorded, so that resuming adopts it
/// instead of failing on a duplicate name.
pub(crate) async fn unrecorded_vm(
    s: &vsphere::Session,
    path: &str,
    marker: &str,
    owner: &str,
) -> Option<vsphere::vm::VmInfo> {
    let found = s.find("virtual machine", path).await.ok()?;
    vm_info_of(s, &found.value, marker, owner).await.ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Store {
        let mut store = Store::seeded();
        store.add_key("someone@palette-lab.local", crate::store::Role::Viewer);
        store.event("overlord", "gw-1", "pcg", "Normal", "Registered", "hello");
        store.cluster_refs.push(crate::store::ClusterRef {
            uid: "ref-1".into(),
            name: "stand-in".into(),
            account_uid: "acct-1".into(),
        });
        store
    }

    #[test]
    fn a_saved_store_loads_back_the_same() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("lab.redb");
        let store = sample();
        let file = DataFile::open(&path).unwrap();
        assert!(file.load().unwrap().is_none(), "a new file holds no state");
        file.save("key-1", &store).unwrap();
        drop(file);
        let loaded = DataFile::open(&path).unwrap().load().unwrap().unwrap();
        assert_eq!(loaded.api_key, "key-1");
        // Compared as saved: the store has no PartialEq, and what matters is
        // that nothing is lost or changed on the way through the file.
        assert_eq!(
            serde_json::to_value(&loaded.store).unwrap(),
            serde_json::to_value(&store).unwrap()
        );
        assert_eq!(loaded.store.keys, store.keys);
        assert_eq!(loaded.store.events, store.events);
    }

    #[test]
    fn the_writer_saves_changes_and_closes_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("lab.redb");
        let store = Arc::new(Mutex::new(Store::seeded()));
        let persist =
            Persist::start(DataFile::open(&path).unwrap(), store.clone(), "k".into()).unwrap();
        {
            let mut s = store.lock().unwrap();
            s.org_name = "renamed".into();
            persist.changed();
        }
        persist.close();
        let loaded = DataFile::open(&path).unwrap().load().unwrap().unwrap();
        assert_eq!(loaded.store.org_name, "renamed");
    }

    #[cfg(unix)]
    #[test]
    fn the_file_is_readable_by_its_owner_only() {
        use std::os::unix::fs::PermissionsExt;
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("lab.redb");
        let file = DataFile::open(&path).unwrap();
        file.save("k", &sample()).unwrap();
        drop(file);
        assert_eq!(mode(&path), 0o600, "a new file");
        // A file made readable by others (a copy, an old lab) is tightened.
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        let loaded = DataFile::open(&path).unwrap().load().unwrap().unwrap();
        assert_eq!(loaded.api_key, "k");
        assert_eq!(mode(&path), 0o600, "an existing file");
        // An empty file made by hand (redb starts it) gets the same.
        let empty = dir.path().join("empty.redb");
        std::fs::write(&empty, b"").unwrap();
        std::fs::set_permissions(&empty, std::fs::Permissions::from_mode(0o666)).unwrap();
        DataFile::open(&empty).unwrap();
        assert_eq!(mode(&empty), 0o600, "an empty file");
    }

    #[test]
    fn an_open_file_is_not_opened_twice() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("lab.redb");
        let _first = DataFile::open(&path).unwrap();
        let e = DataFile::open(&path).err().expect("a second open fails");
        assert!(e.to_string().contains("in use"), "{e}");
    }

    #[test]
    fn a_file_that_is_not_a_database_is_an_error_naming_it() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("notes.txt");
        std::fs::write(
            &path,
            "these are not the bytes you are looking for\n".repeat(200),
        )
        .unwrap();
        let e = DataFile::open(&path).err().expect("garbage is refused");
        let text = e.to_string();
        assert!(text.contains(&path.display().to_string()), "{text}");
        assert!(text.contains("not a palette-lab data file"), "{text}");
        // Refused, not overwritten.
        assert!(std::fs::read_to_string(&path)
            .unwrap()
            .starts_with("these are"));
    }

    #[test]
    fn a_damaged_database_is_an_error_naming_it() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("lab.redb");
        DataFile::open(&path)
            .unwrap()
            .save("k", &Store::seeded())
            .unwrap();
        let whole = std::fs::read(&path).unwrap();
        // Cut short with its header intact (a copy that stopped midway),
        // and scrambled past the magic number.
        let mut scrambled = whole.clone();
        for b in scrambled.iter_mut().skip(16) {
            *b ^= 0x5a;
        }
        for bytes in [whole[..whole.len() / 2].to_vec(), scrambled] {
            std::fs::write(&path, &bytes).unwrap();
            let result = DataFile::open(&path).and_then(|f| f.load());
            let e = result.expect_err("a damaged file is refused");
            assert!(e.to_string().contains(&path.display().to_string()), "{e}");
        }
    }

    #[test]
    fn a_state_that_is_not_the_lab_s_is_an_error_naming_it() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("lab.redb");
        let file = DataFile::open(&path).unwrap();
        file.write(br#"{"format": 1, "api_key": "k", "store": {"org_name": 7}}"#)
            .unwrap();
        let e = file.load().expect_err("a foreign state is refused");
        assert!(e.to_string().contains("not readable"), "{e}");
        assert!(e.to_string().contains("lab.redb"), "{e}");
        file.write(br#"{"format": 99}"#).unwrap();
        let e = file.load().expect_err("a newer format is refused");
        assert!(e.to_string().contains("format 99"), "{e}");
    }
}
