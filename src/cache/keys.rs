//! Signing keys for shared caches, in Nix's text format: `NAME.pub` holds
//! `name:base64(32-byte ed25519 public key)`, `NAME.sec` holds `name:base64(32-byte seed)`, mode
//! 0600. Nix's 64-byte secret form (seed then public key) is read too, so a key made by
//! `nix-store --generate-binary-cache-key` works unchanged.

use std::fmt;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use ed25519_dalek::{PUBLIC_KEY_LENGTH, SECRET_KEY_LENGTH, SigningKey, VerifyingKey};

/// A key's name: what `.sig` files and messages call it. Letters, digits, `.`, `-`, `_`.
const MAX_NAME: usize = 128;

#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error(
        "`{name}` cannot name a key: use 1 to {MAX_NAME} letters, digits, `.`, `-` or `_`, \
         not starting with `.` (such as `cache.example.org-1`)"
    )]
    BadName { name: String },
    #[error("{path} already exists: remove it or choose another key name (keygen never overwrites a key)")]
    Exists { path: PathBuf },
    #[error("the operating system's random number generator failed: {0}")]
    Random(getrandom::Error),
    #[error("{path}: {why} (a key file holds one line `name:base64`, as `ingot cache keygen` writes)")]
    Malformed { path: PathBuf, why: String },
    #[error("{path} is readable by other users (mode {mode:04o}): `chmod 600 {path}`")]
    NotPrivate { path: PathBuf, mode: u32 },
    #[error(transparent)]
    Io(#[from] std::io::Error),
}

/// A secret signing key and its name.
pub struct SecretKey {
    name: String,
    key: SigningKey,
}

/// A public key that verifies signatures, and its name.
#[derive(Clone, PartialEq, Eq)]
pub struct PublicKey {
    name: String,
    key: VerifyingKey,
}

/// Where `keygen` wrote a key pair.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyFiles {
    pub secret: PathBuf,
    pub public: PathBuf,
}

/// Makes a new key pair named `name` from the operating system's randomness.
pub fn generate(name: &str) -> Result<SecretKey, KeyError> {
    check_name(name)?;
    let mut seed = [0u8; SECRET_KEY_LENGTH];
    getrandom::fill(&mut seed).map_err(KeyError::Random)?;
    Ok(SecretKey { name: name.to_string(), key: SigningKey::from_bytes(&seed) })
}

/// Writes a new key pair as `dir/NAME.sec` (mode 0600) and `dir/NAME.pub` (mode 0644), creating
/// `dir` if needed. Refuses if either file exists.
pub fn keygen(dir: &Path, name: &str) -> Result<KeyFiles, KeyError> {
    let secret = generate(name)?;
    let files = KeyFiles { secret: dir.join(format!("{name}.sec")), public: dir.join(format!("{name}.pub")) };
    for path in [&files.secret, &files.public] {
        if path.symlink_metadata().is_ok() {
            return Err(KeyError::Exists { path: path.clone() });
        }
    }
    write_key_file(&files.secret, &secret.to_text(), 0o600)?;
    write_key_file(&files.public, &secret.public().to_string(), 0o644)?;
    Ok(files)
}

fn write_key_file(path: &Path, line: &str, mode: u32) -> std::io::Result<()> {
    use std::io::Write;
    let mut file = crate::fs::AtomicFile::create(path)?;
    // The temporary starts private; a public key is then opened up before it is renamed.
    fs_err::set_permissions(file.tmp_path(), std::fs::Permissions::from_mode(mode))?;
    writeln!(file, "{line}")?;
    file.commit()
}

impl SecretKey {
    /// Reads a secret key file, refusing one that other users can read (as ssh does).
    pub fn read(path: &Path) -> Result<SecretKey, KeyError> {
        let mode = fs_err::metadata(path)?.permissions().mode() & 0o777;
        if mode & 0o077 != 0 {
            return Err(KeyError::NotPrivate { path: path.to_path_buf(), mode });
        }
        let text = fs_err::read_to_string(path)?;
        parse_secret(&text).map_err(|why| KeyError::Malformed { path: path.to_path_buf(), why })
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn public(&self) -> PublicKey {
        PublicKey { name: self.name.clone(), key: self.key.verifying_key() }
    }

    /// `name:base64(seed)`, the `.sec` file's line.
    pub fn to_text(&self) -> String {
        format!("{}:{}", self.name, BASE64.encode(self.key.to_bytes()))
    }

    pub(crate) fn signing_key(&self) -> &SigningKey {
        &self.key
    }
}

impl fmt::Debug for SecretKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Never the secret itself: Debug output ends up in logs.
        f.debug_struct("SecretKey").field("name", &self.name).finish_non_exhaustive()
    }
}

impl PublicKey {
    /// Reads a `.pub` file.
    pub fn read(path: &Path) -> Result<PublicKey, KeyError> {
        let text = fs_err::read_to_string(path)?;
        text.trim().parse().map_err(|why| KeyError::Malformed { path: path.to_path_buf(), why })
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    pub(crate) fn verifying_key(&self) -> &VerifyingKey {
        &self.key
    }
}

/// `name:base64(key)`, as in a `.pub` file or Nix's `trusted-public-keys`.
impl FromStr for PublicKey {
    type Err = String;
    fn from_str(text: &str) -> Result<PublicKey, String> {
        let (name, bytes) = split_line(text)?;
        let bytes: [u8; PUBLIC_KEY_LENGTH] = bytes.try_into().map_err(|b: Vec<u8>| {
            format!("a public key is {PUBLIC_KEY_LENGTH} bytes, this one is {}", b.len())
        })?;
        let key =
            VerifyingKey::from_bytes(&bytes).map_err(|_| "not a valid ed25519 public key".to_string())?;
        Ok(PublicKey { name: name.to_string(), key })
    }
}

impl fmt::Display for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.name, BASE64.encode(self.key.to_bytes()))
    }
}

impl fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PublicKey({self})")
    }
}

fn parse_secret(text: &str) -> Result<SecretKey, String> {
    let (name, bytes) = split_line(text.trim())?;
    let seed = match <[u8; 64]>::try_from(bytes.as_slice()) {
        Ok(nix) => nix_secret(&nix)?,
        Err(_) => <[u8; SECRET_KEY_LENGTH]>::try_from(bytes.as_slice()).map_err(|_| {
            format!("a secret key is {SECRET_KEY_LENGTH} (or Nix's 64) bytes, this one is {}", bytes.len())
        })?,
    };
    Ok(SecretKey { name: name.to_string(), key: SigningKey::from_bytes(&seed) })
}

/// The seed of Nix's seed-plus-public-key secret, checking the two halves belong together.
fn nix_secret(bytes: &[u8; 64]) -> Result<[u8; SECRET_KEY_LENGTH], String> {
    let mut seed = [0u8; SECRET_KEY_LENGTH];
    seed.copy_from_slice(&bytes[..SECRET_KEY_LENGTH]);
    if SigningKey::from_bytes(&seed).verifying_key().as_bytes()[..] != bytes[SECRET_KEY_LENGTH..] {
        return Err("its second half is not the public key of its first half".to_string());
    }
    Ok(seed)
}

/// The name and the decoded bytes of a `name:base64` line.
pub(crate) fn split_line(line: &str) -> Result<(&str, Vec<u8>), String> {
    let (name, data) =
        line.split_once(':').ok_or_else(|| "no `:` between the name and the key".to_string())?;
    check_name(name).map_err(|e| e.to_string())?;
    let bytes = BASE64.decode(data).map_err(|e| format!("the part after `{name}:` is not base64: {e}"))?;
    Ok((name, bytes))
}

fn check_name(name: &str) -> Result<(), KeyError> {
    let ok = !name.is_empty()
        && name.len() <= MAX_NAME
        && !name.starts_with('.')
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_'));
    if ok { Ok(()) } else { Err(KeyError::BadName { name: name.chars().take(MAX_NAME + 8).collect() }) }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mode(path: &Path) -> u32 {
        std::fs::metadata(path).unwrap().permissions().mode() & 0o777
    }

    #[test]
    fn keygen_writes_a_private_secret_and_a_readable_public_key() {
        let dir = tempfile::tempdir().unwrap();
        let files = keygen(&dir.path().join("keys"), "cache.example.org-1").unwrap();
        assert_eq!(files.secret, dir.path().join("keys/cache.example.org-1.sec"));
        assert_eq!(files.public, dir.path().join("keys/cache.example.org-1.pub"));
        assert_eq!(mode(&files.secret), 0o600);
        assert_eq!(mode(&files.public), 0o644);
        let secret = SecretKey::read(&files.secret).unwrap();
        let public = PublicKey::read(&files.public).unwrap();
        assert_eq!(secret.public(), public);
        assert_eq!(public.name(), "cache.example.org-1");
        let line = std::fs::read_to_string(&files.public).unwrap();
        assert!(line.starts_with("cache.example.org-1:") && line.ends_with("=\n"), "{line:?}");
        let names: Vec<_> = std::fs::read_dir(dir.path().join("keys")).unwrap().map(|e| e.unwrap()).collect();
        assert_eq!(names.len(), 2, "no temporaries left behind");
    }

    #[test]
    fn keygen_never_overwrites_an_existing_key() {
        let dir = tempfile::tempdir().unwrap();
        keygen(dir.path(), "k").unwrap();
        let before = std::fs::read(dir.path().join("k.sec")).unwrap();
        let err = keygen(dir.path(), "k").unwrap_err().to_string();
        assert!(err.contains("k.sec already exists") && err.contains("never overwrites"), "{err}");
        assert_eq!(std::fs::read(dir.path().join("k.sec")).unwrap(), before);
    }

    #[test]
    fn two_generated_keys_differ() {
        assert_ne!(generate("a").unwrap().public().to_string(), generate("a").unwrap().public().to_string());
    }

    #[test]
    fn key_names_are_checked() {
        for bad in ["", ".hidden", "a/b", "a:b", "sp ace", &"x".repeat(129)] {
            let err = generate(bad).unwrap_err().to_string();
            assert!(err.contains("cannot name a key"), "{bad:?}: {err}");
        }
        generate("cache.example.org-1_x").unwrap();
    }

    #[test]
    fn secret_key_readable_by_others_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let files = keygen(dir.path(), "k").unwrap();
        std::fs::set_permissions(&files.secret, std::fs::Permissions::from_mode(0o644)).unwrap();
        let err = SecretKey::read(&files.secret).unwrap_err().to_string();
        assert!(err.contains("is readable by other users (mode 0644)") && err.contains("chmod 600"), "{err}");
    }

    #[test]
    fn nix_style_64_byte_secrets_are_read() {
        let key = generate("nix-1").unwrap();
        let mut both = key.signing_key().to_bytes().to_vec();
        both.extend_from_slice(key.public().verifying_key().as_bytes());
        let line = format!("nix-1:{}", BASE64.encode(&both));
        assert_eq!(parse_secret(&line).unwrap().public(), key.public());
        both[40] ^= 1;
        let err = parse_secret(&format!("nix-1:{}", BASE64.encode(&both))).err().unwrap();
        assert_eq!(err, "its second half is not the public key of its first half");
    }

    #[test]
    fn malformed_key_files_say_what_is_wrong_and_where() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("bad.pub");
        for (text, expected) in [
            ("no-colon", "no `:` between the name and the key"),
            ("k:!!!", "the part after `k:` is not base64"),
            ("k:AAAA", "a public key is 32 bytes, this one is 3"),
            ("bad name:AAAA", "`bad name` cannot name a key"),
        ] {
            std::fs::write(&path, text).unwrap();
            let err = PublicKey::read(&path).unwrap_err().to_string();
            assert!(err.starts_with(&format!("{}: ", path.display())), "{err}");
            assert!(err.contains(expected), "{text}: {err}");
        }
        assert_eq!(
            parse_secret("k:AAAA").err().unwrap(),
            "a secret key is 32 (or Nix's 64) bytes, this one is 3"
        );
    }

    #[test]
    fn missing_key_file_names_its_path() {
        let err = PublicKey::read(Path::new("/nonexistent/k.pub")).unwrap_err().to_string();
        assert!(err.contains("/nonexistent/k.pub"), "{err}");
    }

    #[test]
    fn debug_output_never_shows_the_secret() {
        let key = generate("k").unwrap();
        let secret_b64 = key.to_text().split_once(':').unwrap().1.to_string();
        assert!(!format!("{key:?}").contains(&secret_b64));
    }
}
