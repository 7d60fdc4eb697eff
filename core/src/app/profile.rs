//! Each signed-in user's profile and Setup choices.

use serde::{Deserialize, Serialize};

use crate::engine::ConflictPolicy;
use crate::error::{ErrorCode, PublicError};
use crate::host::{Expect, Store, WriteBatch};
use crate::model::tz::Zone;

/// A user of MsSync: a Microsoft identity linked to an ERP.net user.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UserProfile {
    /// MsSync's id of the user: the Entra ID object id (`oid`), stable across renames.
    pub user_id: String,
    pub tenant_id: String,
    pub email: String,
    pub name: String,
    pub erp_user_id: String,
    /// The ERP.net user's `Login` (what `CreationUser` of the activities they create holds).
    /// Profiles stored before it was kept read as `None`, and it is looked up then.
    #[serde(default)]
    pub erp_login: Option<String>,
    /// ERP.net administrators may use Service.
    pub is_admin: bool,
    pub company_id: Option<String>,
    pub location_id: Option<String>,
    pub zone: Zone,
    pub policy: ConflictPolicy,
    /// When `is_admin` and the user's being active were last read from ERP.net: rights are
    /// re-read before Service operations and runs once this is older than a short while.
    #[serde(default)]
    pub rights_checked_at: Option<chrono::DateTime<chrono::Utc>>,
}

/// The Microsoft account an ERP.net user is pinned to at its first sign-in: another account
/// (a renamed or reassigned user name, a guest) can never take it over.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct IdentityPin {
    pub tenant_id: String,
    pub object_id: String,
}

fn pin_key(erp_user_id: &str) -> String {
    format!("identity/erp-user/{erp_user_id}")
}

pub(crate) async fn load_pin(
    store: &dyn Store,
    erp_user_id: &str,
) -> Result<Option<IdentityPin>, PublicError> {
    match store.get(&pin_key(erp_user_id)).await? {
        Some(v) => serde_json::from_slice(&v.value).map(Some).map_err(|_| {
            PublicError::new(
                ErrorCode::StoreFailure,
                "a stored identity link is unreadable",
            )
        }),
        None => Ok(None),
    }
}

/// Pins `erp_user_id` to `pin`; only where no pin is, so two accounts racing to link one
/// ERP.net user cannot both win.
pub(crate) fn put_pin(batch: WriteBatch, erp_user_id: &str, pin: &IdentityPin) -> WriteBatch {
    batch.put(
        pin_key(erp_user_id),
        serde_json::to_vec(pin).expect("a pin serializes"),
        Expect::Absent,
    )
}

fn key(user_id: &str) -> String {
    format!("user/{user_id}")
}

pub(crate) async fn load(
    store: &dyn Store,
    user_id: &str,
) -> Result<Option<(UserProfile, u64)>, PublicError> {
    match store.get(&key(user_id)).await? {
        Some(v) => {
            let profile = serde_json::from_slice(&v.value).map_err(|_| {
                PublicError::new(
                    ErrorCode::StoreFailure,
                    "a stored user profile is unreadable",
                )
            })?;
            Ok(Some((profile, v.version)))
        }
        None => Ok(None),
    }
}

/// The id of the signed-in user with this e-mail address (any case), or NotFound.
pub(crate) async fn find_by_email(store: &dyn Store, email: &str) -> Result<String, PublicError> {
    let wanted = email.trim();
    for (_, stored) in store.scan("user/").await? {
        // Only profiles live under `user/`; one unreadable record does not hide the others.
        if let Ok(profile) = serde_json::from_slice::<UserProfile>(&stored.value)
            && profile.email.eq_ignore_ascii_case(wanted)
        {
            return Ok(profile.user_id);
        }
    }
    Err(PublicError::new(
        ErrorCode::NotFound,
        "no MsSync user has this e-mail address; they sign in with Microsoft first",
    ))
}

/// The profile of a signed-in user, or NotFound for anyone else.
pub(crate) async fn require(
    store: &dyn Store,
    user_id: &str,
) -> Result<(UserProfile, u64), PublicError> {
    load(store, user_id).await?.ok_or_else(|| {
        PublicError::new(
            ErrorCode::NotFound,
            "no such MsSync user; sign in with Microsoft first",
        )
    })
}

pub(crate) fn put(batch: WriteBatch, profile: &UserProfile, expect: Expect) -> WriteBatch {
    batch.put(
        key(&profile.user_id),
        serde_json::to_vec(profile).expect("a profile serializes"),
        expect,
    )
}

/// Every signed-in user's profile (unreadable records are skipped, as in [`find_by_email`]).
pub(crate) async fn all(store: &dyn Store) -> Result<Vec<UserProfile>, PublicError> {
    Ok(store
        .scan("user/")
        .await?
        .into_iter()
        .filter_map(|(_, stored)| serde_json::from_slice::<UserProfile>(&stored.value).ok())
        .collect())
}
