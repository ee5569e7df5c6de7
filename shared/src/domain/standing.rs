//! A member's standing in one room (role, ban, admission, restrictions) and the moderation
//! changes to it. Each change is a pure function of the standing as stored, so both stores
//! apply it to what they read inside their own atomic write: two moderators acting at once
//! both take effect, and an undo takes back only what its own request changed.

use super::{MemberRole, Restrictions, Source};

/// The part of a member record that moderation and admission decide.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Standing {
    pub role: MemberRole,
    pub banned: bool,
    /// Let in explicitly: an entry the room's policy admitted, or a promotion. Only this
    /// opens a private room; a record that merely carries a restriction or a ban does not.
    pub admitted: bool,
    pub restrictions: Restrictions,
}

/// A moderation change to one member of an active room.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MemberChange {
    /// Banned and demoted (a banned moderator keeps no power); the store also frees their
    /// seat if they held one.
    Ban,
    Unban,
    /// Takes these sources away, keeping every other denial.
    Deny(Vec<Source>),
    /// Replaces the restrictions as a whole.
    Restrict(Restrictions),
    /// Sets what may be published; `None` leaves that part as it is.
    Permissions {
        sources: Option<Vec<Source>>,
        publish_data: Option<bool>,
    },
    ChatBlock(bool),
    /// A promotion also admits (an explicit choice of the owner or a moderator).
    Role(MemberRole),
    /// Takes back one earlier change: every part of the standing that is still as that change
    /// left it (`from`) returns to what it was before (`to`); parts someone else has changed
    /// since stay as they are.
    Revert {
        from: Standing,
        to: Standing,
    },
}

impl MemberChange {
    /// The standing after this change, from the standing as stored now.
    pub fn apply(&self, now: &Standing) -> Standing {
        let mut s = now.clone();
        match self {
            MemberChange::Ban => {
                s.banned = true;
                s.role = MemberRole::Participant;
            }
            MemberChange::Unban => s.banned = false,
            MemberChange::Deny(sources) => sources.iter().for_each(|x| s.restrictions.deny(*x)),
            MemberChange::Restrict(r) => s.restrictions = r.clone(),
            MemberChange::Permissions {
                sources,
                publish_data,
            } => {
                if let Some(allowed) = sources {
                    s.restrictions.denied = Source::ALL
                        .into_iter()
                        .filter(|x| !allowed.contains(x))
                        .collect();
                }
                if let Some(data) = publish_data {
                    s.restrictions.chat_blocked = !data;
                }
            }
            MemberChange::ChatBlock(blocked) => s.restrictions.chat_blocked = *blocked,
            MemberChange::Role(role) => {
                s.role = *role;
                if *role == MemberRole::Moderator {
                    s.admitted = true;
                }
            }
            MemberChange::Revert { from, to } => {
                let back = |current: bool, from: bool, to: bool| {
                    if current == from { to } else { current }
                };
                if s.role == from.role {
                    s.role = to.role;
                }
                s.banned = back(s.banned, from.banned, to.banned);
                s.admitted = back(s.admitted, from.admitted, to.admitted);
                s.restrictions.chat_blocked = back(
                    s.restrictions.chat_blocked,
                    from.restrictions.chat_blocked,
                    to.restrictions.chat_blocked,
                );
                for x in Source::ALL {
                    let denied = back(
                        s.restrictions.denies(x),
                        from.restrictions.denies(x),
                        to.restrictions.denies(x),
                    );
                    s.restrictions.set(x, denied);
                }
            }
        }
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn moderator() -> Standing {
        Standing {
            role: MemberRole::Moderator,
            admitted: true,
            ..Standing::default()
        }
    }

    #[test]
    fn a_ban_demotes_and_its_undo_restores_the_role() {
        let before = moderator();
        let after = MemberChange::Ban.apply(&before);
        assert!(after.banned);
        assert_eq!(after.role, MemberRole::Participant);
        let undo = MemberChange::Revert {
            from: after.clone(),
            to: before.clone(),
        };
        assert_eq!(undo.apply(&after), before);
    }

    #[test]
    fn restrictions_do_not_admit_but_promotion_does() {
        let blank = Standing::default();
        for change in [
            MemberChange::Deny(vec![Source::Microphone]),
            MemberChange::ChatBlock(true),
            MemberChange::Ban,
            MemberChange::Unban,
            MemberChange::Role(MemberRole::Participant),
        ] {
            assert!(!change.apply(&blank).admitted, "{change:?}");
        }
        assert!(
            MemberChange::Role(MemberRole::Moderator)
                .apply(&blank)
                .admitted
        );
    }

    #[test]
    fn an_undo_keeps_what_others_changed_since() {
        let before = Standing::default();
        let mine = MemberChange::Deny(vec![Source::Microphone]).apply(&before);
        // Another moderator turns the camera off meanwhile.
        let now = MemberChange::Deny(vec![Source::Camera]).apply(&mine);
        let undone = MemberChange::Revert {
            from: mine,
            to: before,
        }
        .apply(&now);
        assert_eq!(undone.restrictions.denied, vec![Source::Camera]);
    }

    #[test]
    fn denials_accumulate_and_permissions_replace() {
        let s = MemberChange::Deny(vec![Source::Microphone]).apply(&Standing::default());
        let s = MemberChange::Deny(vec![Source::Camera]).apply(&s);
        assert_eq!(
            s.restrictions.denied,
            vec![Source::Camera, Source::Microphone]
        );
        let s = MemberChange::Permissions {
            sources: Some(vec![Source::Camera]),
            publish_data: Some(false),
        }
        .apply(&s);
        assert_eq!(
            s.restrictions.denied,
            vec![
                Source::Microphone,
                Source::ScreenShare,
                Source::ScreenShareAudio
            ]
        );
        assert!(s.restrictions.chat_blocked);
    }
}
