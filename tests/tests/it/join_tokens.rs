//! Join-token rights, table-driven: role × room switches × mode × moderation restrictions →
//! the exact grant set, every token verified by `livekit-api`'s verifier; and an interop
//! check with LiveKit's official Python SDK (installed by the test command).

use std::process::Command;

use bedrud_shared::domain::policy::{RoomRole, rights};
use bedrud_shared::domain::{
    DisplayName, Restrictions, Room, RoomMode, RoomName, RoomSettings, Source, UserId, now,
};
use bedrud_shared::livekit::JoinTokens;
use bedrud_tests::{TEST_LK_KEY, TEST_LK_SECRET};
use livekit_api::access_token::TokenVerifier;
use serde_json::Value;

const ALL: &[&str] = &["camera", "microphone", "screen_share", "screen_share_audio"];

struct Case {
    role: RoomRole,
    mode: RoomMode,
    /// (allowVideo, allowAudio, allowChat)
    switches: (bool, bool, bool),
    denied: &'static [Source],
    chat_blocked: bool,
    sources: &'static [&'static str],
    data: bool,
}

fn room(mode: RoomMode, (video, audio, chat): (bool, bool, bool)) -> Room {
    let mut r = Room::new(
        RoomName::parse("grants-room").unwrap(),
        UserId::new_account(),
        0,
    );
    r.mode = mode;
    r.settings = RoomSettings {
        allow_video: video,
        allow_audio: audio,
        allow_chat: chat,
        ..RoomSettings::default()
    };
    r
}

#[test]
fn rights_table_becomes_exact_grants() {
    use RoomMode::*;
    use RoomRole::*;
    use Source::*;
    const ON: (bool, bool, bool) = (true, true, true);
    let cases = [
        Case {
            role: Participant,
            mode: Standard,
            switches: ON,
            denied: &[],
            chat_blocked: false,
            sources: ALL,
            data: true,
        },
        Case {
            role: Owner,
            mode: Standard,
            switches: ON,
            denied: &[],
            chat_blocked: false,
            sources: ALL,
            data: true,
        },
        Case {
            role: Participant,
            mode: Standard,
            switches: (false, true, true),
            denied: &[],
            chat_blocked: false,
            sources: &["microphone"],
            data: true,
        },
        Case {
            role: Participant,
            mode: Standard,
            switches: (true, false, true),
            denied: &[],
            chat_blocked: false,
            sources: &["camera", "screen_share"],
            data: true,
        },
        Case {
            role: Participant,
            mode: Standard,
            switches: (false, false, false),
            denied: &[],
            chat_blocked: false,
            sources: &[],
            data: false,
        },
        Case {
            role: Owner,
            mode: Standard,
            switches: (false, true, false),
            denied: &[],
            chat_blocked: false,
            sources: &["microphone"],
            data: false,
        },
        Case {
            role: Participant,
            mode: Webinar,
            switches: ON,
            denied: &[],
            chat_blocked: false,
            sources: &[],
            data: true,
        },
        Case {
            role: Moderator,
            mode: Webinar,
            switches: ON,
            denied: &[],
            chat_blocked: false,
            sources: ALL,
            data: true,
        },
        Case {
            role: Owner,
            mode: Webinar,
            switches: ON,
            denied: &[],
            chat_blocked: false,
            sources: ALL,
            data: true,
        },
        Case {
            role: Participant,
            mode: Broadcast,
            switches: ON,
            denied: &[],
            chat_blocked: false,
            sources: &[],
            data: false,
        },
        Case {
            role: Moderator,
            mode: Broadcast,
            switches: ON,
            denied: &[],
            chat_blocked: false,
            sources: ALL,
            data: true,
        },
        Case {
            role: Participant,
            mode: Standard,
            switches: ON,
            denied: &[Microphone],
            chat_blocked: false,
            sources: &["camera", "screen_share", "screen_share_audio"],
            data: true,
        },
        Case {
            role: Participant,
            mode: Standard,
            switches: ON,
            denied: &[Camera, ScreenShare, ScreenShareAudio],
            chat_blocked: false,
            sources: &["microphone"],
            data: true,
        },
        Case {
            role: Participant,
            mode: Standard,
            switches: ON,
            denied: &[],
            chat_blocked: true,
            sources: ALL,
            data: false,
        },
        Case {
            role: Moderator,
            mode: Standard,
            switches: ON,
            denied: &Source::ALL,
            chat_blocked: true,
            sources: &[],
            data: false,
        },
        Case {
            role: Moderator,
            mode: Webinar,
            switches: (true, false, true),
            denied: &[Camera],
            chat_blocked: false,
            sources: &["screen_share"],
            data: true,
        },
    ];
    let tokens = JoinTokens::new(TEST_LK_KEY, TEST_LK_SECRET, 600, true);
    let verifier = TokenVerifier::with_api_key(TEST_LK_KEY, TEST_LK_SECRET);
    let who = UserId::new_account();
    let name = DisplayName::parse("Ann Lee", 50).unwrap();
    for (i, c) in cases.iter().enumerate() {
        let r = room(c.mode, c.switches);
        let mut restrictions = Restrictions::default();
        for d in c.denied {
            restrictions.deny(*d);
        }
        restrictions.chat_blocked = c.chat_blocked;
        let granted = rights(&r, c.role, &restrictions);
        let t = tokens.mint(&who, &name, &r, &granted, "{}", now()).unwrap();
        let claims = verifier
            .verify(&t.jwt)
            .unwrap_or_else(|e| panic!("case {i}: {e}"));
        let v = &claims.video;
        let label = format!("case {i} ({:?}, {:?}, {:?})", c.role, c.mode, c.switches);
        assert_eq!(v.can_publish_sources, c.sources, "{label}");
        assert_eq!(v.can_publish, Some(!c.sources.is_empty()), "{label}");
        assert_eq!(v.can_publish_data, Some(c.data), "{label}");
        assert_eq!(v.can_subscribe, Some(true), "{label}");
        assert_eq!(v.can_update_own_metadata, Some(true), "{label}");
        assert!(v.room_join && v.room == r.livekit_name(), "{label}");
        assert!(
            !(v.room_admin || v.room_create || v.room_list || v.room_record || v.hidden),
            "{label}"
        );
        assert_eq!(
            (claims.sub.as_str(), claims.iss.as_str()),
            (who.as_str(), TEST_LK_KEY)
        );
        assert_eq!(claims.exp as i64, t.expires_at);
    }
    // The self-metadata switch, and a wrong secret is refused by the verifier.
    let locked = JoinTokens::new(TEST_LK_KEY, TEST_LK_SECRET, 600, false);
    let r = room(RoomMode::Standard, ON);
    let granted = rights(&r, RoomRole::Participant, &Restrictions::default());
    let t = locked.mint(&who, &name, &r, &granted, "{}", now()).unwrap();
    assert_eq!(
        verifier
            .verify(&t.jwt)
            .unwrap()
            .video
            .can_update_own_metadata,
        Some(false)
    );
    let wrong = TokenVerifier::with_api_key(TEST_LK_KEY, "another-secret-another-secret-0123");
    assert!(wrong.verify(&t.jwt).is_err());
}

/// LiveKit's official Python SDK (`livekit-api` on PyPI) verifies a token we mint.
#[test]
fn official_python_sdk_verifies_our_join_token() {
    let python = std::env::var("BEDRUD_TEST_PYTHON").expect(
        "BEDRUD_TEST_PYTHON is not set: run the README's test command (bash .ci/test), \
         which installs LiveKit's Python SDK",
    );
    let tokens = JoinTokens::new(TEST_LK_KEY, TEST_LK_SECRET, 600, true);
    let r = room(RoomMode::Standard, (false, true, true));
    let who = UserId::new_guest();
    let name = DisplayName::parse("Zoë O'Brien", 50).unwrap();
    let granted = rights(&r, RoomRole::Participant, &Restrictions::default());
    let meta = r#"{"role":"participant","accesses":["guest"]}"#;
    let t = tokens.mint(&who, &name, &r, &granted, meta, now()).unwrap();
    let script = r#"
import dataclasses, json, sys
from livekit.api import TokenVerifier
c = TokenVerifier(sys.argv[1], sys.argv[2]).verify(sys.argv[3])
print(json.dumps({"identity": c.identity, "name": c.name, "metadata": c.metadata,
                  "video": dataclasses.asdict(c.video)}))
"#;
    let out = Command::new(&python)
        .args(["-c", script, TEST_LK_KEY, TEST_LK_SECRET, &t.jwt])
        .output()
        .expect("run the Python SDK");
    assert!(
        out.status.success(),
        "Python SDK refused the token: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["identity"], who.as_str());
    assert_eq!(v["name"], "Zoë O'Brien");
    assert_eq!(v["metadata"], meta);
    assert_eq!(v["video"]["room_join"], true);
    assert_eq!(v["video"]["room"], serde_json::json!(r.livekit_name()));
    assert_eq!(
        v["video"]["can_publish_sources"],
        serde_json::json!(["microphone"])
    );
    assert_eq!(v["video"]["can_publish_data"], true);
    assert_eq!(v["video"]["can_update_own_metadata"], true);
    assert!(v["video"]["room_admin"].is_null() || v["video"]["room_admin"] == false);
    // And a token signed with another secret is refused by the SDK.
    let forged = JoinTokens::new(TEST_LK_KEY, "another-secret-another-secret-0123", 600, true)
        .mint(&who, &name, &r, &granted, meta, now())
        .unwrap();
    let out = Command::new(&python)
        .args(["-c", script, TEST_LK_KEY, TEST_LK_SECRET, &forged.jwt])
        .output()
        .unwrap();
    assert!(!out.status.success(), "the SDK accepted a forged token");
}
