//! Inventory lookups by path and the VM operations the lab and the provider
//! need: create (with extraConfig keys), power on/off, destroy, read.
//!
//! Paths are vCenter inventory paths as govc writes them: `DC0/host/DC0_C0`,
//! `DC0/datastore/LocalDS_0`, `DC0/network/VM Network`, `DC0/vm/folder/vm`.

use std::collections::BTreeMap;
use std::sync::Arc;

use vim_rs::core::client::VimClient;
use vim_rs::mo;
use vim_rs::types::boxed_types::ValueElements;
use vim_rs::types::convert::CastFrom;
use vim_rs::types::enums::{
    MoTypesEnum, SharesLevelEnum, TaskInfoStateEnum, VirtualDeviceConfigSpecOperationEnum,
    VirtualMachinePowerStateEnum,
};
use vim_rs::types::structs::{
    ManagedObjectReference, OptionValue, SharesInfo, VirtualDevice, VirtualDeviceConfigSpec,
    VirtualDeviceDeviceBackingInfo, VirtualEthernetCard, VirtualEthernetCardNetworkBackingInfo,
    VirtualEthernetCardResourceAllocation, VirtualMachineConfigSpec, VirtualMachineFileInfo,
    VirtualVmxnet, VirtualVmxnet3,
};
use vim_rs::types::traits::{VirtualDeviceTrait, VirtualEthernetCardTrait};
use vim_rs::types::vim_any::VimAny;

use crate::error::Error;
use crate::session::Session;

/// The network resource allocation vCenter 6 and later gives every NIC it
/// creates: no reservation, no limit, normal shares. vcsim leaves it out,
/// and other tools read it unconditionally (HashiCorp's vsphere provider
/// dereferences it for every NIC of a VM it reads), so VMs made here carry
/// it, as VMs Palette makes on vCenter do.
pub fn vcenter_nic_allocation() -> VirtualEthernetCardResourceAllocation {
    VirtualEthernetCardResourceAllocation {
        reservation: Some(0),
        share: SharesInfo {
            shares: 50,
            level: SharesLevelEnum::Normal,
        },
        limit: Some(-1),
    }
}

/// A device with [`vcenter_nic_allocation`] filled in when it is a NIC
/// without one; any other device as it was.
pub(crate) fn with_nic_allocation(
    device: Box<dyn VirtualDeviceTrait>,
) -> Result<Box<dyn VirtualDeviceTrait>, String> {
    let needs = <dyn VirtualEthernetCardTrait>::from_ref(device.as_ref())
        .is_some_and(|c| c.get_virtual_ethernet_card().resource_allocation.is_none());
    if !needs {
        return Ok(device);
    }
    let mut card = <dyn VirtualEthernetCardTrait>::from_box(device)
        .map_err(|_| "a network adapter could not be read as one".to_string())?;
    card.get_virtual_ethernet_card_mut().resource_allocation = Some(vcenter_nic_allocation());
    <dyn VirtualDeviceTrait>::from_box(card)
        .map_err(|_| "a network adapter could not be read as a device".to_string())
}

/// A NIC's network resource allocation as vCenter reports it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NicAllocation {
    pub reservation: Option<i64>,
    pub limit: Option<i64>,
    pub shares: i32,
    pub level: String,
}

/// `extraConfig` entries as vim_rs option values.
pub(crate) fn option_values(
    entries: &BTreeMap<String, String>,
) -> Vec<Box<dyn vim_rs::types::traits::OptionValueTrait>> {
    entries
        .iter()
        .map(|(k, v)| {
            Box::new(OptionValue {
                key: k.clone(),
                value: Some(VimAny::Value(ValueElements::PrimitiveString(v.clone()))),
            }) as Box<dyn vim_rs::types::traits::OptionValueTrait>
        })
        .collect()
}

/// Where a VM goes. Names, not paths: the datacenter's folders are implied.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Placement {
    pub datacenter: String,
    /// A compute cluster (or standalone host) name.
    pub compute_cluster: String,
    pub datastore: String,
    pub network: String,
    /// Resource pool path below the cluster's root pool; empty or
    /// `Resources` means the root pool.
    pub resource_pool: String,
    /// VM folder path below the datacenter's `vm` folder; empty means the
    /// folder itself. Missing folders are created.
    pub folder: String,
}

/// A placement found in the inventory, nothing created yet.
#[derive(Clone, Debug)]
pub struct Located {
    pub placement: Placement,
    pub datacenter: ManagedObjectReference,
    pub datastore: ManagedObjectReference,
    pub network: ManagedObjectReference,
    pub pool: ManagedObjectReference,
}

/// A placement resolved to managed objects.
#[derive(Clone, Debug)]
pub struct Resolved {
    pub datacenter: ManagedObjectReference,
    pub datastore: ManagedObjectReference,
    pub datastore_name: String,
    pub network: ManagedObjectReference,
    pub network_name: String,
    pub pool: ManagedObjectReference,
    pub folder: ManagedObjectReference,
    /// Inventory path of the folder, for VM paths in messages.
    pub folder_path: String,
    /// The folders this resolve created, outermost first: the only ones its
    /// caller may later remove (see [`Session::remove_folder_if_empty`]).
    pub created_folders: Vec<String>,
}

/// A VM to create.
#[derive(Clone, Debug, Default)]
pub struct VmSpec {
    pub name: String,
    pub cpus: i32,
    pub memory_mb: i64,
    pub annotation: Option<String>,
    /// `extraConfig` keys, such as `guestinfo.*`.
    pub extra_config: BTreeMap<String, String>,
}

/// What a VM looks like from vCenter.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VmInfo {
    pub moref: String,
    pub name: String,
    pub powered_on: bool,
    pub annotation: Option<String>,
    pub extra_config: BTreeMap<String, String>,
    /// OVF property values the VM was deployed with, by property key.
    pub properties: Vec<OvfProperty>,
}

/// One OVF property of a deployed VM.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OvfProperty {
    pub key: String,
    /// The descriptor's label (what the vSphere wizard shows). vCenter keeps
    /// it; vcsim does not (see [`ovf_properties`]), so callers match labels
    /// through the descriptor when it is `None`.
    pub label: Option<String>,
    pub value: String,
}

/// The `extraConfig` key vcsim puts on every VM it makes (`govcsim`), and
/// vCenter on none.
const VCSIM_VM: &str = "govcsim";

/// OVF property values. vCenter keeps them, labelled, in
/// `vAppConfig.property`. vcsim keeps no vApp properties: it copies
/// ImportVApp's property mapping into `extraConfig`, so on a vcsim VM
/// without vApp properties every non-`guestinfo.` extraConfig key that
/// looks like an OVF key (`a.b`) stands for one. Only there: a vCenter VM
/// without vApp properties has none, and its extraConfig holds VMX settings
/// of the same look (`svga.present`, `tools.guest.desktop.autolock`).
pub fn ovf_properties(
    vapp: Option<&vim_rs::types::structs::VmConfigInfo>,
    extra: &BTreeMap<String, String>,
) -> Vec<OvfProperty> {
    let from_vapp: Vec<OvfProperty> = vapp
        .and_then(|v| v.property.as_ref())
        .map(|props| {
            props
                .iter()
                .filter_map(|p| {
                    Some(OvfProperty {
                        key: p.id.clone()?,
                        label: p.label.clone().filter(|l| !l.is_empty()),
                        value: p
                            .value
                            .clone()
                            .filter(|v| !v.is_empty())
                            .or_else(|| p.default_value.clone())
                            .unwrap_or_default(),
                    })
                })
                .collect()
        })
        .unwrap_or_default();
    if !from_vapp.is_empty() || !extra.contains_key(VCSIM_VM) {
        return from_vapp;
    }
    extra
        .iter()
        .filter(|(k, _)| {
            !k.starts_with("guestinfo.") && k.contains('.') && !k.contains(':') && !k.contains(' ')
        })
        .map(|(k, v)| OvfProperty {
            key: k.clone(),
            label: None,
            value: v.clone(),
        })
        .collect()
}

/// Where a VM is: its placement as names below its datacenter, and its
/// inventory path.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VmLocation {
    pub placement: Placement,
    pub path: String,
}

fn parent_path(path: &str) -> &str {
    path.rsplit_once('/').map(|(p, _)| p).unwrap_or("")
}

impl Session {
    pub(crate) fn handle(&self) -> Arc<dyn VimClient> {
        self.vim().clone()
    }

    pub(crate) fn err(&self, e: vim_rs::core::client::Error) -> Error {
        Error::from_vim(self.server(), "", e)
    }

    /// A fault about VM `vm`: a VM that no longer exists is
    /// [`Error::NotFound`], anything else as [`Session::err`] says.
    fn vm_err(&self, vm: &str, e: vim_rs::core::client::Error) -> Error {
        match &e {
            vim_rs::core::client::Error::MethodFault(f)
                if f.type_
                    == Some(vim_rs::types::struct_enum::StructType::ManagedObjectNotFound) =>
            {
                Error::NotFound {
                    kind: "virtual machine",
                    path: vm.to_string(),
                    hint: None,
                }
            }
            _ => self.err(e),
        }
    }

    /// The object at an inventory path, or [`Error::NotFound`] naming it.
    pub async fn find(
        &self,
        kind: &'static str,
        path: &str,
    ) -> Result<ManagedObjectReference, Error> {
        let si = self
            .vim()
            .service_content()
            .search_index
            .clone()
            .ok_or_else(|| Error::Protocol {
                server: self.server().into(),
                message: "no SearchIndex".into(),
            })?;
        let index = mo::SearchIndex::new(self.handle(), &si.value);
        match index
            .find_by_inventory_path(path)
            .await
            .map_err(|e| self.err(e))?
        {
            Some(m) => Ok(m),
            None => Err(Error::NotFound {
                kind,
                path: path.to_string(),
                hint: parent_hint(path),
            }),
        }
    }

    /// Finds every part of a placement but its folder, changing nothing.
    /// The first missing part is the error, named with its full path.
    pub async fn locate(&self, p: &Placement) -> Result<Located, Error> {
        let dc = &p.datacenter;
        let datacenter = self.find("datacenter", dc).await?;
        let cluster_path = format!("{dc}/host/{}", p.compute_cluster);
        self.find("compute cluster", &cluster_path).await?;
        let datastore = self
            .find("datastore", &format!("{dc}/datastore/{}", p.datastore))
            .await?;
        let network = self
            .find("network", &format!("{dc}/network/{}", p.network))
            .await?;
        let rp = p.resource_pool.trim_matches('/');
        let pool_path = match rp {
            "" | "Resources" => format!("{cluster_path}/Resources"),
            other => format!(
                "{cluster_path}/Resources/{}",
                other.trim_start_matches("Resources/")
            ),
        };
        let pool = self.find("resource pool", &pool_path).await?;
        Ok(Located {
            placement: p.clone(),
            datacenter,
            datastore,
            network,
            pool,
        })
    }

    /// A located placement made whole: its VM folder, created where missing.
    pub async fn complete(&self, l: Located) -> Result<Resolved, Error> {
        let (folder, folder_path, created_folders) = self
            .make_folder(&l.placement.datacenter, &l.placement.folder)
            .await?;
        Ok(Resolved {
            created_folders,
            datacenter: l.datacenter,
            datastore: l.datastore,
            datastore_name: l.placement.datastore,
            network: l.network,
            network_name: l.placement.network,
            pool: l.pool,
            folder,
            folder_path,
        })
    }

    /// Resolves every part of a placement, creating missing VM folders.
    /// The first missing part is the error, named with its full path.
    pub async fn resolve(&self, p: &Placement) -> Result<Resolved, Error> {
        let located = self.locate(p).await?;
        self.complete(located).await
    }

    /// The VM folder `DC/vm/PATH`, created level by level where missing.
    pub async fn ensure_folder(
        &self,
        datacenter: &str,
        path: &str,
    ) -> Result<(ManagedObjectReference, String), Error> {
        let (folder, path, _) = self.make_folder(datacenter, path).await?;
        Ok((folder, path))
    }

    /// [`Session::ensure_folder`], also saying which folders it created.
    async fn make_folder(
        &self,
        datacenter: &str,
        path: &str,
    ) -> Result<(ManagedObjectReference, String, Vec<String>), Error> {
        let mut created = Vec::new();
        let mut current_path = format!("{datacenter}/vm");
        let mut current = self.find("VM folder", &current_path).await?;
        for part in path.split('/').filter(|s| !s.is_empty()) {
            let next_path = format!("{current_path}/{part}");
            current = match self.find("VM folder", &next_path).await {
                Ok(f) => f,
                Err(Error::NotFound { .. }) => {
                    match mo::Folder::new(self.handle(), &current.value)
                        .create_folder(part)
                        .await
                    {
                        Ok(f) => {
                            created.push(next_path.clone());
                            f
                        }
                        // Another caller (a second gateway in the same
                        // apply) made it between our lookup and create:
                        // DuplicateName, and the folder is there to use.
                        Err(e) => match self.find("VM folder", &next_path).await {
                            Ok(f) => f,
                            Err(_) => return Err(self.err(e)),
                        },
                    }
                }
                Err(e) => return Err(e),
            };
            current_path = next_path;
        }
        Ok((current, current_path, created))
    }

    /// Removes the VM folder at `path` when it holds nothing; a folder that
    /// holds anything (a VM or folder someone else put there) stays, and so
    /// does one already gone. Returns whether it removed the folder. Callers
    /// pass only folders they created ([`Resolved::created_folders`]): a
    /// folder of the same name is no proof.
    pub async fn remove_folder_if_empty(&self, path: &str) -> Result<bool, Error> {
        let folder = match self.find("VM folder", path).await {
            Ok(f) => f,
            Err(e) if e.is_not_found() => return Ok(false),
            Err(e) => return Err(e),
        };
        let f = mo::Folder::new(self.handle(), &folder.value);
        let children = f.child_entity().await.map_err(|e| self.err(e))?;
        if !children.unwrap_or_default().is_empty() {
            return Ok(false);
        }
        let task = f.destroy_task().await.map_err(|e| self.err(e))?;
        self.wait_task(&task).await?;
        Ok(true)
    }

    /// Waits for a task to end; its fault becomes the error. The wait ends
    /// early with [`Error::Cancelled`] or [`Error::TimedOut`] as the
    /// session's limits say ([`Session::with_cancel`],
    /// [`Session::with_deadline`]); the task itself goes on in vCenter.
    pub async fn wait_task(&self, task: &ManagedObjectReference) -> Result<(), Error> {
        let t = mo::Task::new(self.handle(), &task.value);
        let what = || format!("vCenter task {}", task.value);
        let info = self
            .limits()
            .wait(what, true, || async {
                let info = t.info().await.map_err(|e| self.err(e))?;
                Ok(match info.state {
                    TaskInfoStateEnum::Success | TaskInfoStateEnum::Error => Some(info),
                    _ => None,
                })
            })
            .await?;
        if info.state == TaskInfoStateEnum::Success {
            return Ok(());
        }
        Err(match info.error.map(Arc::new) {
            Some(f) => Error::from_vim(
                self.server(),
                "",
                vim_rs::core::client::Error::MethodFault(f),
            ),
            None => Error::Fault {
                server: self.server().into(),
                fault: "TaskFailed".into(),
                detail: info.name,
            },
        })
    }

    /// Creates a VM with one vmxnet3 NIC on the placement's network, powered
    /// off. Returns its managed object id.
    pub async fn create_vm(&self, spec: &VmSpec, at: &Resolved) -> Result<String, Error> {
        let nic = VirtualVmxnet3 {
            virtual_vmxnet_: VirtualVmxnet {
                virtual_ethernet_card_: VirtualEthernetCard {
                    virtual_device_: VirtualDevice {
                        key: -1,
                        backing: Some(Box::new(VirtualEthernetCardNetworkBackingInfo {
                            virtual_device_device_backing_info_: VirtualDeviceDeviceBackingInfo {
                                device_name: at.network_name.clone(),
                                ..Default::default()
                            },
                            network: Some(at.network.clone()),
                            ..Default::default()
                        })),
                        ..Default::default()
                    },
                    resource_allocation: Some(vcenter_nic_allocation()),
                    ..Default::default()
                },
            },
            ..Default::default()
        };
        let extra = option_values(&spec.extra_config);
        let config = VirtualMachineConfigSpec {
            name: Some(spec.name.clone()),
            num_cp_us: Some(spec.cpus.max(1)),
            memory_mb: Some(spec.memory_mb.max(128)),
            annotation: spec.annotation.clone(),
            guest_id: Some("ubuntu64Guest".into()),
            files: Some(VirtualMachineFileInfo {
                vm_path_name: Some(format!("[{}]", at.datastore_name)),
                ..Default::default()
            }),
            device_change: Some(vec![Box::new(VirtualDeviceConfigSpec {
                operation: Some(VirtualDeviceConfigSpecOperationEnum::Add),
                device: Box::new(nic),
                ..Default::default()
            })]),
            extra_config: (!extra.is_empty()).then_some(extra),
            ..Default::default()
        };
        let folder = mo::Folder::new(self.handle(), &at.folder.value);
        let task = folder
            .create_vm_task(&config, &at.pool, None)
            .await
            .map_err(|e| self.err(e))?;
        self.wait_task(&task).await?;
        let path = format!("{}/{}", at.folder_path, spec.name);
        Ok(self.find("virtual machine", &path).await?.value)
    }

    pub async fn power_on(&self, vm: &str) -> Result<(), Error> {
        if self.vm_info(vm).await?.powered_on {
            return Ok(());
        }
        let task = mo::VirtualMachine::new(self.handle(), vm)
            .power_on_vm_task(None)
            .await
            .map_err(|e| self.err(e))?;
        self.wait_task(&task).await
    }

    pub async fn power_off(&self, vm: &str) -> Result<(), Error> {
        if !self.vm_info(vm).await?.powered_on {
            return Ok(());
        }
        let task = mo::VirtualMachine::new(self.handle(), vm)
            .power_off_vm_task()
            .await
            .map_err(|e| self.err(e))?;
        self.wait_task(&task).await
    }

    /// Powers the VM off if needed and destroys it.
    pub async fn destroy_vm(&self, vm: &str) -> Result<(), Error> {
        self.power_off(vm).await?;
        let task = mo::VirtualMachine::new(self.handle(), vm)
            .destroy_task()
            .await
            .map_err(|e| self.err(e))?;
        self.wait_task(&task).await
    }

    /// The network resource allocation of each of a VM's NICs, in device
    /// order; `None` for a NIC that has none.
    pub async fn nic_allocations(&self, vm: &str) -> Result<Vec<Option<NicAllocation>>, Error> {
        let m = mo::VirtualMachine::new(self.handle(), vm);
        let config = m.config().await.map_err(|e| self.vm_err(vm, e))?;
        let devices = config.and_then(|c| c.hardware.device).unwrap_or_default();
        Ok(devices
            .iter()
            .filter_map(|d| <dyn VirtualEthernetCardTrait>::from_ref(d.as_ref()))
            .map(|c| {
                c.get_virtual_ethernet_card()
                    .resource_allocation
                    .as_ref()
                    .map(|a| NicAllocation {
                        reservation: a.reservation,
                        limit: a.limit,
                        shares: a.share.shares,
                        level: a.share.level.to_string(),
                    })
            })
            .collect())
    }

    /// Name, power state, annotation and extraConfig of a VM; a VM that is
    /// gone is [`Error::NotFound`].
    pub async fn vm_info(&self, vm: &str) -> Result<VmInfo, Error> {
        let m = mo::VirtualMachine::new(self.handle(), vm);
        let gone = |e| self.vm_err(vm, e);
        let moref = ManagedObjectReference {
            r#type: vim_rs::types::enums::MoTypesEnum::VirtualMachine,
            value: vm.to_string(),
        };
        // One property, not the whole `runtime` object: vCenter's decodes,
        // vcsim's does not (it omits fields vim_rs requires), and this one
        // field reads the same from both, so there is no vcsim branch.
        let power: VirtualMachinePowerStateEnum = self
            .vim()
            .fetch_property(moref, "runtime.powerState")
            .await
            .map_err(gone)?;
        let config = m.config().await.map_err(gone)?;
        let mut extra = BTreeMap::new();
        let mut name = String::new();
        let mut annotation = None;
        let mut properties = Vec::new();
        if let Some(c) = config {
            name = c.name.clone();
            annotation = c.annotation.clone().filter(|a| !a.is_empty());
            for o in c.extra_config.as_deref().unwrap_or_default() {
                if let Some(VimAny::Value(ValueElements::PrimitiveString(s))) = &o.value {
                    extra.insert(o.key.clone(), s.clone());
                }
            }
            let vapp = c.v_app_config.as_deref().map(|v| v.get_vm_config_info());
            properties = ovf_properties(vapp, &extra);
        }
        Ok(VmInfo {
            moref: vm.to_string(),
            name,
            powered_on: power == VirtualMachinePowerStateEnum::PoweredOn,
            annotation,
            extra_config: extra,
            properties,
        })
    }

    /// Where a VM lives, read back from vCenter: what an import needs to
    /// describe a VM the provider did not deploy. The VM's first datastore
    /// and network stand for its placement, as a wizard deployment has one
    /// of each.
    pub async fn vm_location(&self, vm: &str) -> Result<VmLocation, Error> {
        let mor = |t: MoTypesEnum, v: &str| ManagedObjectReference {
            r#type: t,
            value: v.to_string(),
        };
        let gone = |e| self.vm_err(vm, e);
        let vim = self.vim();
        let me = mor(MoTypesEnum::VirtualMachine, vm);
        let vm_name: String = vim.fetch_property(me.clone(), "name").await.map_err(gone)?;
        let name_of = |m: ManagedObjectReference| async move {
            vim.fetch_property::<String>(m, "name")
                .await
                .map_err(|e| self.err(e))
        };
        let parent_of = |m: ManagedObjectReference| async move {
            vim.fetch_property::<ManagedObjectReference>(m, "parent")
                .await
                .ok()
        };
        // Folders up to the datacenter; the last one is its `vm` folder.
        let mut folders = Vec::new();
        let mut cur = parent_of(me.clone()).await;
        let mut datacenter = None;
        while let Some(m) = cur {
            if m.r#type == MoTypesEnum::Datacenter {
                datacenter = Some(m);
                break;
            }
            folders.push(name_of(m.clone()).await?);
            cur = parent_of(m).await;
        }
        let Some(dc) = datacenter else {
            return Err(Error::Protocol {
                server: self.server().into(),
                message: format!("VM {vm} is not below a datacenter"),
            });
        };
        // A datacenter may sit in folders of its own; the root folder is not
        // part of a path.
        let mut dc_parts = vec![name_of(dc.clone()).await?];
        let mut up = parent_of(dc).await;
        while let Some(m) = up {
            let next = parent_of(m.clone()).await;
            if next.is_none() {
                break;
            }
            dc_parts.push(name_of(m).await?);
            up = next;
        }
        dc_parts.reverse();
        let dc_path = dc_parts.join("/");
        folders.pop();
        folders.reverse();
        let folder = folders.join("/");
        // Resource pools up to the compute resource that owns them; the
        // root pool ("Resources") is implied.
        let mut pools = Vec::new();
        let mut compute_cluster = String::new();
        let mut rp = vim
            .fetch_property::<ManagedObjectReference>(me.clone(), "resourcePool")
            .await
            .ok();
        while let Some(m) = rp {
            if matches!(
                m.r#type,
                MoTypesEnum::ClusterComputeResource | MoTypesEnum::ComputeResource
            ) {
                compute_cluster = name_of(m).await?;
                break;
            }
            pools.push(name_of(m.clone()).await?);
            rp = parent_of(m).await;
        }
        pools.pop();
        pools.reverse();
        let first_named = |prop: &'static str| {
            let me = me.clone();
            async move {
                let list = vim
                    .fetch_property::<Vec<ManagedObjectReference>>(me, prop)
                    .await
                    .unwrap_or_default();
                match list.into_iter().next() {
                    Some(m) => name_of(m).await,
                    None => Ok(String::new()),
                }
            }
        };
        let datastore = first_named("datastore").await?;
        let network = first_named("network").await?;
        let path = if folder.is_empty() {
            format!("{dc_path}/vm/{vm_name}")
        } else {
            format!("{dc_path}/vm/{folder}/{vm_name}")
        };
        Ok(VmLocation {
            placement: Placement {
                datacenter: dc_path,
                compute_cluster,
                datastore,
                network,
                resource_pool: pools.join("/"),
                folder,
            },
            path,
        })
    }

    /// Every VM in the inventory (a container view on the root folder).
    pub async fn list_vms(&self) -> Result<Vec<VmInfo>, Error> {
        let content = self.vim().service_content();
        let vm_mgr = content
            .view_manager
            .clone()
            .ok_or_else(|| Error::Protocol {
                server: self.server().into(),
                message: "no ViewManager".into(),
            })?;
        let views = mo::ViewManager::new(self.handle(), &vm_mgr.value);
        let view = views
            .create_container_view(
                &content.root_folder,
                Some(&["VirtualMachine".to_string()]),
                true,
            )
            .await
            .map_err(|e| self.err(e))?;
        let cv = mo::ContainerView::new(self.handle(), &view.value);
        let refs = cv.view().await.map_err(|e| self.err(e));
        let _ = cv.destroy_view().await;
        let mut out = Vec::new();
        for r in refs?.unwrap_or_default() {
            match self.vm_info(&r.value).await {
                Ok(i) => out.push(i),
                // Deleted while we listed: not part of the answer.
                Err(Error::NotFound { .. }) => {}
                Err(e) => return Err(e),
            }
        }
        Ok(out)
    }
}

/// A datacenter as the console's cluster dialogs list it: its compute
/// clusters and its VM folders (paths below the datacenter's VM folder).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct DatacenterInventory {
    pub name: String,
    pub compute_clusters: Vec<String>,
    pub folders: Vec<String>,
}

/// What a compute cluster offers a placement.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ClusterResources {
    pub datastores: Vec<String>,
    pub networks: Vec<String>,
    /// Paths below the cluster, such as `Resources` and `Resources/apps`.
    pub resource_pools: Vec<String>,
}

impl Session {
    pub(crate) async fn name_of(&self, m: &ManagedObjectReference) -> Result<String, Error> {
        self.vim()
            .fetch_property::<String>(m.clone(), "name")
            .await
            .map_err(|e| self.err(e))
    }

    /// Every object under a folder, sub-folders walked, with its path below
    /// the folder. Iterative: async recursion would need boxing per level.
    async fn folder_tree(
        &self,
        root: &ManagedObjectReference,
    ) -> Result<Vec<(String, ManagedObjectReference)>, Error> {
        let mut out = Vec::new();
        let mut todo = vec![(String::new(), root.clone())];
        while let Some((prefix, folder)) = todo.pop() {
            let children = mo::Folder::new(self.handle(), &folder.value)
                .child_entity()
                .await
                .map_err(|e| self.err(e))?
                .unwrap_or_default();
            for c in children {
                let name = self.name_of(&c).await?;
                let path = if prefix.is_empty() {
                    name
                } else {
                    format!("{prefix}/{name}")
                };
                if c.r#type == MoTypesEnum::Folder {
                    todo.push((path.clone(), c.clone()));
                }
                out.push((path, c));
            }
        }
        out.sort_by(|a, b| a.0.cmp(&b.0));
        Ok(out)
    }

    /// Every datacenter with its compute clusters and VM folders.
    pub async fn datacenters(&self) -> Result<Vec<DatacenterInventory>, Error> {
        let root = self.vim().service_content().root_folder.clone();
        let mut out = Vec::new();
        for (path, dc) in self.folder_tree(&root).await? {
            if dc.r#type != MoTypesEnum::Datacenter {
                continue;
            }
            let d = mo::Datacenter::new(self.handle(), &dc.value);
            let hosts = d.host_folder().await.map_err(|e| self.err(e))?;
            let compute_clusters = self
                .folder_tree(&hosts)
                .await?
                .into_iter()
                .filter(|(_, m)| m.r#type == MoTypesEnum::ClusterComputeResource)
                .map(|(p, _)| p)
                .collect();
            let vms = d.vm_folder().await.map_err(|e| self.err(e))?;
            let folders = self
                .folder_tree(&vms)
                .await?
                .into_iter()
                .filter(|(_, m)| m.r#type == MoTypesEnum::Folder)
                .map(|(p, _)| p)
                .collect();
            out.push(DatacenterInventory {
                name: path,
                compute_clusters,
                folders,
            });
        }
        Ok(out)
    }

    /// The datastores, networks and resource pools of one compute cluster;
    /// a missing datacenter or cluster is [`Error::NotFound`] naming it.
    pub async fn cluster_resources(
        &self,
        datacenter: &str,
        cluster: &str,
    ) -> Result<ClusterResources, Error> {
        self.find("datacenter", datacenter).await?;
        let c = self
            .find("compute cluster", &format!("{datacenter}/host/{cluster}"))
            .await?;
        let cc = mo::ClusterComputeResource::new(self.handle(), &c.value);
        let mut datastores = Vec::new();
        for d in cc
            .datastore()
            .await
            .map_err(|e| self.err(e))?
            .unwrap_or_default()
        {
            datastores.push(self.name_of(&d).await?);
        }
        let mut networks = Vec::new();
        for n in cc
            .network()
            .await
            .map_err(|e| self.err(e))?
            .unwrap_or_default()
        {
            networks.push(self.name_of(&n).await?);
        }
        let mut resource_pools = Vec::new();
        if let Some(root) = cc.resource_pool().await.map_err(|e| self.err(e))? {
            let mut todo = vec![(self.name_of(&root).await?, root)];
            while let Some((path, rp)) = todo.pop() {
                let children = mo::ResourcePool::new(self.handle(), &rp.value)
                    .resource_pool()
                    .await
                    .map_err(|e| self.err(e))?
                    .unwrap_or_default();
                for child in children {
                    let name = self.name_of(&child).await?;
                    todo.push((format!("{path}/{name}"), child));
                }
                resource_pools.push(path);
            }
        }
        datastores.sort();
        networks.sort();
        resource_pools.sort();
        Ok(ClusterResources {
            datastores,
            networks,
            resource_pools,
        })
    }
}

/// What to check when a path is not found: its parent, which may be wrong too.
fn parent_hint(path: &str) -> Option<String> {
    let parent = parent_path(path);
    (!parent.is_empty()).then(|| format!("check that {parent:?} exists and holds it"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use vim_rs::types::structs::{VAppPropertyInfo, VmConfigInfo};

    #[test]
    fn vcenter_vapp_properties_win_over_extra_config_and_keep_labels() {
        let vapp = VmConfigInfo {
            property: Some(vec![
                VAppPropertyInfo {
                    id: Some("installer.name".into()),
                    label: Some("Installer Name".into()),
                    value: Some("pcg-dc1".into()),
                    ..Default::default()
                },
                // Unset values fall back to the descriptor's default.
                VAppPropertyInfo {
                    id: Some("installer.pod_cidr".into()),
                    label: Some("Pod CIDR".into()),
                    value: Some(String::new()),
                    default_value: Some("192.168.0.0/16".into()),
                    ..Default::default()
                },
            ]),
            ..Default::default()
        };
        let extra = BTreeMap::from([("installer.name".to_string(), "stale".to_string())]);
        let props = ovf_properties(Some(&vapp), &extra);
        assert_eq!(
            props,
            vec![
                OvfProperty {
                    key: "installer.name".into(),
                    label: Some("Installer Name".into()),
                    value: "pcg-dc1".into()
                },
                OvfProperty {
                    key: "installer.pod_cidr".into(),
                    label: Some("Pod CIDR".into()),
                    value: "192.168.0.0/16".into()
                },
            ]
        );
    }

    #[test]
    fn on_a_vcsim_vm_extra_config_stands_in_but_not_guestinfo() {
        let extra = BTreeMap::from([
            ("govcsim".to_string(), "TRUE".to_string()),
            ("installer.name".to_string(), "pcg".to_string()),
            ("guestinfo.userdata".to_string(), "x".to_string()),
        ]);
        let props = ovf_properties(None, &extra);
        assert_eq!(props.len(), 1);
        assert_eq!(props[0].key, "installer.name");
        assert_eq!(props[0].label, None);
    }

    /// A VM vCenter did not deploy from an OVF (a CAPV node, a VM made by
    /// hand): no vApp properties, and an extraConfig of VMX settings as
    /// vCenter 7 and 8 report them. None of them is an OVF property; read as
    /// one, each would lack a label and send an import after the installer
    /// OVA's descriptor for nothing.
    #[test]
    fn a_vcenter_vm_without_vapp_properties_has_none() {
        let extra: BTreeMap<String, String> = [
            ("nvram", "node-1.nvram"),
            ("svga.present", "TRUE"),
            ("pciBridge0.present", "TRUE"),
            ("pciBridge4.virtualDev", "pcieRootPort"),
            ("tools.guest.desktop.autolock", "FALSE"),
            ("vmware.tools.internalversion", "12352"),
            ("migrate.hostLog", "node-1-3b1f.hlog"),
            (
                "sched.swap.derivedName",
                "/vmfs/volumes/ds/node-1/node-1-3b1f.vswp",
            ),
            ("numa.autosize.vcpu.maxPerVirtualNode", "2"),
            ("guestinfo.userdata", "I2Nsb3VkLWNvbmZpZw=="),
            ("guestinfo.userdata.encoding", "base64"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        assert_eq!(ovf_properties(None, &extra), Vec::new());
        let empty_vapp = VmConfigInfo::default();
        assert_eq!(ovf_properties(Some(&empty_vapp), &extra), Vec::new());
    }
}
