//! The rules of the Mail job for a linked message, pure: what each side did since the link was
//! last in step, and what to write where.
//!
//! - **Read state** goes both ways. Both sides changed it means both hold the same value now (a
//!   read state has two values), so there is nothing to decide.
//! - **Folders** follow Outlook: a move in Outlook moves the ERP.net message; a message gone from
//!   Outlook (deleted for good, or moved out of the synced folders) goes to ERP.net's Trash, as
//!   the original does with mail deleted on the server. A move in ERP.net stays there, except a
//!   move to Trash: that is a delete, and the Outlook message goes to Deleted Items.
//! - **A conflict** is a message moved in Outlook and deleted in ERP.net since the last run. The
//!   user's policy decides; `Newest` lets ERP.net win, because Graph gives no time for a move.

use crate::engine::ConflictPolicy;

use super::state::MessageLink;

/// Where Outlook's reads found a linked message this run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Seen {
    In { folder: String, is_read: bool },
    /// Deleted for good, or moved out of the synced folders.
    Gone,
}

/// A linked message as ERP.net's read found it this run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ErpSeen {
    pub is_read: bool,
    pub in_trash: bool,
}

/// What a link learns once the writes that carry it are done.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Learned {
    pub folder: Option<String>,
    pub is_read: Option<bool>,
    pub gone: Option<bool>,
    /// The content fingerprint written (an edited draft).
    pub content: Option<String>,
}

impl Learned {
    pub fn is_empty(&self) -> bool {
        *self == Self::default()
    }

    pub fn apply(&self, link: &mut MessageLink) {
        if let Some(f) = &self.folder {
            link.folder = f.clone();
        }
        if let Some(r) = self.is_read {
            link.is_read = r;
        }
        if let Some(g) = self.gone {
            link.gone = g;
        }
        if let Some(c) = &self.content {
            link.content = Some(c.clone());
        }
    }
}

/// A change to make to the ERP.net message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ToErp {
    /// Move it to the twin of this Outlook folder.
    pub folder: Option<String>,
    /// Move it to Trash.
    pub trash: bool,
    pub is_read: Option<bool>,
}

/// A change to make to the Outlook message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ToOutlook {
    pub is_read: Option<bool>,
    /// Move it to Deleted Items.
    pub delete: bool,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Decision {
    pub erp: Option<(ToErp, Learned)>,
    pub outlook: Option<(ToOutlook, Learned)>,
    /// What both sides already agree on: the link learns it without a write.
    pub agreed: Learned,
    pub conflict: bool,
}

/// Decides for one link. `deleted_items` is Outlook's Deleted Items folder: a message there is
/// in Trash in ERP.net by the folder mapping, not deleted.
pub fn decide(
    link: &MessageLink,
    outlook: Option<&Seen>,
    erp: Option<&ErpSeen>,
    deleted_items: Option<&str>,
    policy: ConflictPolicy,
) -> Decision {
    let mut d = Decision::default();
    let mut to_erp = ToErp {
        folder: None,
        trash: false,
        is_read: None,
    };
    let mut to_outlook = ToOutlook {
        is_read: None,
        delete: false,
    };

    // Read state, both ways.
    let outlook_read = match outlook {
        Some(Seen::In { is_read, .. }) if *is_read != link.is_read => Some(*is_read),
        _ => None,
    };
    let erp_read = erp.map(|e| e.is_read).filter(|r| *r != link.is_read);
    match (outlook_read, erp_read) {
        (Some(r), None) => to_erp.is_read = Some(r),
        (None, Some(r)) => to_outlook.is_read = Some(r),
        (Some(r), Some(_)) => d.agreed.is_read = Some(r),
        (None, None) => {}
    }

    // Where the message is.
    let in_deleted_items = |folder: &str| deleted_items == Some(folder);
    let erp_deleted = erp.is_some_and(|e| e.in_trash) && !(link.gone || in_deleted_items(&link.folder));
    match outlook {
        Some(Seen::In { folder, .. }) if *folder != link.folder || link.gone => {
            if erp_deleted && !in_deleted_items(folder) {
                d.conflict = true;
                match policy {
                    ConflictPolicy::OutlookWins => to_erp.folder = Some(folder.clone()),
                    ConflictPolicy::ErpWins | ConflictPolicy::Newest => to_outlook.delete = true,
                }
            } else if erp_deleted {
                // Deleted on both sides: Deleted Items is Trash's twin.
                d.agreed.folder = Some(folder.clone());
                d.agreed.gone = Some(false);
            } else {
                to_erp.folder = Some(folder.clone());
            }
        }
        Some(Seen::Gone) if !link.gone => {
            if erp.is_some_and(|e| e.in_trash) {
                d.agreed.gone = Some(true);
            } else {
                to_erp.trash = true;
            }
        }
        _ if erp_deleted => to_outlook.delete = true,
        _ => {}
    }

    if to_erp != (ToErp { folder: None, trash: false, is_read: None }) {
        let learned = Learned {
            folder: to_erp.folder.clone(),
            is_read: to_erp.is_read,
            gone: match (to_erp.trash, &to_erp.folder) {
                (true, _) => Some(true),
                (false, Some(_)) => Some(false),
                (false, None) => None,
            },
            content: None,
        };
        d.erp = Some((to_erp, learned));
    }
    if to_outlook != (ToOutlook { is_read: None, delete: false }) {
        let learned = Learned {
            folder: to_outlook
                .delete
                .then(|| deleted_items.map(str::to_owned))
                .flatten(),
            is_read: to_outlook.is_read,
            gone: None,
            content: None,
        };
        d.outlook = Some((to_outlook, learned));
    }
    d
}

#[cfg(test)]
mod tests {
    use super::*;

    const INBOX: &str = "inbox-id";
    const DELETED: &str = "deleted-id";
    const PROJECTS: &str = "projects-id";

    fn link(read: bool) -> MessageLink {
        MessageLink {
            message_id: "m1".into(),
            erp_id: "e1".into(),
            folder: INBOX.into(),
            is_read: read,
            gone: false,
            content: None,
        }
    }

    fn seen(folder: &str, read: bool) -> Seen {
        Seen::In {
            folder: folder.into(),
            is_read: read,
        }
    }

    fn erp(read: bool, trash: bool) -> ErpSeen {
        ErpSeen {
            is_read: read,
            in_trash: trash,
        }
    }

    fn run(l: &MessageLink, o: Option<Seen>, e: Option<ErpSeen>) -> Decision {
        decide(l, o.as_ref(), e.as_ref(), Some(DELETED), ConflictPolicy::Newest)
    }

    #[test]
    fn read_in_outlook_is_read_in_erp() {
        let d = run(&link(false), Some(seen(INBOX, true)), Some(erp(false, false)));
        assert_eq!(d.erp.unwrap().0.is_read, Some(true));
        assert!(d.outlook.is_none());
    }

    #[test]
    fn read_in_erp_is_read_in_outlook() {
        let d = run(&link(false), None, Some(erp(true, false)));
        assert_eq!(d.outlook.unwrap().0, ToOutlook { is_read: Some(true), delete: false });
        assert!(d.erp.is_none());
    }

    #[test]
    fn read_on_both_sides_is_agreed_without_writes() {
        let d = run(&link(false), Some(seen(INBOX, true)), Some(erp(true, false)));
        assert!(d.erp.is_none() && d.outlook.is_none());
        assert_eq!(d.agreed.is_read, Some(true));
    }

    #[test]
    fn a_move_in_outlook_moves_the_erp_message() {
        let d = run(&link(true), Some(seen(PROJECTS, true)), None);
        let (change, learned) = d.erp.unwrap();
        assert_eq!(change.folder.as_deref(), Some(PROJECTS));
        assert_eq!(learned.gone, Some(false));
    }

    #[test]
    fn gone_from_outlook_goes_to_trash_once() {
        let d = run(&link(true), Some(Seen::Gone), None);
        assert!(d.erp.unwrap().0.trash);
        let mut gone = link(true);
        gone.gone = true;
        assert_eq!(run(&gone, Some(Seen::Gone), None), Decision::default());
    }

    #[test]
    fn trash_in_erp_is_deleted_items_in_outlook() {
        let d = run(&link(true), None, Some(erp(true, true)));
        let (change, learned) = d.outlook.unwrap();
        assert!(change.delete);
        assert_eq!(learned.folder.as_deref(), Some(DELETED));
        // Once the link knows it is in Deleted Items, Trash is where it belongs.
        let mut there = link(true);
        there.folder = DELETED.into();
        assert_eq!(run(&there, None, Some(erp(true, true))), Decision::default());
    }

    #[test]
    fn a_restore_in_outlook_takes_it_out_of_trash() {
        let mut l = link(true);
        l.folder = DELETED.into();
        let d = run(&l, Some(seen(INBOX, true)), Some(erp(true, true)));
        assert_eq!(d.erp.unwrap().0.folder.as_deref(), Some(INBOX));
    }

    #[test]
    fn moved_in_outlook_and_deleted_in_erp_follows_the_policy() {
        let l = link(true);
        let o = seen(PROJECTS, true);
        let e = erp(true, true);
        let erp_wins = decide(&l, Some(&o), Some(&e), Some(DELETED), ConflictPolicy::ErpWins);
        assert!(erp_wins.conflict && erp_wins.outlook.unwrap().0.delete);
        let outlook_wins = decide(&l, Some(&o), Some(&e), Some(DELETED), ConflictPolicy::OutlookWins);
        assert_eq!(outlook_wins.erp.unwrap().0.folder.as_deref(), Some(PROJECTS));
    }
}
