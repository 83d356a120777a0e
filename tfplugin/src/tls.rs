//! AutoMTLS as go-plugin does it: Terraform puts its own freshly generated
//! certificate in PLUGIN_CLIENT_CERT; the plugin generates a key and a
//! self-signed certificate for this run, serves TLS with it, accepts only
//! Terraform's certificate, and announces its own in the handshake line.
//!
//! The crypto provider is ring, whose first use costs microseconds (aws-lc
//! seeds its DRBG on first use, which cost ~40 ms per start here, most of
//! the provider's start-up). ring cannot verify P-521, the curve of
//! go-plugin's client certificates, so that one signature algorithm comes
//! from RustCrypto's p521.

use std::sync::{Arc, OnceLock};

use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, KeyPair,
    KeyUsagePurpose,
};
use rustls::client::danger::HandshakeSignatureValid;
use rustls::crypto::{
    verify_tls12_signature, verify_tls13_signature, CryptoProvider, WebPkiSupportedAlgorithms,
};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{
    alg_id, AlgorithmIdentifier, CertificateDer, InvalidSignature, PrivateKeyDer,
    PrivatePkcs8KeyDer, SignatureVerificationAlgorithm, UnixTime,
};
use rustls::server::danger::{ClientCertVerified, ClientCertVerifier};
use rustls::{
    DigitallySignedStruct, DistinguishedName, Error as TlsError, ServerConfig, SignatureScheme,
};

#[derive(Debug, thiserror::Error)]
pub enum TlsSetupError {
    #[error("PLUGIN_CLIENT_CERT does not hold a PEM certificate: {0}")]
    ClientCert(String),
    #[error("generating the server certificate: {0}")]
    Generate(#[from] rcgen::Error),
    #[error("TLS configuration: {0}")]
    Config(#[from] TlsError),
}

/// The server side of AutoMTLS for one run.
pub struct AutoMtls {
    pub config: Arc<ServerConfig>,
    /// DER of this run's server certificate, for the handshake line.
    pub server_cert_der: Vec<u8>,
}

/// Builds the TLS configuration from the PEM text of PLUGIN_CLIENT_CERT.
pub fn auto_mtls(client_cert_pem: &str) -> Result<AutoMtls, TlsSetupError> {
    let client = CertificateDer::from_pem_slice(client_cert_pem.as_bytes())
        .map_err(|e| TlsSetupError::ClientCert(e.to_string()))?
        .into_owned();

    // P-256 is the cheapest curve to generate on every start; Terraform
    // accepts any curve because it pins the certificate we announce.
    let key = KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256)?;
    let mut params = CertificateParams::new(vec!["localhost".to_string()])?;
    params
        .distinguished_name
        .push(DnType::CommonName, "localhost");
    params
        .distinguished_name
        .push(DnType::OrganizationName, "terraform-provider-palette");
    // Terraform's Go TLS stack uses our certificate as its root: mark it a CA
    // fit for signing, as go-plugin's own certificates are.
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.key_usages = vec![
        KeyUsagePurpose::DigitalSignature,
        KeyUsagePurpose::KeyEncipherment,
        KeyUsagePurpose::KeyCertSign,
    ];
    params.extended_key_usages = vec![
        ExtendedKeyUsagePurpose::ServerAuth,
        ExtendedKeyUsagePurpose::ClientAuth,
    ];
    let cert = params.self_signed(&key)?;
    let server_cert_der = cert.der().to_vec();

    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let verifier = PinnedClientCert {
        expected: client,
        algorithms: verification_algorithms(),
    };
    let mut config = ServerConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()?
        .with_client_cert_verifier(Arc::new(verifier))
        .with_single_cert(
            vec![CertificateDer::from(server_cert_der.clone())],
            PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der())),
        )?;
    // gRPC clients (Go's since 1.67) insist on ALPN h2.
    config.alpn_protocols = vec![b"h2".to_vec()];
    Ok(AutoMtls {
        config: Arc::new(config),
        server_cert_der,
    })
}

/// Accepts exactly the certificate Terraform gave us, with a valid
/// handshake signature from its key. A chain-building verifier would reject
/// it: go-plugin's certificate is a self-signed CA used as a leaf.
#[derive(Debug)]
struct PinnedClientCert {
    expected: CertificateDer<'static>,
    algorithms: WebPkiSupportedAlgorithms,
}

impl ClientCertVerifier for PinnedClientCert {
    fn root_hint_subjects(&self) -> &[DistinguishedName] {
        &[]
    }

    fn verify_client_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _now: UnixTime,
    ) -> Result<ClientCertVerified, TlsError> {
        if end_entity.as_ref() == self.expected.as_ref() {
            Ok(ClientCertVerified::assertion())
        } else {
            Err(TlsError::General(
                "client certificate is not the one announced in PLUGIN_CLIENT_CERT".into(),
            ))
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, TlsError> {
        verify_tls12_signature(message, cert, dss, &self.algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, TlsError> {
        verify_tls13_signature(message, cert, dss, &self.algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.algorithms.supported_schemes()
    }
}

/// Installs the process-wide crypto provider once, so that any rustls user
/// in the process (HTTP clients included) agrees on it.
pub fn install_default_crypto_provider() {
    let _ = CryptoProvider::install_default(rustls::crypto::ring::default_provider());
}

/// ECDSA P-521 with SHA-512, verified by RustCrypto's p521.
#[derive(Debug)]
struct EcdsaP521Sha512;

impl SignatureVerificationAlgorithm for EcdsaP521Sha512 {
    fn public_key_alg_id(&self) -> AlgorithmIdentifier {
        alg_id::ECDSA_P521
    }
    fn signature_alg_id(&self) -> AlgorithmIdentifier {
        alg_id::ECDSA_SHA512
    }
    fn verify_signature(
        &self,
        public_key: &[u8],
        message: &[u8],
        signature: &[u8],
    ) -> Result<(), InvalidSignature> {
        use p521::ecdsa::signature::Verifier as _;
        let key =
            p521::ecdsa::VerifyingKey::from_sec1_bytes(public_key).map_err(|_| InvalidSignature)?;
        let sig = p521::ecdsa::Signature::from_der(signature).map_err(|_| InvalidSignature)?;
        key.verify(message, &sig).map_err(|_| InvalidSignature)
    }
}

/// ring's signature algorithms plus P-521, built once: rustls wants them
/// `'static`.
fn verification_algorithms() -> WebPkiSupportedAlgorithms {
    static ALGS: OnceLock<WebPkiSupportedAlgorithms> = OnceLock::new();
    *ALGS.get_or_init(|| {
        static P521: EcdsaP521Sha512 = EcdsaP521Sha512;
        static P521_ONLY: &[&dyn SignatureVerificationAlgorithm] = &[&P521];
        let ring = rustls::crypto::ring::default_provider().signature_verification_algorithms;
        let mut all: Vec<&'static dyn SignatureVerificationAlgorithm> = ring.all.to_vec();
        all.push(&P521);
        let mut mapping = ring.mapping.to_vec();
        mapping.push((SignatureScheme::ECDSA_NISTP521_SHA512, P521_ONLY));
        WebPkiSupportedAlgorithms {
            all: Vec::leak(all),
            mapping: Vec::leak(mapping),
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rejects_garbage_client_cert() {
        assert!(matches!(
            auto_mtls("not a pem"),
            Err(TlsSetupError::ClientCert(_))
        ));
    }

    const CLIENT_P521: &str = include_str!("../testdata/client-p521.pem");

    #[test]
    fn builds_config_for_a_p521_client_certificate() {
        let m = auto_mtls(CLIENT_P521).unwrap();
        assert!(!m.server_cert_der.is_empty());
        assert_eq!(m.config.alpn_protocols, vec![b"h2".to_vec()]);
        assert!(verification_algorithms()
            .supported_schemes()
            .contains(&SignatureScheme::ECDSA_NISTP521_SHA512));
    }

    #[test]
    fn verifies_a_p521_signature_made_by_openssl() {
        let cert = CertificateDer::from_pem_slice(CLIENT_P521.as_bytes()).unwrap();
        let ee = webpki::EndEntityCert::try_from(&cert).unwrap();
        let msg = include_bytes!("../testdata/signed-message.txt");
        let sig = include_bytes!("../testdata/signed-message.sig");
        assert!(ee.verify_signature(&EcdsaP521Sha512, msg, sig).is_ok());
        let mut tampered = msg.to_vec();
        tampered[0] ^= 1;
        assert!(ee
            .verify_signature(&EcdsaP521Sha512, &tampered, sig)
            .is_err());
    }

    #[test]
    fn rejects_a_certificate_other_than_the_pinned_one() {
        let v = PinnedClientCert {
            expected: CertificateDer::from_pem_slice(CLIENT_P521.as_bytes()).unwrap(),
            algorithms: verification_algorithms(),
        };
        let key = KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).unwrap();
        let other = CertificateParams::new(vec!["localhost".into()])
            .unwrap()
            .self_signed(&key)
            .unwrap();
        assert!(v
            .verify_client_cert(other.der(), &[], UnixTime::now())
            .is_err());
        let pinned = CertificateDer::from_pem_slice(CLIENT_P521.as_bytes()).unwrap();
        assert!(v.verify_client_cert(&pinned, &[], UnixTime::now()).is_ok());
    }
}
