//! The attributes every `vcenter` block shares (the provider's, the
//! gateway's, the zones' and the preflight's): the server and how its TLS
//! certificate is trusted. The user and password differ per block (what the
//! account needs, where the password may be kept), so each block says them.

use tfplugin::validate::NotBlank;
use tfplugin::{Attribute, Block};

/// `server`: a vCenter host name or URL.
pub fn server() -> Attribute {
    Attribute::string("server")
        .required()
        .validator(crate::vcenter_server_validator())
        .description("vCenter host name or URL, such as `vcenter.dc1.example.com`.")
}

/// `insecure` (optional, or defaulting to false where the block keeps it in
/// state) and `ca_file`, read `when`.
pub fn tls(block: Block, insecure_defaults_to_false: bool, when: &str) -> Block {
    let insecure = Attribute::bool("insecure");
    let insecure = if insecure_defaults_to_false {
        insecure.default(false)
    } else {
        insecure.optional()
    };
    block
        .attr(insecure.description(
            "Skip the check of vCenter's TLS certificate. Only for labs; conflicts with `ca_file`.",
        ))
        .attr(
            Attribute::string("ca_file")
                .optional()
                .validator(NotBlank)
                .description(format!(
                    "Path to a PEM file of CA certificates to trust for vCenter, for a vCenter whose certificate a \
                     private CA signed. Read {when}."
                )),
        )
}
