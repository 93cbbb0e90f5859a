//! Package signatures: the `.sig` file beside a manifest on a remote holds one `name:base64(ed25519
//! signature)` line per signer, each over the manifest's exact bytes. The manifest names the key
//! and holds the archive's size and sha256, so one signature vouches for the whole package.

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use ed25519_dalek::{Signature, Signer};

use super::keys::{PublicKey, SecretKey, split_line};

/// Why a signature file does not vouch for a manifest.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignatureProblem {
    #[error("its signature file is malformed: {0}")]
    Malformed(String),
    #[error("it is signed only by {}, which no trusted key names (add the signer's .pub with --trusted-key)", names(.signers))]
    UnknownSigner { signers: Vec<String> },
    #[error(
        "its signature by `{signer}` does not match its manifest (tampered with, or signed by another key of that name)"
    )]
    BadSignature { signer: String },
}

fn names(signers: &[String]) -> String {
    signers.iter().map(|s| format!("`{s}`")).collect::<Vec<_>>().join(", ")
}

/// The `.sig` file's line for `manifest` signed by `key`.
pub fn sign(key: &SecretKey, manifest: &[u8]) -> String {
    let signature = key.signing_key().sign(manifest);
    format!("{}:{}\n", key.name(), BASE64.encode(signature.to_bytes()))
}

/// The trusted key whose signature in `sig_file` verifies `manifest`. Lines by signers nobody
/// trusts are ignored as long as one trusted signature verifies.
pub fn verify<'k>(
    trusted: &'k [PublicKey],
    manifest: &[u8],
    sig_file: &[u8],
) -> Result<&'k PublicKey, SignatureProblem> {
    let text = std::str::from_utf8(sig_file).map_err(|_| SignatureProblem::Malformed("not UTF-8".into()))?;
    let mut signers = Vec::new();
    let mut bad = None;
    for line in text.lines().map(str::trim).filter(|l| !l.is_empty()) {
        let (name, signature) = parse_line(line)?;
        let mut candidates = trusted.iter().filter(|k| k.name() == name).peekable();
        if candidates.peek().is_none() {
            signers.push(name.to_string());
            continue;
        }
        if let Some(key) = candidates.find(|k| k.verifying_key().verify_strict(manifest, &signature).is_ok())
        {
            return Ok(key);
        }
        bad.get_or_insert_with(|| name.to_string());
    }
    match bad {
        Some(signer) => Err(SignatureProblem::BadSignature { signer }),
        None if signers.is_empty() => Err(SignatureProblem::Malformed("it holds no signature".into())),
        None => Err(SignatureProblem::UnknownSigner { signers }),
    }
}

fn parse_line(line: &str) -> Result<(&str, Signature), SignatureProblem> {
    let (name, bytes) = split_line(line).map_err(SignatureProblem::Malformed)?;
    let signature = Signature::from_slice(&bytes).map_err(|_| {
        SignatureProblem::Malformed(format!("the signature by `{name}` is {} bytes, not 64", bytes.len()))
    })?;
    Ok((name, signature))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cache::keys::generate;

    const MANIFEST: &[u8] = b"format = 1\nkey = \"ab\"\n";

    #[test]
    fn signature_by_a_trusted_key_verifies() {
        let key = generate("cache-1").unwrap();
        let sig = sign(&key, MANIFEST);
        assert!(sig.starts_with("cache-1:") && sig.ends_with('\n'), "{sig}");
        let trusted = [generate("other").unwrap().public(), key.public()];
        assert_eq!(verify(&trusted, MANIFEST, sig.as_bytes()).unwrap(), &key.public());
    }

    #[test]
    fn changed_manifest_is_a_bad_signature() {
        let key = generate("cache-1").unwrap();
        let sig = sign(&key, MANIFEST);
        let err = verify(&[key.public()], b"format = 1\nkey = \"cd\"\n", sig.as_bytes()).unwrap_err();
        assert_eq!(err, SignatureProblem::BadSignature { signer: "cache-1".into() });
        assert!(err.to_string().contains("its signature by `cache-1` does not match its manifest"), "{err}");
    }

    #[test]
    fn same_name_other_key_is_a_bad_signature() {
        let (real, impostor) = (generate("cache-1").unwrap(), generate("cache-1").unwrap());
        let sig = sign(&impostor, MANIFEST);
        let err = verify(&[real.public()], MANIFEST, sig.as_bytes()).unwrap_err();
        assert_eq!(err, SignatureProblem::BadSignature { signer: "cache-1".into() });
    }

    #[test]
    fn untrusted_signers_are_named() {
        let sig = sign(&generate("stranger").unwrap(), MANIFEST);
        let err = verify(&[generate("cache-1").unwrap().public()], MANIFEST, sig.as_bytes()).unwrap_err();
        assert_eq!(
            err.to_string(),
            "it is signed only by `stranger`, which no trusted key names (add the signer's .pub with --trusted-key)"
        );
    }

    #[test]
    fn one_trusted_signature_among_several_is_enough() {
        let key = generate("cache-1").unwrap();
        let both = format!("{}{}", sign(&generate("stranger").unwrap(), MANIFEST), sign(&key, MANIFEST));
        assert_eq!(verify(&[key.public()], MANIFEST, both.as_bytes()).unwrap().name(), "cache-1");
    }

    #[test]
    fn malformed_signature_files_are_refused_with_the_reason() {
        let trusted = [generate("cache-1").unwrap().public()];
        for (file, expected) in [
            (&b""[..], "its signature file is malformed: it holds no signature"),
            (b"\xff\xfe", "its signature file is malformed: not UTF-8"),
            (b"cache-1", "its signature file is malformed: no `:` between the name and the key"),
            (
                b"cache-1:AAAA",
                "its signature file is malformed: the signature by `cache-1` is 3 bytes, not 64",
            ),
        ] {
            assert_eq!(verify(&trusted, MANIFEST, file).unwrap_err().to_string(), expected);
        }
    }
}
