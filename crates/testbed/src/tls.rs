//! HTTPS for the testbed (FAULTS row 17): a [`Certificate`] made when the
//! testbed starts, and the rustls acceptor that serves it.
//!
//! The certificate is self-signed, for the name `localhost` and the address
//! `127.0.0.1`, with a fresh ECDSA P-256 key every time: no key is ever
//! committed, and nothing but the test that asked for it can trust it. A
//! client with default settings refuses it (unknown issuer); trusting its PEM
//! (`--cacert`) or skipping verification (`--insecure`) lets it through.
//!
//! rcgen makes it; rustls serves it with the `ring` provider, chosen
//! explicitly rather than through the process-wide default, and the same one
//! volley's client already builds. ALPN offers only `http/1.1`, the
//! one protocol the testbed speaks, so an HTTP/2-capable client falls back.

use std::fmt;
use std::io;
use std::sync::Arc;

use base64::Engine as _;
use rustls::pki_types::{PrivateKeyDer, PrivatePkcs8KeyDer};
use tokio_rustls::TlsAcceptor;

/// The names the certificate is valid for: what a test may put in a URL.
const NAMES: [&str; 2] = ["localhost", "127.0.0.1"];

/// A self-signed certificate for `localhost` and `127.0.0.1`, with its key,
/// ready to serve.
///
/// Cloning is cheap (the server configuration is shared).
#[derive(Clone)]
pub struct Certificate {
    acceptor: TlsAcceptor,
    pem: String,
}

impl Certificate {
    /// Makes a new key and a certificate signed by it.
    ///
    /// # Errors
    ///
    /// If rcgen or rustls fail, which they do not for these fixed, valid
    /// parameters; the error says which step failed.
    pub fn generate() -> io::Result<Certificate> {
        let failed = |step: &str, e: &dyn fmt::Display| io::Error::other(format!("{step}: {e}"));
        let key = rcgen::KeyPair::generate().map_err(|e| failed("generating a TLS key", &e))?;
        let mut params = rcgen::CertificateParams::new(NAMES.map(str::to_owned))
            .map_err(|e| failed("certificate parameters", &e))?;
        params.distinguished_name = rcgen::DistinguishedName::new();
        params
            .distinguished_name
            .push(rcgen::DnType::CommonName, "volley testbed (self-signed)");
        let cert = params
            .self_signed(&key)
            .map_err(|e| failed("signing the certificate", &e))?;

        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let key_der = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der()));
        let mut config = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| failed("TLS protocol versions", &e))?
            .with_no_client_auth()
            .with_single_cert(vec![cert.der().clone()], key_der)
            .map_err(|e| failed("TLS server configuration", &e))?;
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        Ok(Certificate {
            acceptor: TlsAcceptor::from(Arc::new(config)),
            pem: pem_encode(cert.der()),
        })
    }

    /// The certificate in PEM. Self-signed, it is its own issuer: this is
    /// what a client adds as a trusted root (`--cacert`).
    pub fn pem(&self) -> &str {
        &self.pem
    }

    /// What performs the server side of each handshake.
    pub(crate) fn acceptor(&self) -> &TlsAcceptor {
        &self.acceptor
    }
}

impl fmt::Debug for Certificate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Certificate")
            .field("names", &NAMES)
            .finish_non_exhaustive()
    }
}

/// One DER certificate as a PEM block (RFC 7468: base64 in lines of 64).
fn pem_encode(der: &[u8]) -> String {
    let text = base64::engine::general_purpose::STANDARD.encode(der);
    let mut pem = String::with_capacity(text.len() + text.len() / 64 + 64);
    pem.push_str("-----BEGIN CERTIFICATE-----\n");
    let mut rest = text.as_str();
    while !rest.is_empty() {
        // base64 is ASCII, so any byte index is a char boundary.
        let (line, tail) = rest.split_at(rest.len().min(64));
        pem.push_str(line);
        pem.push('\n');
        rest = tail;
    }
    pem.push_str("-----END CERTIFICATE-----\n");
    pem
}

#[cfg(test)]
mod tests {
    use super::*;
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::CertificateDer;

    #[test]
    fn pem_reads_back_as_the_same_certificate() {
        let cert = Certificate::generate().expect("a certificate");
        let pem = cert.pem();
        assert!(pem.starts_with("-----BEGIN CERTIFICATE-----\n"), "{pem}");
        assert!(pem.ends_with("\n-----END CERTIFICATE-----\n"), "{pem}");
        assert!(pem.lines().all(|line| line.len() <= 64), "{pem}");
        let der = CertificateDer::from_pem_slice(pem.as_bytes()).expect("valid PEM");
        assert_eq!(pem_encode(&der), pem);
        assert!(format!("{cert:?}").contains("localhost"));
    }

    #[test]
    fn every_certificate_has_its_own_key() {
        let a = Certificate::generate().expect("a certificate");
        let b = Certificate::generate().expect("a certificate");
        assert_ne!(a.pem(), b.pem());
    }
}
