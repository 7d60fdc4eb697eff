//! Outlook's folder tree and its twins in ERP.net: which folders are synced, the folder delta,
//! and each synced folder's BoxFolder (system ones by purpose, the others by `ServerFolderID`
//! under their parent's twin), renames and moves following Outlook.

use std::collections::BTreeSet;

use super::{Run, RunError};
use crate::engine::journal::LogLevel;
use crate::erp::{BoxFolder, Guid, NewBoxFolder};
use crate::graph::wire::mail::well_known;
use crate::graph::{GraphError, MailChanges, MailFolder};
use crate::jobs::mail::map;
use crate::jobs::mail::state::{FolderState, MailCheckpoint};

/// The well-known folders whose mail is kept in ERP.net; the user's own folders under the root
/// are too. Outbox, Junk Email, Archive and Outlook's housekeeping folders are not.
const SYNCED: &[&str] = &[
    well_known::INBOX,
    well_known::SENT_ITEMS,
    well_known::DRAFTS,
    well_known::DELETED_ITEMS,
];

/// Well-known folders read once by name so that they, and what is under them, stay out.
const KEPT_OUT: &[&str] = &[
    well_known::OUTBOX,
    well_known::JUNK_EMAIL,
    well_known::ARCHIVE,
    "conversationhistory",
    "syncissues",
    "scheduled",
    "clutter",
];

impl Run<'_, '_> {
    /// Reads the ids of the well-known folders once per mailbox.
    pub(super) async fn well_known(&mut self, cp: &mut MailCheckpoint) -> Result<(), RunError> {
        if !cp.well_known.is_empty() {
            return Ok(());
        }
        let names: Vec<&str> = std::iter::once(well_known::MSG_FOLDER_ROOT)
            .chain(SYNCED.iter().copied())
            .chain(KEPT_OUT.iter().copied())
            .collect();
        cp.well_known = self.job.graph.well_known_folders(&names).await?;
        Ok(())
    }

    /// Brings the folder tree up to date from the folder delta; true when it was read whole.
    pub(super) async fn read_folders(&mut self, cp: &mut MailCheckpoint) -> Result<bool, RunError> {
        let link = cp.folder_delta.clone();
        let (changes, whole) = match self.job.graph.mail_folder_delta(link.as_deref()).await {
            Ok(c) => (c, link.is_none()),
            Err(GraphError::ResyncRequired) => {
                self.note(
                    LogLevel::Warning,
                    "Outlook's folder change tracking expired; the folders are read again.",
                );
                (self.job.graph.mail_folder_delta(None).await?, true)
            }
            Err(e) => return Err(e.into()),
        };
        apply_folder_changes(cp, &changes, whole);
        cp.folder_delta = Some(changes.delta_link);
        Ok(whole)
    }

    /// Gives every synced Outlook folder its ERP.net twin: system folders by purpose, the
    /// others by `ServerFolderID` or created under their parent's twin; renames and moves follow.
    /// Returns how many folder writes failed (their mail waits for them).
    pub(super) async fn place_folders(
        &mut self,
        cp: &mut MailCheckpoint,
        erp_folders: &[BoxFolder],
        mail_box: &Guid,
    ) -> u32 {
        let mut failed = 0;
        let root_twin = erp_folders
            .iter()
            .find(|f| f.system_purpose.as_deref() == map::system_purpose(well_known::MSG_FOLDER_ROOT))
            .map(|f| f.id.to_string());
        for id in parents_first(cp) {
            if !in_scope(cp, &id) {
                continue;
            }
            let state = cp.folders[&id].clone();
            let purpose = cp
                .well_known
                .iter()
                .find(|(_, wk)| **wk == id)
                .and_then(|(name, _)| map::system_purpose(name));
            let parent_twin = match &state.parent {
                Some(p) if cp.well_known.get(well_known::MSG_FOLDER_ROOT) == Some(p) => root_twin.clone(),
                Some(p) => cp.folders.get(p).and_then(|f| f.erp_folder.clone()),
                None => root_twin.clone(),
            };
            if let Some(purpose) = purpose {
                if state.erp_folder.is_none()
                    && let Some(twin) = erp_folders.iter().find(|f| f.system_purpose.as_deref() == Some(purpose))
                {
                    let f = cp.folders.get_mut(&id).expect("listed");
                    f.erp_folder = Some(twin.id.to_string());
                    continue;
                }
                if state.erp_folder.is_some() {
                    continue;
                }
                self.note(LogLevel::Warning, format!("The mailbox has no '{purpose}' folder in ERP.net; Outlook's '{}' is kept in a folder of that name.", state.name));
            }
            match &state.erp_folder {
                None => {
                    let existing = erp_folders
                        .iter()
                        .find(|f| f.server_folder_id.as_deref() == Some(id.as_str()));
                    let twin = match existing {
                        Some(f) => Ok((f.id.to_string(), f.name.clone(), f.parent.as_ref().map(ToString::to_string))),
                        None => self
                            .job
                            .erp
                            .create_box_folder(&NewBoxFolder {
                                mail_box: mail_box.clone(),
                                parent: parent_twin.as_deref().and_then(Guid::parse),
                                name: state.name.clone(),
                                server_folder_id: id.clone(),
                            })
                            .await
                            .map(|f| (f.id.to_string(), Some(state.name.clone()), parent_twin.clone())),
                    };
                    match twin {
                        Ok((twin, name, parent)) => {
                            if existing.is_none() {
                                self.note(LogLevel::Info, format!("Folder '{}' created in ERP.net.", state.name));
                            }
                            let f = cp.folders.get_mut(&id).expect("listed");
                            f.erp_folder = Some(twin);
                            f.erp_name = name;
                            f.erp_parent = parent;
                        }
                        Err(e) => {
                            failed += 1;
                            self.note(LogLevel::Warning, format!("Folder '{}' could not be created in ERP.net yet ({e}); its mail follows when it is.", state.name));
                        }
                    }
                }
                Some(twin) if purpose.is_none() => {
                    let rename = (state.erp_name.as_deref() != Some(state.name.as_str())).then_some(state.name.as_str());
                    let moved = (state.erp_parent != parent_twin).then(|| parent_twin.as_deref().and_then(Guid::parse));
                    if rename.is_none() && moved.is_none() {
                        continue;
                    }
                    let Some(twin_id) = Guid::parse(twin) else { continue };
                    match self.job.erp.update_box_folder(&twin_id, rename, moved).await {
                        Ok(()) => {
                            let what = if rename.is_some() { "renamed" } else { "moved" };
                            self.note(LogLevel::Info, format!("Folder '{}' {what} in ERP.net.", state.name));
                            let f = cp.folders.get_mut(&id).expect("listed");
                            f.erp_name = Some(state.name.clone());
                            f.erp_parent = parent_twin.clone();
                        }
                        Err(e) => {
                            failed += 1;
                            self.note(LogLevel::Warning, format!("Folder '{}' could not be changed in ERP.net yet ({e}).", state.name));
                        }
                    }
                }
                Some(_) => {}
            }
        }
        failed
    }
}

/// Folds a folder delta round into the tree; a whole read replaces it.
fn apply_folder_changes(cp: &mut MailCheckpoint, changes: &MailChanges<MailFolder>, whole: bool) {
    if whole {
        let present: BTreeSet<&str> = changes.changed.iter().map(|f| f.id.as_str()).collect();
        cp.folders.retain(|id, _| present.contains(id.as_str()));
    }
    for folder in &changes.changed {
        let entry = cp
            .folders
            .entry(folder.id.clone())
            .or_insert_with(|| FolderState {
                name: String::new(),
                parent: None,
                erp_folder: None,
                erp_name: None,
                erp_parent: None,
                delta_link: None,
            });
        entry.name = folder.display_name.clone().unwrap_or_default();
        entry.parent = folder.parent_folder_id.clone();
    }
    for id in &changes.removed {
        cp.folders.remove(id);
    }
}

/// True for a folder whose mail is kept: a synced well-known folder, or a folder of the user's
/// own whose ancestors up to the root are kept too.
pub(super) fn in_scope(cp: &MailCheckpoint, id: &str) -> bool {
    let root = cp.well_known.get(well_known::MSG_FOLDER_ROOT);
    let mut current = id.to_owned();
    // A tree deeper than this is a loop in what Graph sent.
    for _ in 0..64 {
        if let Some((name, _)) = cp.well_known.iter().find(|(_, wk)| **wk == current) {
            return SYNCED.contains(&name.as_str());
        }
        let Some(parent) = cp.folders.get(&current).and_then(|f| f.parent.clone()) else {
            return false;
        };
        if Some(&parent) == root {
            return true;
        }
        current = parent;
    }
    false
}

/// The folders, every parent before its children.
fn parents_first(cp: &MailCheckpoint) -> Vec<String> {
    let depth = |id: &str| {
        let mut d = 0;
        let mut current = id.to_owned();
        while let Some(p) = cp.folders.get(&current).and_then(|f| f.parent.clone()) {
            d += 1;
            if d > 64 {
                break;
            }
            current = p;
        }
        d
    };
    let mut ids: Vec<(usize, String)> = cp
        .folders
        .keys()
        .map(|id| (depth(id), id.clone()))
        .collect();
    ids.sort();
    ids.into_iter().map(|(_, id)| id).collect()
}
