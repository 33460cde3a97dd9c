//! TLS material: PEM files read and checked when a server or client starts (every error names
//! the file, so an operator knows which one to fix), the server's [`TlsOptions`], and the name a
//! verified client certificate carries ([`common_name`]).

use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use rustls_pki_types::pem::{self, PemObject};
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use tonic::transport::{Certificate, Identity, ServerTlsConfig};

/// How long a client may take to complete the TLS handshake; one that stalls is dropped
/// instead of holding a connection open without ever calling.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// Why TLS cannot be set up.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error("reading {what} {path}: {message}")]
    Read {
        what: &'static str,
        path: String,
        message: String,
    },
    #[error("{what} {path} is invalid: {message}")]
    Invalid {
        what: &'static str,
        path: String,
        message: String,
    },
    #[error("cannot serve TLS with {files}: {message}")]
    Unusable { files: String, message: String },
}

/// Reads a PEM file of one or more X.509 certificates (a chain, leaf first, or CA
/// certificates), checks that each parses, and returns the file's text for tonic. `what` names
/// the file's purpose in errors, e.g. "the client CA file".
pub fn read_certificates(path: &Path, what: &'static str) -> Result<Vec<u8>, TlsError> {
    let text = read(path, what)?;
    let mut count = 0;
    for item in CertificateDer::pem_slice_iter(&text) {
        let der = item.map_err(|e| invalid(path, what, format!("not PEM: {e}")))?;
        count += 1;
        x509_parser::parse_x509_certificate(&der).map_err(|e| {
            invalid(
                path,
                what,
                format!("certificate {count} is not valid X.509: {e}"),
            )
        })?;
    }
    if count == 0 {
        return Err(invalid(
            path,
            what,
            "it holds no PEM certificate (-----BEGIN CERTIFICATE-----)".to_owned(),
        ));
    }
    Ok(text)
}

/// Reads a PEM file holding a private key (PKCS#8, PKCS#1 or SEC1) and returns its text for
/// tonic. Errors never quote the file's content.
pub fn read_private_key(path: &Path, what: &'static str) -> Result<Vec<u8>, TlsError> {
    let text = read(path, what)?;
    PrivateKeyDer::from_pem_slice(&text).map_err(|e| match e {
        pem::Error::NoItemsFound => invalid(
            path,
            what,
            "it holds no PEM private key (-----BEGIN PRIVATE KEY-----)".to_owned(),
        ),
        e => invalid(path, what, format!("not PEM: {e}")),
    })?;
    Ok(text)
}

fn read(path: &Path, what: &'static str) -> Result<Vec<u8>, TlsError> {
    std::fs::read(path).map_err(|e| TlsError::Read {
        what,
        path: path.display().to_string(),
        message: e.to_string(),
    })
}

fn invalid(path: &Path, what: &'static str, message: String) -> TlsError {
    TlsError::Invalid {
        what,
        path: path.display().to_string(),
        message,
    }
}

/// TLS for the gRPC listener: the server's certificate chain and key and, for mutual TLS, the
/// CA that signs client certificates. Loaded and checked in full by [`TlsOptions::from_files`],
/// so that `serve` cannot fail on them.
#[derive(Clone)]
pub struct TlsOptions {
    certificate: PathBuf,
    key: PathBuf,
    client_ca: Option<PathBuf>,
    config: ServerTlsConfig,
}

impl TlsOptions {
    /// Reads the server's certificate chain (PEM, leaf first) and private key and, when given,
    /// the client CA certificates (PEM). With a client CA, a client certificate is optional (a
    /// caller with a bearer token needs none), but one that is presented must chain to that CA,
    /// or the handshake fails.
    pub fn from_files(
        certificate: &Path,
        key: &Path,
        client_ca: Option<&Path>,
    ) -> Result<Self, TlsError> {
        let chain = read_certificates(certificate, "the TLS certificate file")?;
        let private_key = read_private_key(key, "the TLS key file")?;
        let mut config = ServerTlsConfig::new()
            .identity(Identity::from_pem(chain, private_key))
            .timeout(HANDSHAKE_TIMEOUT);
        if let Some(ca) = client_ca {
            let roots = read_certificates(ca, "the client CA file")?;
            config = config
                .client_ca_root(Certificate::from_pem(roots))
                .client_auth_optional(true);
        }
        let options = Self {
            certificate: certificate.to_owned(),
            key: key.to_owned(),
            client_ca: client_ca.map(Path::to_owned),
            config,
        };
        // Builds the rustls configuration now, so that a key that does not belong to the
        // certificate, or a client CA that cannot anchor a chain, is reported with the files.
        tonic::transport::Server::builder()
            .tls_config(options.server_config())
            .map_err(|e| TlsError::Unusable {
                files: options.files(),
                message: causes(&e),
            })?;
        Ok(options)
    }

    /// Whether client certificates are verified (mutual TLS).
    pub fn is_mutual(&self) -> bool {
        self.client_ca.is_some()
    }

    /// The configuration for tonic's server.
    pub fn server_config(&self) -> ServerTlsConfig {
        self.config.clone()
    }

    /// The files, as errors and logs name them.
    pub fn files(&self) -> String {
        let mut files = format!(
            "certificate {}, key {}",
            self.certificate.display(),
            self.key.display()
        );
        if let Some(ca) = &self.client_ca {
            files.push_str(&format!(", client CA {}", ca.display()));
        }
        files
    }
}

impl fmt::Debug for TlsOptions {
    /// Names the files, never the key.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TlsOptions")
            .field("certificate", &self.certificate)
            .field("key", &self.key)
            .field("client_ca", &self.client_ca)
            .finish()
    }
}

/// An error and its causes on one line (tonic's transport errors say little at the top).
pub fn causes(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

/// The subject common name of a DER certificate, when it has exactly one that is text. Under
/// mutual TLS the first certificate a client presents is its own, verified by rustls against
/// the client CA before any call is read, and this name is what the principals file lists. Two
/// common names are ambiguous and give none.
pub fn common_name(der: &[u8]) -> Option<String> {
    let (_, certificate) = x509_parser::parse_x509_certificate(der).ok()?;
    let mut names = certificate.subject().iter_common_name();
    let name = names.next()?.as_str().ok()?.to_owned();
    match names.next() {
        Some(_) => None,
        None => Some(name),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn certificate_named(names: &[&str]) -> Vec<u8> {
        let mut params = rcgen::CertificateParams::default();
        params.distinguished_name = rcgen::DistinguishedName::new();
        for (i, name) in names.iter().enumerate() {
            // rcgen keeps one value per type: a second common name goes in under its OID.
            let kind = match i {
                0 => rcgen::DnType::CommonName,
                _ => rcgen::DnType::CustomDnType(vec![2, 5, 4, 3]),
            };
            params.distinguished_name.push(kind, *name);
        }
        let key = rcgen::KeyPair::generate().unwrap();
        params.self_signed(&key).unwrap().der().to_vec()
    }

    #[test]
    fn the_common_name_is_read_only_when_it_is_unambiguous() {
        assert_eq!(
            common_name(&certificate_named(&["eco-signer"])).as_deref(),
            Some("eco-signer")
        );
        assert_eq!(
            common_name(&certificate_named(&["许昌市生态环境局"])).as_deref(),
            Some("许昌市生态环境局")
        );
        assert_eq!(common_name(&certificate_named(&[])), None);
        assert_eq!(common_name(&certificate_named(&["a", "b"])), None);
        assert_eq!(common_name(b"not a certificate"), None);
    }

    #[test]
    fn unreadable_and_invalid_files_are_named() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("missing.pem");
        let error = read_certificates(&missing, "the TLS certificate file").unwrap_err();
        assert!(error.to_string().contains("missing.pem"), "{error}");

        let garbage = dir.path().join("garbage.pem");
        std::fs::write(&garbage, "hello").unwrap();
        for error in [
            read_certificates(&garbage, "the client CA file").unwrap_err(),
            read_private_key(&garbage, "the TLS key file").unwrap_err(),
        ] {
            assert!(error.to_string().contains("garbage.pem"), "{error}");
        }

        let bad_base64 = dir.path().join("bad.pem");
        std::fs::write(
            &bad_base64,
            "-----BEGIN CERTIFICATE-----\n!!!\n-----END CERTIFICATE-----\n",
        )
        .unwrap();
        let error = read_certificates(&bad_base64, "the client CA file").unwrap_err();
        assert!(error.to_string().contains("bad.pem"), "{error}");
    }
}
