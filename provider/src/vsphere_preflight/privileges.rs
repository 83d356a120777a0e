//! The reference document's two privilege tables as vSphere privilege ids,
//! each with the name the document (and the vSphere client) gives it, so a
//! failure reads in both vocabularies.
//!
//! Left out: vSAN "Cluster: ShallowRekey" (`VSAN.Cluster.ShallowRekey`),
//! which vCenter only knows where vSAN is licensed; asking for an unknown
//! id would fail the whole question.

/// "Privileges under root-level role": granted on the root folder.
pub const ROOT_LEVEL: &[(&str, &str)] = &[
    ("Cns.Searchable", "Cns: Searchable"),
    ("Datastore.Browse", "Datastore: Browse datastore"),
    (
        "Host.Config.Storage",
        "Host > Configuration: Storage partition configuration",
    ),
    (
        "InventoryService.Tagging.CreateTag",
        "vSphere Tagging: Create vSphere Tag",
    ),
    (
        "InventoryService.Tagging.EditTag",
        "vSphere Tagging: Edit vSphere Tag",
    ),
    ("Network.Assign", "Network: Assign network"),
    ("Sessions.ValidateSession", "Sessions: Validate session"),
    (
        "StorageProfile.View",
        "Profile-driven storage: Profile-driven storage view",
    ),
    ("StorageViews.View", "Storage views: View"),
];

/// "Privileges under Spectro role": granted on the objects Palette works in
/// (datacenter, compute clusters, datastore).
pub const SPECTRO: &[(&str, &str)] = &[
    ("Cns.Searchable", "Cns: Searchable"),
    ("Datastore.AllocateSpace", "Datastore: Allocate space"),
    ("Datastore.Browse", "Datastore: Browse datastore"),
    (
        "Datastore.FileManagement",
        "Datastore: Low level file operations",
    ),
    ("Datastore.DeleteFile", "Datastore: Remove file"),
    (
        "Datastore.UpdateVirtualMachineFiles",
        "Datastore: Update virtual machine files",
    ),
    (
        "Datastore.UpdateVirtualMachineMetadata",
        "Datastore: Update virtual machine metadata",
    ),
    ("Folder.Create", "Folder: Create folder"),
    ("Folder.Delete", "Folder: Delete folder"),
    ("Folder.Move", "Folder: Move folder"),
    ("Folder.Rename", "Folder: Rename folder"),
    (
        "Host.Local.ReconfigVM",
        "Host > Local operations: Reconfigure virtual machine",
    ),
    (
        "InventoryService.Tagging.AttachTag",
        "vSphere Tagging: Assign or Unassign vSphere Tag",
    ),
    (
        "InventoryService.Tagging.CreateTag",
        "vSphere Tagging: Create vSphere Tag",
    ),
    (
        "InventoryService.Tagging.DeleteTag",
        "vSphere Tagging: Delete vSphere Tag",
    ),
    (
        "InventoryService.Tagging.EditTag",
        "vSphere Tagging: Edit vSphere Tag",
    ),
    ("Network.Assign", "Network: Assign network"),
    (
        "Resource.ApplyRecommendation",
        "Resource: Apply recommendation",
    ),
    (
        "Resource.AssignVMToPool",
        "Resource: Assign virtual machine to resource pool",
    ),
    (
        "Resource.ColdMigrate",
        "Resource: Migrate powered off virtual machine",
    ),
    (
        "Resource.HotMigrate",
        "Resource: Migrate powered on virtual machine",
    ),
    ("Resource.QueryVMotion", "Resource: Query vMotion"),
    ("Sessions.ValidateSession", "Sessions: Validate session"),
    (
        "StorageProfile.View",
        "Profile-driven storage: Profile-driven storage view",
    ),
    (
        "StorageViews.ConfigureService",
        "Storage views: Configure service",
    ),
    ("StorageViews.View", "Storage views: View"),
    ("Task.Create", "Tasks: Create task"),
    ("Task.Update", "Tasks: Update task"),
    ("VApp.Export", "vApp: Export"),
    ("VApp.Import", "vApp: Import"),
    ("VApp.ExtractOvfEnvironment", "vApp: View OVF environment"),
    (
        "VApp.ApplicationConfig",
        "vApp: vApp application configuration",
    ),
    ("VApp.InstanceConfig", "vApp: vApp instance configuration"),
    (
        "VirtualMachine.Config.DiskLease",
        "Virtual machines > Change Configuration: Acquire disk lease",
    ),
    (
        "VirtualMachine.Config.AddExistingDisk",
        "Virtual machines > Change Configuration: Add existing disk",
    ),
    (
        "VirtualMachine.Config.AddNewDisk",
        "Virtual machines > Change Configuration: Add new disk",
    ),
    (
        "VirtualMachine.Config.AddRemoveDevice",
        "Virtual machines > Change Configuration: Add or remove device",
    ),
    (
        "VirtualMachine.Config.AdvancedConfig",
        "Virtual machines > Change Configuration: Advanced configuration",
    ),
    (
        "VirtualMachine.Config.CPUCount",
        "Virtual machines > Change Configuration: Change CPU count",
    ),
    (
        "VirtualMachine.Config.Memory",
        "Virtual machines > Change Configuration: Change Memory",
    ),
    (
        "VirtualMachine.Config.Settings",
        "Virtual machines > Change Configuration: Change Settings",
    ),
    (
        "VirtualMachine.Config.SwapPlacement",
        "Virtual machines > Change Configuration: Change Swapfile placement",
    ),
    (
        "VirtualMachine.Config.Resource",
        "Virtual machines > Change Configuration: Change resource",
    ),
    (
        "VirtualMachine.Config.HostUSBDevice",
        "Virtual machines > Change Configuration: Configure Host USB device",
    ),
    (
        "VirtualMachine.Config.RawDevice",
        "Virtual machines > Change Configuration: Configure Raw device",
    ),
    (
        "VirtualMachine.Config.ManagedBy",
        "Virtual machines > Change Configuration: Configure managedBy",
    ),
    (
        "VirtualMachine.Config.MksControl",
        "Virtual machines > Change Configuration: Display connection settings",
    ),
    (
        "VirtualMachine.Config.DiskExtend",
        "Virtual machines > Change Configuration: Extend virtual disk",
    ),
    (
        "VirtualMachine.Config.EditDevice",
        "Virtual machines > Change Configuration: Modify device settings",
    ),
    (
        "VirtualMachine.Config.QueryFTCompatibility",
        "Virtual machines > Change Configuration: Query Fault Tolerance compatibility",
    ),
    (
        "VirtualMachine.Config.QueryUnownedFiles",
        "Virtual machines > Change Configuration: Query unowned files",
    ),
    (
        "VirtualMachine.Config.ReloadFromPath",
        "Virtual machines > Change Configuration: Reload from path",
    ),
    (
        "VirtualMachine.Config.RemoveDisk",
        "Virtual machines > Change Configuration: Remove disk",
    ),
    (
        "VirtualMachine.Config.Rename",
        "Virtual machines > Change Configuration: Rename",
    ),
    (
        "VirtualMachine.Config.ResetGuestInfo",
        "Virtual machines > Change Configuration: Reset guest information",
    ),
    (
        "VirtualMachine.Config.Annotation",
        "Virtual machines > Change Configuration: Set annotation",
    ),
    (
        "VirtualMachine.Config.ChangeTracking",
        "Virtual machines > Change Configuration: Toggle disk change tracking",
    ),
    (
        "VirtualMachine.Config.ToggleForkParent",
        "Virtual machines > Change Configuration: Toggle fork parent",
    ),
    (
        "VirtualMachine.Config.UpgradeVirtualHardware",
        "Virtual machines > Change Configuration: Upgrade virtual machine compatibility",
    ),
    (
        "VirtualMachine.Inventory.CreateFromExisting",
        "Virtual machines > Edit Inventory: Create from existing",
    ),
    (
        "VirtualMachine.Inventory.Create",
        "Virtual machines > Edit Inventory: Create new",
    ),
    (
        "VirtualMachine.Inventory.Move",
        "Virtual machines > Edit Inventory: Move",
    ),
    (
        "VirtualMachine.Inventory.Register",
        "Virtual machines > Edit Inventory: Register",
    ),
    (
        "VirtualMachine.Inventory.Delete",
        "Virtual machines > Edit Inventory: Remove",
    ),
    (
        "VirtualMachine.Inventory.Unregister",
        "Virtual machines > Edit Inventory: Unregister",
    ),
    (
        "VirtualMachine.GuestOperations.ModifyAliases",
        "Virtual machines > Guest operations: Guest operation alias modification",
    ),
    (
        "VirtualMachine.GuestOperations.QueryAliases",
        "Virtual machines > Guest operations: Guest operation alias query",
    ),
    (
        "VirtualMachine.GuestOperations.Modify",
        "Virtual machines > Guest operations: Guest operation modifications",
    ),
    (
        "VirtualMachine.GuestOperations.Execute",
        "Virtual machines > Guest operations: Guest operation program execution",
    ),
    (
        "VirtualMachine.GuestOperations.Query",
        "Virtual machines > Guest operations: Guest operation queries",
    ),
    (
        "VirtualMachine.Interact.ConsoleInteract",
        "Virtual machines > Interaction: Console interaction",
    ),
    (
        "VirtualMachine.Interact.PowerOff",
        "Virtual machines > Interaction: Power off",
    ),
    (
        "VirtualMachine.Interact.PowerOn",
        "Virtual machines > Interaction: Power on",
    ),
    (
        "VirtualMachine.Provisioning.DiskRandomAccess",
        "Virtual machines > Provisioning: Allow disk access",
    ),
    (
        "VirtualMachine.Provisioning.FileRandomAccess",
        "Virtual machines > Provisioning: Allow file access",
    ),
    (
        "VirtualMachine.Provisioning.DiskRandomRead",
        "Virtual machines > Provisioning: Allow read-only disk access",
    ),
    (
        "VirtualMachine.Provisioning.GetVmFiles",
        "Virtual machines > Provisioning: Allow virtual machine download",
    ),
    (
        "VirtualMachine.Provisioning.PutVmFiles",
        "Virtual machines > Provisioning: Allow virtual machine files upload",
    ),
    (
        "VirtualMachine.Provisioning.CloneTemplate",
        "Virtual machines > Provisioning: Clone template",
    ),
    (
        "VirtualMachine.Provisioning.Clone",
        "Virtual machines > Provisioning: Clone virtual machine",
    ),
    (
        "VirtualMachine.Provisioning.CreateTemplateFromVM",
        "Virtual machines > Provisioning: Create template from virtual machine",
    ),
    (
        "VirtualMachine.Provisioning.Customize",
        "Virtual machines > Provisioning: Customize guest",
    ),
    (
        "VirtualMachine.Provisioning.DeployTemplate",
        "Virtual machines > Provisioning: Deploy template",
    ),
    (
        "VirtualMachine.Provisioning.MarkAsTemplate",
        "Virtual machines > Provisioning: Mark as template",
    ),
    (
        "VirtualMachine.Provisioning.MarkAsVM",
        "Virtual machines > Provisioning: Mark as virtual machine",
    ),
    (
        "VirtualMachine.Provisioning.ModifyCustSpecs",
        "Virtual machines > Provisioning: Modify customization specification",
    ),
    (
        "VirtualMachine.Provisioning.PromoteDisks",
        "Virtual machines > Provisioning: Promote disks",
    ),
    (
        "VirtualMachine.Provisioning.ReadCustSpecs",
        "Virtual machines > Provisioning: Read customization specifications",
    ),
    (
        "VirtualMachine.Namespace.Event",
        "Virtual machines > Service configuration: Allow notifications",
    ),
    (
        "VirtualMachine.Namespace.EventNotify",
        "Virtual machines > Service configuration: Allow polling of global event notifications",
    ),
    (
        "VirtualMachine.Namespace.Management",
        "Virtual machines > Service configuration: Manage service configurations",
    ),
    (
        "VirtualMachine.Namespace.ModifyContent",
        "Virtual machines > Service configuration: Modify service configuration",
    ),
    (
        "VirtualMachine.Namespace.Query",
        "Virtual machines > Service configuration: Query service configurations",
    ),
    (
        "VirtualMachine.Namespace.ReadContent",
        "Virtual machines > Service configuration: Read service configuration",
    ),
    (
        "VirtualMachine.State.CreateSnapshot",
        "Virtual machines > Snapshot management: Create snapshot",
    ),
    (
        "VirtualMachine.State.RemoveSnapshot",
        "Virtual machines > Snapshot management: Remove snapshot",
    ),
    (
        "VirtualMachine.State.RenameSnapshot",
        "Virtual machines > Snapshot management: Rename snapshot",
    ),
    (
        "VirtualMachine.State.RevertToSnapshot",
        "Virtual machines > Snapshot management: Revert to snapshot",
    ),
    (
        "VirtualMachine.Hbr.ConfigureReplication",
        "Virtual machines > vSphere Replication: Configure replication",
    ),
    (
        "VirtualMachine.Hbr.ReplicaManagement",
        "Virtual machines > vSphere Replication: Manage replication",
    ),
    (
        "VirtualMachine.Hbr.MonitorReplication",
        "Virtual machines > vSphere Replication: Monitor replication",
    ),
];
