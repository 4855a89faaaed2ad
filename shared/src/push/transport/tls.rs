//! The TLS client configuration every provider connection uses: public web
//! roots, plus the certificates of `ProviderEndpoints::extra_ca_file` when
//! set (the local simulator's CA), and ALPN `h2` only.

use std::sync::Arc;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::CertificateDer;
use rustls::{ClientConfig, RootCertStore};

use crate::error::{Error, Result};

pub(crate) fn client_config(extra_ca_file: Option<&str>) -> Result<Arc<ClientConfig>> {
    let mut roots = RootCertStore {
        roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
    };
    if let Some(path) = extra_ca_file {
        let certs = CertificateDer::pem_file_iter(path)
            .map_err(|err| Error::internal("reading the provider CA file", err))?;
        let mut added = 0;
        for cert in certs {
            let cert = cert.map_err(|err| Error::internal("parsing the provider CA file", err))?;
            roots
                .add(cert)
                .map_err(|err| Error::internal("trusting the provider CA file", err))?;
            added += 1;
        }
        if added == 0 {
            return Err(Error::internal(
                "reading the provider CA file",
                "it holds no PEM certificate",
            ));
        }
    }
    // An explicit provider: no process-wide default needs installing, and
    // other TLS users in the process (the AWS SDK) are unaffected.
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let mut config = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|err| Error::internal("configuring provider TLS", err))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    // APNs and FCM speak HTTP/2; a server that cannot is refused.
    config.alpn_protocols = vec![b"h2".to_vec()];
    Ok(Arc::new(config))
}
