//! Records written by the first release, raw, on both stores: they are read with defaults for
//! every attribute or column added since, and joined, moderated, updated, refreshed and
//! archived (`conformance_rooms::oldest_shapes_work`). A deploy that adds an attribute must
//! never turn an old room into a 500.

use std::collections::HashMap;

use aws_sdk_dynamodb::types::AttributeValue;
use bedrud_shared::domain::{
    DisplayName, MemberRole, Room, RoomName, RoomSettings, SessionId, UserId, now,
};
use bedrud_shared::store::Stores;
use bedrud_shared::store::sqlite::SqliteStore;
use bedrud_tests::conformance_rooms::{Legacy, oldest_shapes_work};
use bedrud_tests::{fresh_dynamo_table, unique};

/// The room the fixtures write: private, chat off, the other switches it had then.
fn legacy_room() -> Room {
    let mut room = Room::new(
        RoomName::parse(&unique("legacy")).unwrap(),
        UserId::new_account(),
        now() - 86_400,
    );
    room.is_public = false;
    room.settings = RoomSettings {
        allow_chat: false,
        ..RoomSettings::default()
    };
    room
}

fn legacy() -> Legacy {
    Legacy {
        room: legacy_room(),
        member: UserId::new_account(),
        banned_moderator: UserId::new_account(),
        session: SessionId::new(),
    }
}

#[tokio::test]
async fn sqlite_rows_of_the_first_release() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bedrud.db");
    let f = legacy();
    {
        // The schema as the first release left it: migrations 1 to 3.
        let c = rusqlite::Connection::open(&path).unwrap();
        for sql in [
            include_str!("../../../shared/src/store/sqlite/migrations/0001_auth.sql"),
            include_str!("../../../shared/src/store/sqlite/migrations/0002_jobs.sql"),
            include_str!("../../../shared/src/store/sqlite/migrations/0003_rooms.sql"),
        ] {
            c.execute_batch(sql).unwrap();
        }
        c.pragma_update(None, "user_version", 3).unwrap();
        let t = now() - 86_400;
        for (id, email) in [
            (f.room.created_by.as_str(), "owner@example.com"),
            (f.member.as_str(), "member@example.com"),
            (f.banned_moderator.as_str(), "mod@example.com"),
        ] {
            c.execute(
                "INSERT INTO users (id, email, name, provider, accesses, is_active, \
                 password_hash, created_at, updated_at) \
                 VALUES (?1, ?2, 'Old Timer', 'local', '[\"user\"]', 1, NULL, ?3, ?3)",
                rusqlite::params![id, email, t],
            )
            .unwrap();
        }
        let r = &f.room;
        let st = &r.settings;
        c.execute(
            "INSERT INTO rooms (id, name, created_by, admin_id, is_active, is_public, \
             max_participants, mode, allow_chat, allow_video, allow_audio, require_approval, \
             e2ee, is_persistent, recordings_allowed, active_count, created_at, updated_at) \
             VALUES (?1, ?2, ?3, ?3, 1, 0, 0, 'standard', ?4, ?5, ?6, ?7, ?8, ?9, ?10, 0, ?11, ?11)",
            rusqlite::params![
                r.id.as_str(),
                r.name.as_str(),
                r.created_by.as_str(),
                st.allow_chat,
                st.allow_video,
                st.allow_audio,
                st.require_approval,
                st.e2ee,
                st.is_persistent,
                st.recordings_allowed,
                r.created_at
            ],
        )
        .unwrap();
        for (user, name, role, banned) in [
            (&f.member, "Old Member", "participant", 0),
            (&f.banned_moderator, "Old Mod", "moderator", 1),
        ] {
            c.execute(
                "INSERT INTO room_members (room_id, user_id, name, role, is_active, banned, \
                 denied, chat_blocked, joined_at) VALUES (?1, ?2, ?3, ?4, 0, ?5, '[]', 0, ?6)",
                rusqlite::params![r.id.as_str(), user.as_str(), name, role, banned, t],
            )
            .unwrap();
        }
        c.execute(
            "INSERT INTO sessions (id, user_id, generation, created_at, expires_at) \
             VALUES (?1, ?2, 0, ?3, ?4)",
            rusqlite::params![f.session.as_str(), f.member.as_str(), t, now() + 3600],
        )
        .unwrap();
    }
    // Opening brings the schema up to date around the old rows.
    let stores = Stores::from_adapter(SqliteStore::open(&path).unwrap());
    oldest_shapes_work(&stores, &f).await;
}

fn s(v: &str) -> AttributeValue {
    AttributeValue::S(v.into())
}

fn n(v: i64) -> AttributeValue {
    AttributeValue::N(v.to_string())
}

fn b(v: bool) -> AttributeValue {
    AttributeValue::Bool(v)
}

#[tokio::test]
async fn dynamodb_items_of_the_first_release() {
    let store = fresh_dynamo_table().await;
    let client = bedrud_shared::store::dynamodb::DynamoStore::client_from_env().unwrap();
    let table = store.table().to_string();
    let f = legacy();
    let r = &f.room;
    let t = now() - 86_400;
    let put = |item: HashMap<String, AttributeValue>| {
        let (client, table) = (client.clone(), table.clone());
        async move {
            client
                .put_item()
                .table_name(table)
                .set_item(Some(item))
                .send()
                .await
                .unwrap();
        }
    };
    let item = |pairs: Vec<(&str, AttributeValue)>| -> HashMap<String, AttributeValue> {
        pairs.into_iter().map(|(k, v)| (k.to_string(), v)).collect()
    };
    for (id, email) in [
        (&r.created_by, "owner@example.com"),
        (&f.member, "member@example.com"),
        (&f.banned_moderator, "mod@example.com"),
    ] {
        put(item(vec![
            ("pk", s(&format!("USER#{id}"))),
            ("sk", s("PROFILE")),
            ("id", s(id.as_str())),
            ("email", s(email)),
            ("name", s("Old Timer")),
            ("provider", s("local")),
            ("accesses", AttributeValue::L(vec![s("user")])),
            ("isActive", b(true)),
            ("createdAt", n(t)),
            ("updatedAt", n(t)),
        ]))
        .await;
    }
    // The room as first written: three switches (the others came later), no revision, no
    // meeting, no index attributes.
    let settings = HashMap::from([
        ("allowChat".to_string(), b(r.settings.allow_chat)),
        ("allowVideo".to_string(), b(r.settings.allow_video)),
        ("allowAudio".to_string(), b(r.settings.allow_audio)),
    ]);
    put(item(vec![
        ("pk", s(&format!("RNAME#{}", r.name))),
        ("sk", s("ROOM")),
        ("id", s(r.id.as_str())),
        ("name", s(r.name.as_str())),
        ("createdBy", s(r.created_by.as_str())),
        ("adminId", s(r.created_by.as_str())),
        ("isActive", b(true)),
        ("isPublic", b(false)),
        ("maxParticipants", n(0)),
        ("mode", s("standard")),
        ("settings", AttributeValue::M(settings)),
        ("activeCount", n(0)),
        ("createdAt", n(r.created_at)),
        ("updatedAt", n(r.created_at)),
    ]))
    .await;
    put(item(vec![
        ("pk", s(&format!("ROOM#{}", r.id))),
        ("sk", s("ROOM")),
        ("name", s(r.name.as_str())),
        ("isActive", b(true)),
    ]))
    .await;
    for (user, name, role, banned) in [
        (&f.member, "Old Member", MemberRole::Participant, false),
        (&f.banned_moderator, "Old Mod", MemberRole::Moderator, true),
    ] {
        put(item(vec![
            ("pk", s(&format!("RNAME#{}", r.name))),
            ("sk", s(&format!("MEMBER#{user}"))),
            ("roomId", s(r.id.as_str())),
            ("userId", s(user.as_str())),
            ("name", s(DisplayName::parse(name, 50).unwrap().as_str())),
            ("role", s(role.as_str())),
            ("isActive", b(false)),
            ("banned", b(banned)),
            ("denied", AttributeValue::L(vec![])),
            ("chatBlocked", b(false)),
            ("joinedAt", n(t)),
        ]))
        .await;
    }
    put(item(vec![
        ("pk", s(&format!("USER#{}", f.member))),
        ("sk", s(&format!("SESSION#{}", f.session.as_str()))),
        ("sessionId", s(f.session.as_str())),
        ("userId", s(f.member.as_str())),
        ("generation", n(0)),
        ("createdAt", n(t)),
        ("expiresAt", n(now() + 3600)),
        ("ttl", n(now() + 3600 + 86_400)),
    ]))
    .await;
    oldest_shapes_work(&Stores::from_adapter(store), &f).await;
}

/// Users and rooms written before tallies existed (indexed, no `tallied` mark, no tally
/// items) are adopted by the first read of the totals, exactly once however many readers
/// race, and a later change of an adopted room moves the totals by its difference only.
#[tokio::test]
async fn dynamodb_items_before_tallies_are_adopted_once() {
    use bedrud_shared::domain::{Metric, RoomPatch, Scope};
    use bedrud_tests::conformance::account;
    use bedrud_tests::conformance_rooms::room;
    let store = fresh_dynamo_table().await;
    let client = bedrud_shared::store::dynamodb::DynamoStore::client_from_env().unwrap();
    let table = store.table().to_string();
    let stores = Stores::from_adapter(store);
    let users = [
        account(&format!("{}@example.com", unique("pre"))),
        account(&format!("{}@example.com", unique("pre"))),
    ];
    for u in &users {
        stores.users.insert_user(u).await.unwrap();
    }
    let rooms = [
        room(&users[0].id, 0),
        room(&users[0].id, 0),
        room(&users[1].id, 0),
    ];
    for r in &rooms {
        stores.rooms.create_room(r, None).await.unwrap();
    }
    stores
        .rooms
        .archive_room(&rooms[2].id, now())
        .await
        .unwrap();
    // Back to the shape the release before tallies wrote.
    let keys = [
        (format!("USER#{}", users[0].id), "PROFILE".to_string()),
        (format!("USER#{}", users[1].id), "PROFILE".to_string()),
        (format!("RNAME#{}", rooms[0].name), "ROOM".to_string()),
        (format!("RNAME#{}", rooms[1].name), "ROOM".to_string()),
        (format!("ROOM#{}", rooms[2].id), "ROOM".to_string()),
    ];
    for (pk, sk) in &keys {
        client
            .update_item()
            .table_name(&table)
            .key("pk", s(pk))
            .key("sk", s(sk))
            .update_expression("REMOVE tallied, gsi4pk, gsi4sk")
            .condition_expression("attribute_exists(pk)")
            .send()
            .await
            .unwrap();
    }
    for scope in [Scope::all(), Scope::day(now())] {
        for shard in 0..8 {
            client
                .delete_item()
                .table_name(&table)
                .key("pk", s(&format!("TALLY#{}", scope.as_str())))
                .key("sk", s(&format!("S{shard}")))
                .send()
                .await
                .unwrap();
        }
    }
    let all = [Scope::all()];
    let reads =
        futures_util::future::join_all((0..3).map(|_| stores.admin().unwrap().tallies(&all))).await;
    for got in reads {
        let got = got.unwrap();
        assert_eq!(got.total(Metric::Users), 2);
        assert_eq!(got.total(Metric::Rooms), 3);
        assert_eq!(got.total(Metric::ActiveRooms), 2);
        assert_eq!(got.total(Metric::PublicRooms), 2);
    }
    assert_eq!(
        stores
            .admin()
            .unwrap()
            .stale_rooms(now() + 10)
            .await
            .unwrap(),
        2,
        "adopted into the activity index"
    );
    let private = RoomPatch {
        is_public: Some(false),
        ..Default::default()
    };
    stores
        .rooms
        .update_room(&rooms[0].id, &private, now())
        .await
        .unwrap();
    let got = stores.admin().unwrap().tallies(&all).await.unwrap();
    assert_eq!(
        (got.total(Metric::Rooms), got.total(Metric::PublicRooms)),
        (3, 1)
    );
}

/// Passkeys made before profiles listed them (the profile has no `passkeys` set): deleting
/// the account deletes them too, found by the owner index, and another account's stay.
#[tokio::test]
async fn dynamodb_passkeys_from_before_profiles_listed_them_go_with_the_account() {
    use bedrud_shared::domain::Passkey;
    use bedrud_tests::conformance::account;
    let store = fresh_dynamo_table().await;
    let client = bedrud_shared::store::dynamodb::DynamoStore::client_from_env().unwrap();
    let table = store.table().to_string();
    let stores = Stores::from_adapter(store);
    let passkeys = stores.passkeys().unwrap();
    let key = |user: &UserId, tag: &str| Passkey {
        id: unique(tag),
        user_id: user.clone(),
        credential_id: unique(tag).into_bytes(),
        public_key: vec![0x30, 0x59, 1, 2, 3],
        algorithm: -7,
        sign_count: 0,
        name: "Passkey".into(),
        created_at: now(),
        last_used_at: None,
    };
    let ann = account(&format!("{}@example.com", unique("ann")));
    let bob = account(&format!("{}@example.com", unique("bob")));
    for u in [&ann, &bob] {
        stores.users.insert_user(u).await.unwrap();
    }
    let (old, older, bobs) = (
        key(&ann.id, "old"),
        key(&ann.id, "older"),
        key(&bob.id, "b"),
    );
    for k in [&old, &older, &bobs] {
        assert!(passkeys.insert_passkey(k).await.unwrap());
    }
    // As the release before the listing left Ann's profile: no list at all.
    client
        .update_item()
        .table_name(&table)
        .key("pk", s(&format!("USER#{}", ann.id)))
        .key("sk", s("PROFILE"))
        .update_expression("REMOVE passkeys")
        .send()
        .await
        .unwrap();

    stores.admin().unwrap().delete_user(&ann.id).await.unwrap();
    for gone in [&old, &older] {
        let left = passkeys.passkey_by_credential(&gone.credential_id).await;
        assert!(left.unwrap().is_none(), "{} outlived its account", gone.id);
    }
    assert!(passkeys.user_passkeys(&ann.id).await.unwrap().is_empty());
    assert_eq!(passkeys.user_passkeys(&bob.id).await.unwrap(), vec![bobs]);
}
