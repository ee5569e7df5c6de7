//! Admin-console cases of the store conformance suite: an owner's archived rooms, the
//! maintained tallies and totals (exact under concurrency), the numbered admin lists, the
//! attendance history and the room events log.

use bedrud_shared::domain::{UserId, now};
use bedrud_shared::store::Stores;

use crate::conformance_rooms::room;

pub async fn archived_rooms_by_owner(s: &Stores) {
    let owner = UserId::new_account();
    let t = now();
    let mut archived = Vec::new();
    for i in 0..5 {
        let r = room(&owner, 0);
        s.rooms.create_room(&r, None).await.unwrap();
        s.rooms.archive_room(&r.id, t + i).await.unwrap();
        archived.push(r.id);
    }
    let active = room(&owner, 0);
    s.rooms.create_room(&active, None).await.unwrap();
    let theirs = room(&UserId::new_account(), 0);
    s.rooms.create_room(&theirs, None).await.unwrap();
    s.rooms.archive_room(&theirs.id, t).await.unwrap();

    archived.reverse();
    let first = s.rooms.archived_rooms(&owner, 0, 2).await.unwrap();
    assert_eq!(first.total, 5);
    let ids: Vec<_> = first.items.iter().map(|r| r.id.clone()).collect();
    assert_eq!(ids, archived[..2]);
    assert!(
        first
            .items
            .iter()
            .all(|r| !r.is_active && r.archived_at.is_some())
    );
    let last = s.rooms.archived_rooms(&owner, 4, 2).await.unwrap();
    assert_eq!(last.total, 5);
    assert_eq!(last.items.len(), 1);
    assert_eq!(last.items[0].id, archived[4]);
    let past = s.rooms.archived_rooms(&owner, 10, 2).await.unwrap();
    assert_eq!((past.total, past.items.len()), (5, 0));
    let nobody = s
        .rooms
        .archived_rooms(&UserId::new_account(), 0, 10)
        .await
        .unwrap();
    assert_eq!((nobody.total, nobody.items.len()), (0, 0));
}
