//! Evidence of who made a VM. A tool with delete rights in vCenter must not
//! take a name for proof: another gateway, or anything else, may share a
//! prefix. These helpers write a marker into a VM's `extraConfig` and find a
//! VM by its exact inventory path, so callers can own a VM only on evidence.

use std::collections::BTreeMap;
use std::sync::Arc;

use vim_rs::core::client::VimClient;
use vim_rs::mo;
use vim_rs::types::structs::VirtualMachineConfigSpec;

use crate::error::Error;
use crate::session::Session;
use crate::vm::VmInfo;

impl Session {
    /// Sets `extraConfig` keys on a VM (other keys are left alone). A VM that
    /// is gone is [`Error::NotFound`].
    pub async fn set_extra_config(
        &self,
        vm: &str,
        entries: &BTreeMap<String, String>,
    ) -> Result<(), Error> {
        // Checked first so that a vanished VM is a typed not-found.
        self.vm_info(vm).await?;
        let spec = VirtualMachineConfigSpec {
            extra_config: Some(crate::vm::option_values(entries)),
            ..Default::default()
        };
        let handle: Arc<dyn VimClient> = self.vim().clone();
        let task = mo::VirtualMachine::new(handle, vm)
            .reconfig_vm_task(&spec)
            .await
            .map_err(|e| Error::from_vim(self.server(), "", e))?;
        self.wait_task(&task).await
    }

    /// The VM at exactly this inventory path (`DC/vm/folder/name`), or
    /// `None`. Anything but a VM at that path is `None` too.
    pub async fn vm_at(&self, path: &str) -> Result<Option<VmInfo>, Error> {
        let found = match self.find("virtual machine", path).await {
            Ok(m) => m,
            Err(Error::NotFound { .. }) => return Ok(None),
            Err(e) => return Err(e),
        };
        if found.r#type != vim_rs::types::enums::MoTypesEnum::VirtualMachine {
            return Ok(None);
        }
        match self.vm_info(&found.value).await {
            Ok(i) => Ok(Some(i)),
            Err(Error::NotFound { .. }) => Ok(None),
            Err(e) => Err(e),
        }
    }
}

/// The inventory path of a VM named `name` in folder `folder` (relative to
/// the datacenter's VM folder, as placements name it) of `datacenter`.
pub fn vm_path(datacenter: &str, folder: &str, name: &str) -> String {
    let dc = datacenter.trim_matches('/');
    let folder = folder.trim_matches('/');
    if folder.is_empty() {
        format!("{dc}/vm/{name}")
    } else {
        format!("{dc}/vm/{folder}/{name}")
    }
}

#[cfg(test)]
mod tests {
    use super::vm_path;

    #[test]
    fn vm_paths_are_below_the_datacenters_vm_folder() {
        assert_eq!(vm_path("DC0", "", "a"), "DC0/vm/a");
        assert_eq!(vm_path("/DC0/", "/palette/gw/", "a"), "DC0/vm/palette/gw/a");
        assert_eq!(vm_path("F/DC0", "x", "a"), "F/DC0/vm/x/a");
    }
}
