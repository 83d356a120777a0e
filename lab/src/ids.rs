//! Identifiers and secrets, from the operating system's randomness.

use ring::rand::{SecureRandom, SystemRandom};

fn random_hex(bytes: usize) -> String {
    let mut buf = vec![0u8; bytes];
    SystemRandom::new()
        .fill(&mut buf)
        .expect("system randomness");
    buf.iter().map(|b| format!("{b:02x}")).collect()
}

/// A Palette-style object uid: 24 lowercase hex digits.
pub fn new_uid() -> String {
    random_hex(12)
}

/// An API key: long enough that guessing is hopeless.
pub fn new_api_key() -> String {
    random_hex(24)
}

#[cfg(test)]
mod tests {
    #[test]
    fn uids_look_like_palettes() {
        let a = super::new_uid();
        assert_eq!(a.len(), 24);
        assert!(a
            .chars()
            .all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase()));
        assert_ne!(a, super::new_uid());
    }
}
