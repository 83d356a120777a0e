// Links the provider as a position-dependent executable, as Go links
// Terraform providers. A PIE of this size carries ~325,000 relative
// relocations (vim_rs's type tables are pointers): 7.8 MB of the file, and the
// dynamic loader rewrote 4.3 MB of tables on every start before main ran.
// Packing them (DT_RELR) would need glibc 2.36 on the user's machine.
fn main() {
    println!("cargo:rustc-link-arg-bins=-no-pie");
}
