//! `bedrud import`: Bedrud databases built from the reference DDL (SQLite, and PostgreSQL on a
//! throwaway cluster), imported into the embedded store and into DynamoDB (moto), then used
//! through HTTP by the running binary: old passwords sign in (and are upgraded), bans and
//! moderators hold, archived rooms are archived, settings and invites apply.

use std::path::{Path, PathBuf};
use std::process::Command;

use bedrud_tests::postgres::Postgres;
use bedrud_tests::scenarios::sign_in as login;
use bedrud_tests::{Api, jwt_claims};
use serde_json::json;

use bedrud_shared::blobs::s3::S3BlobStore;
use bedrud_shared::blobs::{BlobKey, BlobStore};
use bedrud_shared::store::dynamodb::DynamoStore;

use crate::run_binary::start;

const PASSWORD: &str = "correct horse battery";
const ALICE: &str = "88e260bd-9d8c-459c-83c8-13a3f368bf2b";
const BOB: &str = "f9f158f2-caaa-4e6d-8da8-99f3b62637b1";
const ROOM: &str = "baa24ef7-71a9-465a-93fe-86a8e74c0ab0";
const PASSKEY_ID: &str = "4698d3699acd5321b3dfb8946c100cd8";
const PASSKEY_KEY: &str = "3059301306072a8648ce3d020106082a8648ce3d030107034200042f8fc49fa7f1343118bd4e090a87cb92379ea42dc83d3302bea8f0b78474d15f68e918eca112af5dab18e08bac5c5bfe454cad64c539ca04212d384885b0a791";

fn fixture(name: &str) -> String {
    std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/it/bedrud")
            .join(name),
    )
    .unwrap()
}

/// The rows, with the passkey's bytes in the dialect's literal.
fn data(blob: impl Fn(&str) -> String) -> String {
    fixture("data.sql")
        .replace("'PASSKEY_ID'", &blob(PASSKEY_ID))
        .replace("'PASSKEY_KEY'", &blob(PASSKEY_KEY))
}

/// A newer Bedrud's SQLite file: its columns for verification and archiving set too.
fn sqlite_bedrud(dir: &Path) -> PathBuf {
    let path = dir.join("bedrud-old.db");
    let c = rusqlite::Connection::open(&path).unwrap();
    c.execute_batch(&fixture("sqlite.sql")).unwrap();
    c.execute_batch(&data(|hex| format!("X'{hex}'"))).unwrap();
    c.execute_batch(
        "UPDATE rooms SET deleted_at = '2026-04-11 09:00:00+00:00', settings_is_persistent = 1 \
           WHERE name = 'old-standup';
         UPDATE users SET email_verified_at = '2026-05-01 09:31:02.5+00:00' WHERE email = 'alice@example.com';
         INSERT INTO blocked_refresh_tokens VALUES ('r1','x','f9f158f2-caaa-4e6d-8da8-99f3b62637b1',
           '2026-05-08 00:00:00+00:00','2026-05-01 00:00:00+00:00');
         INSERT INTO invite_tokens (id,token,email,created_by,expires_at,used_at,used_by,created_at)
           VALUES ('44444444-5555-4666-8777-888888888888','00112233445566778899aabbccddeeff',NULL,
           '88e260bd-9d8c-459c-83c8-13a3f368bf2b','next tuesday',NULL,'','2026-05-01 11:00:00+00:00');
         INSERT INTO recordings VALUES
          ('9a0b1c2d-3e4f-4a5b-8c6d-7e8f9a0b1c2d','baa24ef7-71a9-465a-93fe-86a8e74c0ab0','abc-defg-hij',
           'EG_done','DISK_URL',11,'composite',61000,'completed','',
           '88e260bd-9d8c-459c-83c8-13a3f368bf2b','2026-05-01 10:00:00+00:00','2026-05-01 10:01:01+00:00',
           '2026-05-01 09:59:59+00:00','2026-05-01 10:01:01+00:00'),
          ('ab0c1d2e-3f4a-4b5c-8d6e-7f8a9b0c1d2e','baa24ef7-71a9-465a-93fe-86a8e74c0ab0','abc-defg-hij',
           'EG_failed','',0,'composite',0,'failed','egress ran out of disk',
           '88e260bd-9d8c-459c-83c8-13a3f368bf2b','2026-05-01 11:00:00+00:00',NULL,
           '2026-05-01 10:59:59+00:00','2026-05-01 11:00:30+00:00'),
          ('bc0d1e2f-3a4b-4c5d-8e6f-7a8b9c0d1e2f','baa24ef7-71a9-465a-93fe-86a8e74c0ab0','abc-defg-hij',
           'EG_live','',0,'composite',0,'started','',
           '88e260bd-9d8c-459c-83c8-13a3f368bf2b','2026-05-01 12:00:00+00:00',NULL,
           '2026-05-01 11:59:59+00:00','2026-05-01 12:00:00+00:00');"
            .replace("DISK_URL", &format!("/recordings/{RECORDED_KEY}"))
            .as_str(),
    )
    .unwrap();
    // Bedrud's `recording.storageDir`, the file where Bedrud's processing job put it.
    let file = dir.join("bedrud-recordings").join(RECORDED_KEY);
    std::fs::create_dir_all(file.parent().unwrap()).unwrap();
    std::fs::write(file, RECORDED).unwrap();
    path
}

/// The bytes of the fixture's completed recording.
const RECORDED: &[u8] = b"not-a-video";
const RECORDING: &str = "9a0b1c2d-3e4f-4a5b-8c6d-7e8f9a0b1c2d";
/// Its key in Bedrud's recording store (`recordings/<createdBy>/<roomId>/<id>-<start>-<end>.mp4`);
/// its `file_url` is this key behind `/recordings/` (disk) or the bucket's URL (S3).
const RECORDED_KEY: &str = "recordings/88e260bd-9d8c-459c-83c8-13a3f368bf2b/baa24ef7-71a9-465a-93fe-86a8e74c0ab0/9a0b1c2d-3e4f-4a5b-8c6d-7e8f9a0b1c2d-20260501T100000Z-20260501T100101Z.mp4";
/// Dave signed up with GitHub in the older Bedrud: his account id is GitHub's user id.
const DAVE: &str = "583231";

struct Imported {
    code: Option<i32>,
    out: String,
    err: String,
}

impl Imported {
    /// The report's numbers for one kind: written, unchanged, conflicts, skipped.
    fn counts(&self, kind: &str) -> [usize; 4] {
        let line = self
            .out
            .lines()
            .find(|l| l.starts_with(kind) && l[kind.len()..].starts_with("  "))
            .unwrap_or_else(|| panic!("no {kind} line in:\n{}", self.out));
        let n: Vec<usize> = line[kind.len()..]
            .split_whitespace()
            .map(|x| x.parse().unwrap())
            .collect();
        [n[0], n[1], n[2], n[3]]
    }

    fn says(&self, text: &str) -> bool {
        self.out.contains(text)
    }
}

fn import(dir: &Path, from: &str, args: &[&str], env: &[(&str, &str)]) -> Imported {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_bedrud"));
    cmd.current_dir(dir)
        .env_remove("CONFIG_PATH")
        .args(["import", "--from", from])
        .args(args);
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().unwrap();
    Imported {
        code: out.status.code(),
        out: String::from_utf8_lossy(&out.stdout).into_owned(),
        err: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

async fn access(api: &Api, email: &str) -> String {
    let r = login(api, email, PASSWORD).await.expect(200);
    r.body["tokens"]["accessToken"]
        .as_str()
        .unwrap()
        .to_string()
}

/// What both targets must show after importing the fixture: old passwords work, bans and
/// moderators hold, the archived room is archived, settings and invites apply.
async fn imported_installation_works(api: &Api) {
    let alice = access(api, "alice@example.com").await;
    let me = api.get("/api/auth/me", Some(&alice)).await.expect(200);
    assert_eq!(me.body["id"], ALICE, "{}", me.body);
    let bob = access(api, "bob@example.com").await;
    let carol = access(api, "carol@example.com").await;
    // Dave signed in with GitHub: his account (and provider id) is there, with no password.
    login(api, "dave@example.com", PASSWORD).await.expect(401);

    let join = json!({"roomName": "abc-defg-hij"});
    let r = api.post("/api/room/join", Some(&bob), &join).await;
    assert_eq!(r.expect(403).error(), "you are banned from this room");
    let joined = api
        .post("/api/room/join", Some(&carol), &join)
        .await
        .expect(200);
    assert_eq!(joined.body["role"], "moderator", "{}", joined.body);
    let claims = jwt_claims(joined.body["token"].as_str().unwrap());
    assert!(
        claims["metadata"]
            .as_str()
            .unwrap()
            .contains(r#""role":"moderator""#),
        "{claims}"
    );
    let host = api
        .post("/api/room/join", Some(&alice), &join)
        .await
        .expect(200);
    assert_eq!(host.body["id"], ROOM, "{}", host.body);
    assert_eq!(host.body["mode"], "webinar", "{}", host.body);
    assert_eq!(host.body["settings"]["allowChat"], false, "{}", host.body);
    // Bob's old room was archived in Bedrud.
    let old = json!({"roomName": "old-standup"});
    let r = api
        .post("/api/room/join", Some(&bob), &old)
        .await
        .expect(200);
    assert_eq!(r.body["status"], "archived_owned", "{}", r.body);

    let s = api.get("/api/auth/settings", None).await.expect(200);
    assert_eq!(
        (
            &s.body["serverName"],
            &s.body["tokenRegistrationOnly"],
            &s.body["guestLoginEnabled"]
        ),
        (&json!("Example Meet"), &json!(true), &json!(false)),
        "{}",
        s.body
    );
    let eve = json!({"email": "eve@example.com", "password": PASSWORD, "name": "Eve"});
    api.post("/api/auth/register", None, &eve).await.expect(403);
    let mut with_invite = eve.clone();
    with_invite["inviteToken"] = json!("Zm9vYmFyYmF6cXV4Zm9vYmFyYmF6cXV4Zm9vYmFyYmF");
    api.post("/api/auth/register", None, &with_invite)
        .await
        .expect(200);
}

#[tokio::test]
async fn sqlite_bedrud_into_the_embedded_store_then_used_over_http() {
    let dir = tempfile::tempdir().unwrap();
    let src = sqlite_bedrud(dir.path());
    let before = std::fs::read(&src).unwrap();
    let from = format!("sqlite:{}", src.display());

    let files = dir.path().join("bedrud-recordings");
    let with_files = ["--recordings-dir", files.to_str().unwrap()];
    let first = import(dir.path(), &from, &with_files, &[]);
    assert_eq!(
        first.code,
        Some(1),
        "rows were skipped: {}{}",
        first.out,
        first.err
    );
    assert_eq!(first.counts("recordings"), [2, 0, 0, 0], "{}", first.out);
    assert_eq!(first.counts("users"), [4, 0, 0, 2], "{}", first.out);
    assert_eq!(first.counts("preferences"), [1, 0, 0, 0]);
    assert_eq!(first.counts("rooms"), [2, 0, 0, 2]);
    assert_eq!(first.counts("room members"), [4, 0, 0, 0]);
    assert_eq!(first.counts("invite tokens"), [2, 0, 0, 1]);
    assert_eq!(first.counts("passkeys"), [1, 0, 0, 0]);
    assert_eq!(first.counts("provider ids"), [1, 0, 0, 0]);
    for why in [
        "skipped user a1b2c3d4-e5f6-4a7b-8c9d-0e1f2a3b4c5d: e-mail bob@example.com (google) is also account f9f158f2",
        "skipped user b2c3d4e5-f6a7-4b8c-9d0e-1f2a3b4c5d6e: invalid e-mail \"not-an-email\"",
        "skipped room d1d2d3d4-1111-4222-8333-444455556666: name \"Bad_Room!\" is refused here",
        "skipped room e1e2e3e4-1111-4222-8333-444455556666: its owner",
        "skipped invite 44444444-5555-4666-8777-888888888888: expires_at: not a timestamp: \"next tuesday\" (correct the row in Bedrud, then run again)",
        "not carried: 1 revoked sessions",
        "not carried: 1 plain room memberships",
        "not carried: 1 used or expired invite tokens",
        "not carried: 1 guest accounts",
        "not carried: 1 recordings still in progress",
    ] {
        assert!(first.says(why), "{why:?} in:\n{}", first.out);
    }
    assert_eq!(
        std::fs::read(&src).unwrap(),
        before,
        "the Bedrud file is only read"
    );

    // Idempotent: the second run finds everything in place.
    let again = import(dir.path(), &from, &with_files, &[]);
    assert!(again.says("nothing to write"), "{}", again.out);
    for kind in [
        "users",
        "preferences",
        "rooms",
        "room members",
        "invite tokens",
        "settings",
        "recordings",
        "passkeys",
        "provider ids",
    ] {
        assert_eq!(again.counts(kind)[0], 0, "{kind}: {}", again.out);
        assert_eq!(again.counts(kind)[2], 0, "{kind}: {}", again.out);
    }

    let running = start(dir.path(), &[("RATELIMIT_AUTH_MAX", "0")]);
    let api = Api::new(&running.url);
    imported_installation_works(&api).await;
    let alice = access(&api, "alice@example.com").await;
    let prefs = api
        .get("/api/auth/preferences", Some(&alice))
        .await
        .expect(200);
    assert!(
        prefs.body.to_string().contains("noiseSuppression"),
        "{}",
        prefs.body
    );
    let list = api
        .get(&format!("/api/rooms/{ROOM}/recordings"), Some(&alice))
        .await
        .expect(200);
    let listed = list.body.to_string();
    assert!(
        listed.contains(RECORDING) && listed.contains("egress ran out of disk"),
        "{listed}"
    );
    let one = api
        .get(
            &format!("/api/rooms/{ROOM}/recordings/{RECORDING}"),
            Some(&alice),
        )
        .await
        .expect(200);
    assert_eq!(one.body["status"], "completed", "{}", one.body);
    let url = one.body["downloadUrl"]
        .as_str()
        .expect("downloadUrl")
        .to_string();
    let got = reqwest::Client::new()
        .get(format!("{}{url}", running.url))
        .bearer_auth(&alice)
        .send()
        .await
        .unwrap();
    assert_eq!(got.status(), 200);
    assert_eq!(&got.bytes().await.unwrap()[..], RECORDED);
    running.terminate();

    // The first sign-in replaced the bcrypt hashes with argon2id.
    let db = rusqlite::Connection::open(dir.path().join("data/bedrud.db")).unwrap();
    let hash: String = db
        .query_row(
            "SELECT password_hash FROM users WHERE id = ?1",
            [BOB],
            |r| r.get(0),
        )
        .unwrap();
    assert!(hash.starts_with("$argon2id$"), "{hash}");
    let provider: (String, String) = db
        .query_row(
            "SELECT id, provider FROM users WHERE email = 'dave@example.com'",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    assert_eq!(provider, (DAVE.into(), "github".into()));
    // His GitHub identity is linked: signing in with GitHub finds his account by its id.
    let linked: String = db
        .query_row(
            "SELECT user_id FROM account_links WHERE link = 'github#583231'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(linked, DAVE);
    drop(db);
    let store = bedrud_shared::store::sqlite::SqliteStore::open(&dir.path().join("data/bedrud.db"))
        .unwrap();
    dave_keeps_his_restrictions(&store).await;
}

/// Dave was muted and his chat blocked in the room: he rejoins that way.
async fn dave_keeps_his_restrictions(rooms: &dyn bedrud_shared::store::RoomStore) {
    use bedrud_shared::domain::{MemberRole, RoomId, Source, UserId};
    let room = rooms
        .room(&RoomId::parse(ROOM).unwrap())
        .await
        .unwrap()
        .unwrap();
    let dave = rooms
        .member(&room, &UserId::parse(DAVE).unwrap())
        .await
        .unwrap()
        .expect("Dave's record in the room");
    let r = &dave.restrictions;
    assert!(r.chat_blocked && r.denies(Source::Microphone), "{r:?}");
    assert!(!r.denies(Source::Camera), "{r:?}");
    assert!(
        !dave.banned && dave.role != MemberRole::Moderator,
        "{dave:?}"
    );
}

#[tokio::test]
async fn dry_run_conflicts_overwrite_and_refusals() {
    let dir = tempfile::tempdir().unwrap();
    let src = sqlite_bedrud(dir.path());
    let from = format!("sqlite:{}", src.display());

    // Not a Bedrud database, or none: a clear error, nothing written anywhere.
    let other = dir.path().join("other.db");
    rusqlite::Connection::open(&other)
        .unwrap()
        .execute_batch("CREATE TABLE notes (id integer)")
        .unwrap();
    let r = import(dir.path(), &format!("sqlite:{}", other.display()), &[], &[]);
    assert_eq!(r.code, Some(2));
    assert!(r.err.contains("not a Bedrud database"), "{}", r.err);
    let r = import(dir.path(), "sqlite:/nonexistent/bedrud.db", &[], &[]);
    assert_eq!(r.code, Some(2));
    assert!(r.err.contains("no such file"), "{}", r.err);
    let r = import(dir.path(), "mysql://localhost/bedrud", &[], &[]);
    assert_eq!(r.code, Some(2), "{}", r.err);
    assert!(!dir.path().join("data").exists(), "nothing was created");

    // A dry run says what it would write and writes none of it.
    let dry = import(dir.path(), &from, &["--dry-run"], &[]);
    assert!(dry.says("dry run: nothing was written"), "{}", dry.out);
    assert!(
        dry.says("skipped recording 9a0b1c2d-3e4f-4a5b-8c6d-7e8f9a0b1c2d: its file is not copied without --recordings-dir or --recordings-bucket"),
        "{}",
        dry.out
    );
    assert_eq!(dry.counts("users"), [4, 0, 0, 2]);
    let empty = dir.path().join("empty");
    std::fs::create_dir(&empty).unwrap();
    let elsewhere = ["--dry-run", "--recordings-dir", empty.to_str().unwrap()];
    let r = import(dir.path(), &from, &elsewhere, &[]);
    assert!(
        r.says(&format!(
            "skipped recording {RECORDING}: file \"/recordings/{RECORDED_KEY}\" not found in {}",
            empty.display()
        )),
        "{}",
        r.out
    );
    let db = dir.path().join("data/bedrud.db");
    let users: i64 = rusqlite::Connection::open(&db)
        .unwrap()
        .query_row("SELECT count(*) FROM users", [], |r| r.get(0))
        .unwrap();
    assert_eq!(users, 0);

    // Someone already uses Bob's address and the room's name here.
    let running = start(dir.path(), &[("RATELIMIT_AUTH_MAX", "0")]);
    let api = Api::new(&running.url);
    let body =
        json!({"email": "bob@example.com", "password": "another password 1", "name": "Bob Here"});
    api.post("/api/auth/register", None, &body)
        .await
        .expect(200);
    let token = access_with(&api, "bob@example.com", "another password 1").await;
    api.post(
        "/api/room/create",
        Some(&token),
        &json!({"name": "abc-defg-hij"}),
    )
    .await
    .expect(200);
    running.terminate();

    let clash = import(dir.path(), &from, &[], &[]);
    assert_eq!(clash.code, Some(1));
    assert_eq!(clash.counts("users"), [3, 0, 1, 2], "{}", clash.out);
    assert_eq!(clash.counts("rooms")[..3], [1, 0, 1], "{}", clash.out);
    assert!(
        clash.says(&format!(
            "conflict user {BOB}: e-mail bob@example.com belongs to account"
        )),
        "{}",
        clash.out
    );
    assert!(
        clash.says(&format!(
            "conflict room {ROOM}: an active room named abc-defg-hij exists here"
        )),
        "{}",
        clash.out
    );

    // --overwrite: Bedrud's records win.
    let won = import(dir.path(), &from, &["--overwrite"], &[]);
    assert_eq!(won.counts("users")[..3], [1, 3, 0], "{}", won.out);
    assert_eq!(won.counts("rooms")[..3], [1, 1, 0], "{}", won.out);
    let running = start(dir.path(), &[("RATELIMIT_AUTH_MAX", "0")]);
    let api = Api::new(&running.url);
    login(&api, "bob@example.com", "another password 1")
        .await
        .expect(401);
    let bob = access(&api, "bob@example.com").await;
    let join = json!({"roomName": "abc-defg-hij"});
    api.post("/api/room/join", Some(&bob), &join)
        .await
        .expect(403);
    running.terminate();
}

async fn access_with(api: &Api, email: &str, password: &str) -> String {
    let r = login(api, email, password).await.expect(200);
    r.body["tokens"]["accessToken"]
        .as_str()
        .unwrap()
        .to_string()
}

#[tokio::test]
async fn postgres_bedrud_into_dynamodb_then_used_over_http() {
    assert!(
        std::env::var_os("AWS_ENDPOINT_URL").is_some(),
        "needs the emulator the test command starts (bash .ci/test)"
    );
    let pg = Postgres::start();
    pg.psql("postgres", "CREATE DATABASE bedrud");
    pg.psql("bedrud", &fixture("postgres.sql"));
    pg.psql("bedrud", &data(|hex| format!("'\\x{hex}'::bytea")));
    pg.psql(
        "bedrud",
        "UPDATE system_settings SET google_client_id = 'id.apps.example'",
    );

    let dir = tempfile::tempdir().unwrap();
    let table = aws_init(&[]);
    let env = [("TABLE_NAME", table.as_str()), ("RATELIMIT_AUTH_MAX", "0")];

    // Recording files with no recordings bucket to put them in: refused before anything is
    // written (the run below still writes every account).
    let here = ["--recordings-dir", dir.path().to_str().unwrap()];
    let r = import(dir.path(), &pg.url("bedrud"), &here, &env);
    assert_eq!(r.code, Some(2), "{}{}", r.out, r.err);
    assert!(r.err.contains("name the recordings bucket"), "{}", r.err);
    let nowhere = ["--recordings-dir", "/nonexistent"];
    let r = import(dir.path(), &pg.url("bedrud"), &nowhere, &env);
    assert_eq!(r.code, Some(2), "{}{}", r.out, r.err);
    assert!(
        r.err.contains("/nonexistent: no such directory"),
        "{}",
        r.err
    );

    let first = import(dir.path(), &pg.url("bedrud"), &[], &env);
    assert_eq!(first.code, Some(1), "{}{}", first.out, first.err);
    assert_eq!(first.counts("users"), [4, 0, 0, 2], "{}", first.out);
    assert_eq!(first.counts("rooms"), [2, 0, 0, 2], "{}", first.out);
    assert_eq!(first.counts("room members"), [4, 0, 0, 0], "{}", first.out);
    assert_eq!(first.counts("invite tokens"), [2, 0, 0, 0], "{}", first.out);
    assert!(
        first.says("settings that are configuration here"),
        "{}",
        first.out
    );
    let again = import(dir.path(), &pg.url("bedrud"), &[], &env);
    assert!(again.says("nothing to write"), "{}", again.out);

    let running = start(dir.path(), &env);
    let api = Api::new(&running.url);
    imported_installation_works(&api).await;
    running.terminate();

    // The sign-ins replaced Bedrud's bcrypt hashes with argon2id in the table too.
    use bedrud_shared::domain::UserId;
    use bedrud_shared::store::UserStore;
    let store = DynamoStore::new(DynamoStore::client_from_env().unwrap(), &table);
    for id in [ALICE, BOB] {
        let user = store
            .user_by_id(&UserId::parse(id).unwrap())
            .await
            .unwrap()
            .unwrap();
        let hash = user.password_hash.unwrap();
        assert!(hash.starts_with("$argon2id$"), "{id}: {hash}");
    }
    dave_keeps_his_restrictions(&store).await;
}

/// A fresh table made by `bedrud aws-init` (with `extra`, e.g. a bucket), named.
fn aws_init(extra: &[&str]) -> String {
    let table = bedrud_tests::unique("bedrud-import");
    let init = Command::new(env!("CARGO_BIN_EXE_bedrud"))
        .args(["aws-init", "--table", &table])
        .args(extra)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&init.stderr);
    assert!(init.status.success(), "{err}");
    table
}

/// A bucket of Bedrud's holding the fixture's recording at Bedrud's key, and the Bedrud
/// database at `src` pointing at it: the recording's S3 URL, and Bedrud's S3 settings with its
/// own key pair.
async fn bedrud_bucket(src: &Path, tag: &str) -> (String, S3BlobStore) {
    let endpoint = std::env::var("AWS_ENDPOINT_URL")
        .expect("needs the emulator the test command starts (bash .ci/test)");
    let client = S3BlobStore::client_from_env().unwrap();
    let bucket = bedrud_tests::unique(tag);
    S3BlobStore::create_bucket(&client, &bucket).await.unwrap();
    let files = S3BlobStore::new(client, &bucket);
    let key = BlobKey::parse(RECORDED_KEY).unwrap();
    files
        .put(&key, Box::pin(RECORDED), "video/mp4")
        .await
        .unwrap();
    let db = rusqlite::Connection::open(src).unwrap();
    db.execute(
        "UPDATE recordings SET file_url = ?1 WHERE id = ?2",
        [
            format!("{endpoint}/{bucket}/{RECORDED_KEY}"),
            RECORDING.into(),
        ],
    )
    .unwrap();
    db.execute(
        "UPDATE system_settings SET chat_upload_s3_endpoint = ?1, chat_upload_s3_bucket = ?2,
           chat_upload_s3_region = 'us-east-1', chat_upload_s3_access_key = 'bedrud-key',
           chat_upload_s3_secret_key = 'bedrud-secret'",
        [endpoint.as_str(), bucket.as_str()],
    )
    .unwrap();
    (bucket, files)
}

/// The fixture's completed recording as the import left it in `table`.
async fn imported_recording(table: &str) -> bedrud_shared::domain::Recording {
    use bedrud_shared::domain::{RecordingId, RoomId};
    use bedrud_shared::store::RecordingStore;
    let store = DynamoStore::new(DynamoStore::client_from_env().unwrap(), table);
    store
        .recording(
            &RoomId::parse(ROOM).unwrap(),
            &RecordingId::parse(RECORDING).unwrap(),
        )
        .await
        .unwrap()
        .expect("the completed recording")
}

async fn bytes_at(files: &S3BlobStore, key: &str) -> Option<Vec<u8>> {
    use tokio::io::AsyncReadExt;
    let mut body = files.get(&BlobKey::parse(key).unwrap()).await.unwrap()?;
    let mut bytes = Vec::new();
    body.read_to_end(&mut bytes).await.unwrap();
    Some(bytes)
}

/// A newer Bedrud that kept its recordings in S3 (its chat-upload S3 settings), moving to the
/// AWS shape: accounts and rooms into DynamoDB, the recording's file from Bedrud's bucket into
/// the recordings bucket, read with the endpoint and key pair Bedrud's settings name. Then one
/// moving onto the bucket it already used: the recording refers to its file where it is.
#[tokio::test]
async fn recordings_from_bedruds_bucket_into_the_recordings_bucket() {
    use bedrud_shared::domain::{Provider, ProviderAccount};
    use bedrud_shared::store::LinkStore;

    let dir = tempfile::tempdir().unwrap();
    let src = sqlite_bedrud(dir.path());
    let from = format!("sqlite:{}", src.display());
    let (theirs, _) = bedrud_bucket(&src, "bedrud-old").await;
    let ours = bedrud_tests::unique("bedrud-recordings");
    let table = aws_init(&["--bucket", &ours]);
    let env = [
        ("TABLE_NAME", table.as_str()),
        ("BUCKET_NAME", ours.as_str()),
    ];
    let args = ["--recordings-bucket", theirs.as_str()];
    let first = import(dir.path(), &from, &args, &env);
    assert_eq!(first.code, Some(1), "{}{}", first.out, first.err);
    assert_eq!(first.counts("recordings"), [2, 0, 0, 0], "{}", first.out);
    assert_eq!(first.counts("provider ids"), [1, 0, 0, 0], "{}", first.out);
    let again = import(dir.path(), &from, &args, &env);
    assert!(again.says("nothing to write"), "{}", again.out);

    let rec = imported_recording(&table).await;
    let copied = rec.key.expect("its file is in the recordings bucket");
    assert_eq!(copied, format!("recordings/{ROOM}/{RECORDING}.mp4"));
    let target = S3BlobStore::new(S3BlobStore::client_from_env().unwrap(), &ours);
    assert_eq!(bytes_at(&target, &copied).await.as_deref(), Some(RECORDED));
    assert_eq!(rec.size, Some(RECORDED.len() as i64));
    let github = ProviderAccount {
        provider: Provider::Github,
        subject: DAVE.into(),
    };
    let store = DynamoStore::new(DynamoStore::client_from_env().unwrap(), &table);
    let dave = store.user_by_link(&github).await.unwrap().expect("linked");
    assert_eq!(dave.id.as_str(), DAVE);

    // Bedrud's bucket is the recordings bucket here: referred to, no copy made.
    let (shared, files) = bedrud_bucket(&src, "bedrud-shared").await;
    let table = aws_init(&[]);
    let env = [
        ("TABLE_NAME", table.as_str()),
        ("BUCKET_NAME", shared.as_str()),
    ];
    let args = ["--recordings-bucket", shared.as_str()];
    let r = import(dir.path(), &from, &args, &env);
    assert_eq!(r.counts("recordings"), [2, 0, 0, 0], "{}", r.out);
    let stays = "recording files stay where Bedrud put them";
    assert!(r.says(stays), "{}", r.out);
    let rec = imported_recording(&table).await;
    assert_eq!(rec.key.as_deref(), Some(RECORDED_KEY));
    assert_eq!(bytes_at(&files, &copied).await, None, "no copy");
}
