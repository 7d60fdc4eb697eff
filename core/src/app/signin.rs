//! Sign-in with Microsoft (everyone): the authorize redirect out, the code back, the link to
//! the ERP.net user, and the delegated tokens a sign-in leaves.

use serde::Serialize;

use super::config::{OperationMode, ServiceRecord, load_service};
use super::profile::{self, IdentityPin, UserProfile};
use super::service::LOCAL_PROVIDER;
use super::setup::CompanyOption;
use super::{App, update_with_retry};
use crate::engine::ConflictPolicy;
use crate::engine::journal::{self, LogLevel, LogLine};
use crate::erp::ErpUser;
use crate::error::{ErrorCode, PublicError};
use crate::host::{Expect, WriteBatch};
use crate::identity::{DelegatedTokenSource, IdClaims, SignInStore};
use crate::model::tz::Zone;

/// Step one of sign-in: where to send the browser.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SignInStart {
    pub authorize_url: String,
    pub state: String,
}

/// A signed-in user.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Session {
    pub user_id: String,
    pub email: String,
    pub name: String,
    pub is_admin: bool,
    /// True the first time this user signed in (Setup defaults were filled from ERP.net).
    pub first_sign_in: bool,
}

const SIGN_IN_SCOPES: &[&str] = &["openid", "profile", "email", "offline_access"];
const DELEGATED_GRAPH_SCOPES: &[&str] = &["Calendars.ReadWrite", "Mail.ReadWrite", "User.Read"];

impl App {
    /// Step one of sign-in: the authorize URL; the pending state is kept (sealed) in the store,
    /// bound to `binding`: a value the host derives from its own session of the browser that
    /// signs in (a session cookie's hash, a random value it keeps for the console). Only that
    /// session can complete the sign-in, so an attacker's sign-in cannot be finished in a
    /// victim's browser.
    pub async fn begin_sign_in(
        &self,
        login_hint: Option<&str>,
        binding: &str,
    ) -> Result<SignInStart, PublicError> {
        if binding.trim().is_empty() {
            return Err(PublicError::new(
                ErrorCode::InvalidArgument,
                "a sign-in needs the host's binding of the browser session",
            ));
        }
        let (record, _) = load_service(self.host.store.as_ref()).await?;
        let client = self.entra_client(&record)?;
        let mut scopes: Vec<&str> = SIGN_IN_SCOPES.to_vec();
        if record.mode == OperationMode::Delegated {
            scopes.extend_from_slice(DELEGATED_GRAPH_SCOPES);
        }
        let request = client.authorization_request(&scopes, login_hint)?;
        let sign_ins = self.sign_ins()?;
        // Anyone who can reach the sign-in page can start one: those never finished are
        // dropped here, so they cannot pile up. Best effort: a purge that races another
        // sign-in is simply done by the next one.
        let _ = sign_ins.purge_abandoned().await;
        sign_ins.put(&request.pending, binding).await?;
        Ok(SignInStart {
            authorize_url: request.url,
            state: request.pending.state,
        })
    }

    fn sign_ins(&self) -> Result<SignInStore, PublicError> {
        Ok(SignInStore::new(
            self.host.store.clone(),
            self.sealer()?.clone(),
            self.host.clock.clone(),
        ))
    }

    /// A session the host authenticated itself: only Microsoft identities may use MsSync.
    pub fn check_host_session(&self, provider: &str) -> Result<(), PublicError> {
        if provider.eq_ignore_ascii_case(LOCAL_PROVIDER) {
            return Err(PublicError::new(
                ErrorCode::LocalCredentials,
                "MsSync needs a Microsoft sign-in: sign out of ERP.net and sign in with Microsoft",
            ));
        }
        Ok(())
    }

    /// Step two of sign-in: the code and state from the redirect, in the browser session
    /// `binding` names (the one that began it). Links the Microsoft identity to the ERP.net user
    /// with the same user principal name, within a granted domain; stores nothing when it
    /// refuses.
    pub async fn complete_sign_in(
        &self,
        state: &str,
        code: &str,
        binding: &str,
    ) -> Result<Session, PublicError> {
        let store = self.host.store.as_ref();
        let (record, _) = load_service(store).await?;
        let pending = self.sign_ins()?.take_bound(state, binding).await?;
        let client = self.entra_client(&record)?;
        let signed_in = client.complete_sign_in(&pending, state, code).await?;
        let (claims, tokens) = (signed_in.claims, signed_in.tokens);
        // The user principal name, as the original MsSync links users; never the `email`
        // claim, which Entra ID does not guarantee and says never to authorize with. The name
        // is mutable too, so the link it makes is pinned to the account's tenant and object id.
        let email = claims
            .preferred_username
            .clone()
            .unwrap_or_default()
            .to_lowercase();
        let domain = email
            .rsplit_once('@')
            .map(|(_, d)| d.to_owned())
            .unwrap_or_default();
        if domain.is_empty() || !record.domains.contains(&domain) {
            return Err(PublicError::new(
                ErrorCode::DomainNotGranted,
                "your e-mail domain may not use MsSync; ask an administrator to grant it in Service",
            ));
        }
        let erp = self.erp_client(self.host.http.clone(), None, None)?;
        let erp_user = erp.user_by_email(&email).await?.ok_or_else(|| {
            PublicError::new(
                ErrorCode::NoErpUser,
                "no ERP.net user has your e-mail address; ask an administrator to set it",
            )
        })?;
        if !erp_user.active {
            return Err(PublicError::new(
                ErrorCode::InactiveErpUser,
                "your ERP.net user is inactive; ask an administrator to activate it",
            ));
        }
        // First sign-in: Setup defaults from ERP.net (the only active company and location
        // when there is exactly one choice), read once, outside the store's retries.
        let companies = match profile::load(store, &claims.oid).await? {
            Some(_) => Vec::new(),
            None => self.company_options(&erp).await.unwrap_or_default(),
        };
        let ours = IdentityPin {
            tenant_id: claims.tid.clone(),
            object_id: claims.oid.clone(),
        };
        let (email, claims, erp_user, companies, ours) =
            (&email, &claims, &erp_user, &companies, &ours);
        let (record, tokens) = (&record, &tokens);
        let session = update_with_retry(store, &claims.oid, move || async move {
            let existing = profile::load(store, &claims.oid).await?;
            let pin = profile::load_pin(store, erp_user.id.as_str()).await?;
            if pin.as_ref().is_some_and(|p| p != ours) {
                return Err(PublicError::new(
                    ErrorCode::IdentityLinkedElsewhere,
                    "this ERP.net user is already linked to another Microsoft account",
                ));
            }
            if let Some((p, _)) = &existing
                && p.erp_user_id != erp_user.id.as_str()
            {
                return Err(PublicError::new(
                    ErrorCode::IdentityLinkedElsewhere,
                    "your Microsoft account is linked to another ERP.net user (was your user name changed?)",
                ));
            }
            let first = existing.is_none();
            let expect = existing
                .as_ref()
                .map_or(Expect::Absent, |(_, v)| Expect::Version(*v));
            let mut profile = match existing {
                Some((mut p, _)) => {
                    p.email = email.clone();
                    p.name = claims.name.clone().unwrap_or(p.name);
                    p.is_admin = erp_user.is_admin;
                    p.erp_user_id = erp_user.id.as_str().to_owned();
                    p.erp_login = erp_user.login.clone();
                    p
                }
                None => new_profile(claims, email, erp_user, companies),
            };
            if record.mode == OperationMode::Delegated {
                self.delegated_tokens(record, &profile.user_id)?
                    .save(tokens)
                    .await?;
            }
            let now = self.host.clock.now();
            profile.rights_checked_at = Some(now);
            let mut batch = profile::put(WriteBatch::new(), &profile, expect);
            if pin.is_none() {
                batch = profile::put_pin(batch, erp_user.id.as_str(), ours);
            }
            journal::append(
                store,
                &mut batch,
                &profile.user_id,
                &[LogLine::new(
                    now,
                    LogLevel::Info,
                    format!("Signed in ({email})."),
                )],
            )
            .await?;
            let session = Session {
                user_id: profile.user_id,
                email: email.clone(),
                name: profile.name,
                is_admin: profile.is_admin,
                first_sign_in: first,
            };
            Ok(Some((batch, session)))
        })
        .await?;
        // Every attempt that does not refuse writes the profile, so there is always a session.
        session.ok_or_else(|| PublicError::new(ErrorCode::Internal, "the sign-in wrote nothing"))
    }

    /// Step two when Entra ID redirected back with an error instead of a code: the pending
    /// sign-in is dropped and the refusal explained.
    pub async fn fail_sign_in(&self, state: &str, error: &str, description: &str) -> PublicError {
        if let Ok(sign_ins) = self.sign_ins() {
            // Unknown or expired states are fine here: there is nothing left to drop.
            let _ = sign_ins.take(state).await;
        }
        let aadsts = |code: &str| description.contains(code);
        if aadsts("AADSTS50020")
            && (description.contains("live.com") || description.contains("MSA"))
        {
            PublicError::new(
                ErrorCode::PersonalAccount,
                "personal Microsoft accounts cannot use MsSync; sign in with your work account",
            )
        } else if aadsts("AADSTS50020") {
            PublicError::new(
                ErrorCode::WrongTenant,
                "your account belongs to another organization than the one MsSync is connected to",
            )
        } else if error == "access_denied" {
            PublicError::new(
                ErrorCode::Unauthorized,
                "the sign-in was cancelled or refused",
            )
        } else {
            PublicError::new(
                ErrorCode::InvalidGrant,
                "Microsoft Entra ID refused the sign-in",
            )
        }
    }

    pub(super) fn delegated_tokens(
        &self,
        record: &ServiceRecord,
        user_id: &str,
    ) -> Result<DelegatedTokenSource, PublicError> {
        let mut scopes: Vec<String> = DELEGATED_GRAPH_SCOPES
            .iter()
            .map(|s| s.to_string())
            .collect();
        scopes.push("offline_access".into());
        Ok(DelegatedTokenSource::new(
            self.entra_client(record)?,
            self.host.store.clone(),
            self.sealer()?.clone(),
            self.host.clock.clone(),
            user_id,
            scopes,
        ))
    }
}

/// The profile of a first sign-in: Setup defaults from ERP.net (the user's zone; the only active
/// company and location when there is exactly one choice).
fn new_profile(
    claims: &IdClaims,
    email: &str,
    erp_user: &ErpUser,
    companies: &[CompanyOption],
) -> UserProfile {
    let zone = erp_user
        .time_zone
        .as_deref()
        .and_then(|z| Zone::parse(z).ok())
        .unwrap_or_else(Zone::utc);
    let (company_id, location_id) = match companies {
        [only] => (
            Some(only.id.clone()),
            match only.locations.as_slice() {
                [l] => Some(l.id.clone()),
                _ => None,
            },
        ),
        _ => (None, None),
    };
    UserProfile {
        user_id: claims.oid.clone(),
        tenant_id: claims.tid.clone(),
        email: email.to_owned(),
        name: claims.name.clone().unwrap_or_else(|| email.to_owned()),
        erp_user_id: erp_user.id.as_str().to_owned(),
        erp_login: erp_user.login.clone(),
        is_admin: erp_user.is_admin,
        company_id,
        location_id,
        zone,
        policy: ConflictPolicy::default(),
        rights_checked_at: None,
    }
}

impl App {
    /// The id of the signed-in user with this e-mail address, for hosts that name users by
    /// address (the command line's `sync --user`).
    pub async fn user_by_email(&self, email: &str) -> Result<String, PublicError> {
        profile::find_by_email(self.host.store.as_ref(), email).await
    }
}
