//! Who may enter a room and with which rights. Pure functions over domain types: the store
//! enforces the invariants (capacity, bans) with conditional writes; this decides the rest.

use super::{Access, DisplayName, Member, Restrictions, Room, RoomMode, Source, User, UserId};
use crate::error::Error;

/// The person asking, as room policy sees them.
#[derive(Debug, Clone)]
pub struct Caller {
    pub id: UserId,
    pub name: DisplayName,
    pub accesses: Vec<Access>,
}

impl From<&User> for Caller {
    fn from(u: &User) -> Self {
        Self {
            id: u.id.clone(),
            name: u.name.clone(),
            accesses: u.accesses.clone(),
        }
    }
}

impl Caller {
    /// Platform admins may manage and enter every room.
    pub fn is_admin(&self) -> bool {
        self.accesses.iter().any(|a| *a >= Access::Admin)
    }

    pub fn is_guest(&self) -> bool {
        self.id.is_guest() || self.accesses.contains(&Access::Guest)
    }
}

/// A participant's role in one room. The store decides it; participant metadata only shows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RoomRole {
    Owner,
    Moderator,
    Participant,
}

impl RoomRole {
    pub fn as_str(self) -> &'static str {
        match self {
            RoomRole::Owner => "owner",
            RoomRole::Moderator => "moderator",
            RoomRole::Participant => "participant",
        }
    }

    pub fn may_moderate(self) -> bool {
        self != RoomRole::Participant
    }
}

/// `None` is an anonymous visitor: never more than a participant. A banned member moderates
/// nothing, whatever role their record still carries.
pub fn role(room: &Room, member: Option<&Member>, caller: Option<&Caller>) -> RoomRole {
    let Some(caller) = caller else {
        return RoomRole::Participant;
    };
    let room_moderator =
        member.is_some_and(|m| m.role == super::MemberRole::Moderator && !m.banned);
    if room.is_owner(&caller.id) {
        RoomRole::Owner
    } else if caller.is_admin() || room_moderator {
        RoomRole::Moderator
    } else {
        RoomRole::Participant
    }
}

/// Why someone may not enter. The texts are part of the client contract: the web client
/// branches on the words `private`, `banned`, `full` and `approval`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    NotFound,
    Archived,
    /// An admin suspended the room: nobody enters until it is reactivated.
    Suspended,
    Private {
        approval: bool,
    },
    Banned,
    Full,
}

impl From<Refusal> for Error {
    fn from(r: Refusal) -> Self {
        match r {
            Refusal::NotFound => Error::not_found("Room not found"),
            Refusal::Archived => Error::Gone("room is no longer active".into()),
            Refusal::Suspended => Error::forbidden("Room is suspended"),
            Refusal::Private { approval: false } => Error::forbidden("This room is private"),
            Refusal::Private { approval: true } => {
                Error::forbidden("This room is private and requires approval to join")
            }
            Refusal::Banned => Error::forbidden("you are banned from this room"),
            Refusal::Full => Error::forbidden("room is full"),
        }
    }
}

/// The decision to let someone in, before the store takes a slot.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Admission {
    pub role: RoomRole,
    pub restrictions: Restrictions,
    /// False when they already hold a slot (a re-join or a second device).
    pub needs_slot: bool,
}

/// `member` is the caller's record in this room (same room id), if any; `caller` is `None` for
/// an anonymous visitor (room checks). A private room admits its owner, admins, and members
/// let in explicitly (an earlier admitted entry, a promotion): never someone whose record
/// only carries a restriction or a ban.
pub fn admit(
    room: &Room,
    member: Option<&Member>,
    caller: Option<&Caller>,
) -> Result<Admission, Refusal> {
    if !room.is_active {
        return Err(Refusal::Archived);
    }
    if room.suspended {
        return Err(Refusal::Suspended);
    }
    let role = role(room, member, caller);
    if role != RoomRole::Owner && member.is_some_and(|m| m.banned) {
        return Err(Refusal::Banned);
    }
    if !room.is_public && role == RoomRole::Participant && !member.is_some_and(|m| m.admitted) {
        return Err(Refusal::Private {
            approval: room.settings.require_approval,
        });
    }
    Ok(Admission {
        role,
        restrictions: member.map(|m| m.restrictions.clone()).unwrap_or_default(),
        needs_slot: !member.is_some_and(|m| m.is_active),
    })
}

/// Why a seat cannot be taken, from the room and member as the store holds them now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SeatRefusal {
    Banned,
    /// They hold one already (a second device, a re-join).
    AlreadySeated,
    Full,
}

/// Whether `member` (absent: never seen here) may take a seat in the active `room` now. One
/// rule for both stores, which apply it to what they read inside their atomic write.
pub fn seat(room: &Room, member: Option<&Member>) -> Result<(), SeatRefusal> {
    match member {
        Some(m) if m.banned => Err(SeatRefusal::Banned),
        Some(m) if m.is_active => Err(SeatRefusal::AlreadySeated),
        _ if room.is_full() => Err(SeatRefusal::Full),
        _ => Ok(()),
    }
}

/// What a join token lets its holder do, before it is written as LiveKit grants.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rights {
    /// Exactly the sources they may publish; empty means no publishing at all.
    pub sources: Vec<Source>,
    pub publish_data: bool,
    pub subscribe: bool,
}

/// Rights from the room's switches, its mode, the role and moderation's restrictions.
/// Switches bind everyone; in webinar and broadcast rooms only owner and moderators publish,
/// and broadcast attendees cannot send data either.
pub fn rights(room: &Room, role: RoomRole, r: &Restrictions) -> Rights {
    let s = &room.settings;
    let presenter = role.may_moderate() || room.mode == RoomMode::Standard;
    let offered = [
        (Source::Camera, s.allow_video),
        (Source::Microphone, s.allow_audio),
        (Source::ScreenShare, s.allow_video),
        (Source::ScreenShareAudio, s.allow_video && s.allow_audio),
    ];
    let sources = offered
        .into_iter()
        .filter(|(src, on)| presenter && *on && !r.denies(*src))
        .map(|(src, _)| src)
        .collect();
    let silent_attendee = room.mode == RoomMode::Broadcast && !role.may_moderate();
    Rights {
        sources,
        publish_data: s.allow_chat && !r.chat_blocked && !silent_attendee,
        subscribe: true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{MemberRole, RoomName};

    fn room(public: bool) -> Room {
        let mut r = Room::new(RoomName::parse("abc").unwrap(), owner(), 0);
        r.is_public = public;
        r
    }

    fn owner() -> UserId {
        UserId::parse("00000000-0000-4000-8000-000000000001").unwrap()
    }

    fn caller(id: UserId, accesses: &[Access]) -> Caller {
        Caller {
            id,
            name: DisplayName::parse("Ann", 50).unwrap(),
            accesses: accesses.to_vec(),
        }
    }

    fn member(room: &Room, who: &Caller) -> Member {
        Member {
            room_id: room.id.clone(),
            user_id: who.id.clone(),
            name: who.name.clone(),
            role: MemberRole::Participant,
            is_active: false,
            banned: false,
            admitted: true,
            restrictions: Restrictions::default(),
            joined_at: 0,
            left_at: None,
            session: None,
            seen_at: 0,
        }
    }

    #[test]
    fn private_rooms_admit_owner_admins_and_members_only() {
        let r = room(false);
        let stranger = caller(UserId::new_account(), &[Access::User]);
        assert_eq!(
            admit(&r, None, Some(&stranger)),
            Err(Refusal::Private { approval: false })
        );
        let mut m = member(&r, &stranger);
        assert!(admit(&r, Some(&m), Some(&stranger)).is_ok());
        // A record that only carries a restriction (or a lifted ban) does not open the door.
        m.admitted = false;
        assert_eq!(
            admit(&r, Some(&m), Some(&stranger)),
            Err(Refusal::Private { approval: false })
        );
        let boss = caller(owner(), &[Access::User]);
        assert_eq!(admit(&r, None, Some(&boss)).unwrap().role, RoomRole::Owner);
        let admin = caller(UserId::new_account(), &[Access::Admin]);
        assert_eq!(
            admit(&r, None, Some(&admin)).unwrap().role,
            RoomRole::Moderator
        );
        // Anonymous visitors see public rooms only.
        assert_eq!(
            admit(&r, None, None),
            Err(Refusal::Private { approval: false })
        );
        assert!(admit(&room(true), None, None).is_ok());
    }

    #[test]
    fn bans_archives_and_slots() {
        let mut r = room(true);
        let u = caller(UserId::new_account(), &[Access::User]);
        let mut m = member(&r, &u);
        assert!(admit(&r, Some(&m), Some(&u)).unwrap().needs_slot);
        m.is_active = true;
        assert!(!admit(&r, Some(&m), Some(&u)).unwrap().needs_slot);
        m.banned = true;
        assert_eq!(admit(&r, Some(&m), Some(&u)), Err(Refusal::Banned));
        // A banned moderator moderates nothing.
        m.role = MemberRole::Moderator;
        assert_eq!(role(&r, Some(&m), Some(&u)), RoomRole::Participant);
        m.banned = false;
        assert_eq!(role(&r, Some(&m), Some(&u)), RoomRole::Moderator);
        r.is_active = false;
        assert_eq!(admit(&r, None, Some(&u)), Err(Refusal::Archived));
    }
}
