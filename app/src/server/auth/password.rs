//! Argon2id password hashing at OWASP's parameters, always off the async runtime.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::LazyLock;

use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use rand::distributions::{Alphanumeric, DistString};
use sea_orm::DeriveValueType;

use crate::error::AppError;

/// A stored PHC-format hash. Deliberately neither `Serialize` nor printable: it must never
/// reach a browser or a log.
#[derive(Clone, PartialEq, Eq, DeriveValueType)]
pub struct PasswordHash(pub String);

impl std::fmt::Debug for PasswordHash {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PasswordHash(<redacted>)")
    }
}

/// Shortest password ipvet accepts.
pub const MIN_PASSWORD_LEN: usize = 12;
/// Longest: argon2 is fed the whole password, so bound the work an attacker can ask for.
pub const MAX_PASSWORD_LEN: usize = 1024;

fn hasher() -> Argon2<'static> {
    // OWASP: m = 19 MiB, t = 2, p = 1 for Argon2id.
    Argon2::new(
        Algorithm::Argon2id,
        Version::V0x13,
        Params::new(19_456, 2, 1, None).expect("valid argon2 parameters"),
    )
}

/// Checks a new password against the policy; the message is meant for the user.
pub fn validate_new(password: &str) -> Result<(), AppError> {
    let len = password.chars().count();
    if len < MIN_PASSWORD_LEN {
        return Err(AppError::BadRequest(format!(
            "The password must have at least {MIN_PASSWORD_LEN} characters."
        )));
    }
    if len > MAX_PASSWORD_LEN {
        return Err(AppError::BadRequest(format!(
            "The password must have at most {MAX_PASSWORD_LEN} characters."
        )));
    }
    Ok(())
}

/// Refuses a password given to be checked (at sign-in, or as one's current password) that
/// is longer than any ipvet accepts, before Argon2 is asked to do work for it.
pub fn bounded_for_check(password: &str) -> Result<(), AppError> {
    if password.chars().count() > MAX_PASSWORD_LEN {
        return Err(AppError::BadRequest(format!(
            "A password has at most {MAX_PASSWORD_LEN} characters."
        )));
    }
    Ok(())
}

/// Sign-in's Argon2 verifications that run at once. Each holds 19 MiB and a core for a
/// moment; unbounded, a burst of anonymous sign-ins took the server from 0.5 to 1 GB.
pub const VERIFY_AT_ONCE: usize = 4;
/// Verifications that may wait for one of those; past this, a sign-in is refused at once
/// rather than queued behind seconds of others.
pub const VERIFY_QUEUE: usize = 64;

/// The bound on sign-in's password checks, one per server. Hashing a new password is
/// not bound by it: only a signed-in user or the command line can ask for that.
pub struct Verifier {
    running: tokio::sync::Semaphore,
    admitted: tokio::sync::Semaphore,
    in_flight: AtomicUsize,
    peak: AtomicUsize,
}

impl Default for Verifier {
    fn default() -> Verifier {
        Verifier {
            running: tokio::sync::Semaphore::new(VERIFY_AT_ONCE),
            admitted: tokio::sync::Semaphore::new(VERIFY_QUEUE),
            in_flight: AtomicUsize::new(0),
            peak: AtomicUsize::new(0),
        }
    }
}

impl Verifier {
    /// The most verifications this server has run at once: what the bound holds.
    pub fn peak_at_once(&self) -> usize {
        self.peak.load(Ordering::Relaxed)
    }

    /// [`verify`], within the bounds above.
    pub async fn verify(
        &self,
        password: String,
        stored: Option<PasswordHash>,
    ) -> Result<bool, AppError> {
        let _admitted = self.admitted.try_acquire().map_err(|_| {
            AppError::TooManyRequests(
                "The server is busy checking other passwords; try again in a moment.".into(),
            )
        })?;
        let _running = self
            .running
            .acquire()
            .await
            .map_err(|_| AppError::Internal)?;
        let now = self.in_flight.fetch_add(1, Ordering::Relaxed) + 1;
        self.peak.fetch_max(now, Ordering::Relaxed);
        let matches = verify(password, stored).await;
        self.in_flight.fetch_sub(1, Ordering::Relaxed);
        matches
    }
}

pub async fn hash(password: String) -> Result<PasswordHash, AppError> {
    tokio::task::spawn_blocking(move || {
        let salt = SaltString::generate(&mut OsRng);
        hasher()
            .hash_password(password.as_bytes(), &salt)
            .map(|h| PasswordHash(h.to_string()))
            .map_err(|e| {
                tracing::error!(cause = %e, "hashing a password failed");
                AppError::Internal
            })
    })
    .await?
}

/// Hash of a random password, verified against when the user does not exist so that an
/// unknown name costs as much time as a wrong password.
static DUMMY: LazyLock<String> = LazyLock::new(|| {
    let salt = SaltString::generate(&mut OsRng);
    hasher()
        .hash_password(generate().as_bytes(), &salt)
        .expect("hashing a random password")
        .to_string()
});

/// Verifies `password` against `stored`, or against a dummy hash when there is no user.
pub async fn verify(password: String, stored: Option<PasswordHash>) -> Result<bool, AppError> {
    tokio::task::spawn_blocking(move || {
        let exists = stored.is_some();
        let phc = stored.map_or_else(|| DUMMY.clone(), |h| h.0);
        let ok = argon2::PasswordHash::new(&phc)
            .map(|parsed| {
                hasher()
                    .verify_password(password.as_bytes(), &parsed)
                    .is_ok()
            })
            .unwrap_or_else(|e| {
                tracing::error!(cause = %e, "a stored password hash is malformed");
                false
            });
        exists && ok
    })
    .await
    .map_err(AppError::from)
}

/// A fresh random password for a first admin: 24 letters and digits (~142 bits).
pub fn generate() -> String {
    Alphanumeric.sample_string(&mut rand::thread_rng(), 24)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn right_password_verifies_and_wrong_does_not() {
        let h = hash("correct horse battery".into()).await.unwrap();
        assert!(
            h.0.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
            "{}",
            h.0
        );
        assert!(verify("correct horse battery".into(), Some(h.clone()))
            .await
            .unwrap());
        assert!(!verify("wrong horse battery".into(), Some(h)).await.unwrap());
    }

    #[tokio::test]
    async fn unknown_user_never_verifies() {
        assert!(!verify("anything at all".into(), None).await.unwrap());
    }

    #[test]
    fn hashes_do_not_print() {
        let h = PasswordHash("$argon2id$secret".into());
        assert_eq!(format!("{h:?}"), "PasswordHash(<redacted>)");
    }

    #[test]
    fn policy_bounds_length() {
        assert!(validate_new("short").is_err());
        assert!(validate_new(&"x".repeat(12)).is_ok());
        assert!(validate_new(&"x".repeat(1025)).is_err());
        assert_eq!(generate().len(), 24);
    }
}
