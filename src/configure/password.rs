//! The password field of `/etc/shadow`: a crypt(3) hash given in the profile (checked for shape),
//! a plain-text demo password hashed with SHA-512 crypt under a salt derived from the build's
//! seed (so the same inputs give the same image), or a locked account.

use super::error::{ConfigureError, at_key};
use crate::profile::system::User;
use sha_crypt::{CustomizedPasswordHasher, Params, ShaCrypt};
use sha2::{Digest, Sha256};

/// What an account without a password gets: locked, no password can match.
pub const LOCKED: &str = "!";

/// Salt bytes per hash: 12 bytes are 16 crypt-base64 characters, SHA-crypt's maximum.
const SALT_BYTES: usize = 12;

/// The shadow password field for a profile user.
pub fn shadow_field(user: &User, seed: &[u8; 32]) -> Result<String, ConfigureError> {
    match (&user.password, &user.password_plain) {
        (Some(_), Some(_)) => Err(ConfigureError::PasswordConflict { setting: user.setting.clone() }),
        (Some(hash), None) => {
            check_hash(hash).map_err(|reason| ConfigureError::InvalidSetting {
                setting: at_key(&user.setting, "password"),
                reason,
            })?;
            Ok(hash.clone())
        }
        (None, Some(plain)) => hash_plain(plain, &salt(seed, &user.name)).map_err(|reason| {
            ConfigureError::Hash { setting: at_key(&user.setting, "password_plain"), reason }
        }),
        (None, None) => Ok(LOCKED.to_string()),
    }
}

/// SHA-512 crypt of `plain` with `salt` (raw bytes; crypt-base64 encoded into the hash), at the
/// default 5000 rounds, which the hash records as `rounds=5000`.
pub fn hash_plain(plain: &str, salt: &[u8]) -> Result<String, String> {
    let hasher = ShaCrypt::SHA512;
    let hash = hasher
        .hash_password_customized(plain.as_bytes(), salt, None, None, Params::RECOMMENDED)
        .map_err(|e| e.to_string())?;
    Ok(hash.to_string())
}

/// The salt for `user`'s hash: a hash of the seed and the name, so two users with the same
/// password get different hashes and rebuilding gives the same bytes.
pub fn salt(seed: &[u8; 32], user: &str) -> [u8; SALT_BYTES] {
    let mut h = Sha256::new();
    h.update(b"ingot configure shadow salt\0");
    h.update(seed);
    h.update(user.as_bytes());
    let digest = h.finalize();
    let mut out = [0u8; SALT_BYTES];
    out.copy_from_slice(&digest[..SALT_BYTES]);
    out
}

/// Accepts `!` or `*` (locked), and SHA-256, SHA-512 or yescrypt hashes, optionally locked with a
/// leading `!`. Checking the length of the hash part catches hashes cut short by copy and paste.
pub fn check_hash(field: &str) -> Result<(), String> {
    const EXPECTED: &str = "expected a crypt(3) hash (\"$6$…\", \"$5$…\", \"$y$…\"), \"!\" or \"*\"";
    if field == "!" || field == "*" {
        return Ok(());
    }
    let hash = field.strip_prefix('!').unwrap_or(field);
    let parts: Vec<&str> = hash.split('$').collect();
    if parts.len() < 4 || !parts[0].is_empty() {
        return Err(format!("not a crypt(3) hash: {EXPECTED}"));
    }
    let charset_ok =
        parts[1..].iter().all(|p| p.bytes().all(|b| b.is_ascii_alphanumeric() || b"./=".contains(&b)));
    let (digest_len, fields) = match parts[1] {
        "6" => (86, [4, 5]),
        "5" => (43, [4, 5]),
        "y" => (43, [5, 5]),
        other => return Err(format!("unsupported hash method `${other}$`: {EXPECTED}")),
    };
    let digest = parts[parts.len() - 1];
    if !charset_ok || !fields.contains(&parts.len()) || digest.len() != digest_len {
        return Err(format!("malformed `${}$` hash: {EXPECTED}", parts[1]));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use sha_crypt::PasswordVerifier;

    /// Made with glibc's crypt(3) (Python's `crypt.crypt("ingot", "$6$rounds=5000$n34PoBLMgFrQVl4R$")`);
    /// `n34PoBLMgFrQVl4R` is `saltsaltsalt` in crypt's base64.
    const GLIBC_SHA512: &str = "$6$rounds=5000$n34PoBLMgFrQVl4R$8iUSUFYgg8XtV0V/Oppb8iVv0d0gshz64pHzCizGRk1kjEzFF1z5k.XS2CMnsQKZztwW6Ljh5c9isEvBtSZST.";

    #[test]
    fn plain_passwords_hash_as_glibc_does() {
        let salt = b"saltsaltsalt";
        assert_eq!(hash_plain("ingot", salt).unwrap(), GLIBC_SHA512);
    }

    #[test]
    fn plain_password_hash_verifies_and_is_reproducible() {
        let seed = [7u8; 32];
        let a = hash_plain("demo", &salt(&seed, "admin")).unwrap();
        let b = hash_plain("demo", &salt(&seed, "admin")).unwrap();
        assert_eq!(a, b);
        assert!(a.starts_with("$6$rounds=5000$"));
        ShaCrypt::SHA512.verify_password(b"demo", a.as_str()).unwrap();
        assert!(ShaCrypt::SHA512.verify_password(b"wrong", a.as_str()).is_err());
    }

    #[test]
    fn salt_differs_per_user_and_per_seed() {
        let seed = [1u8; 32];
        assert_ne!(salt(&seed, "a"), salt(&seed, "b"));
        assert_ne!(salt(&seed, "a"), salt(&[2u8; 32], "a"));
    }

    #[test]
    fn hash_shapes_are_checked() {
        let sha512 = format!("$6$abcdefgh${}", "x".repeat(86));
        let sha512_rounds = format!("$6$rounds=10000$abcdefgh${}", "x".repeat(86));
        let sha256 = format!("$5$abcdefgh${}", "y".repeat(43));
        let yescrypt = format!("$y$j9T$abcdefgh${}", "z".repeat(43));
        for ok in ["!", "*", &sha512, &sha512_rounds, &format!("!{sha512}"), &sha256, &yescrypt] {
            assert_eq!(check_hash(ok), Ok(()), "{ok}");
        }
        let cut = format!("$6$abcdefgh${}", "x".repeat(80));
        assert!(check_hash(&cut).unwrap_err().starts_with("malformed `$6$` hash"));
        assert!(check_hash("$1$abc$def").unwrap_err().starts_with("unsupported hash method `$1$`"));
        assert!(check_hash("hunter2").unwrap_err().starts_with("not a crypt(3) hash"));
        assert!(check_hash("").unwrap_err().starts_with("not a crypt(3) hash"));
    }
}
