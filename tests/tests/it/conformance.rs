//! The store conformance suite on every adapter. DynamoDB runs against the emulator the test
//! command starts (moto server; `AWS_ENDPOINT_URL`); without it these tests fail, never skip.

use std::any::Any;

use bedrud_shared::store::Stores;
use bedrud_shared::store::sqlite::SqliteStore;
use bedrud_tests::conformance as c;

type Guard = Box<dyn Any + Send>;

async fn sqlite() -> (Stores, Guard) {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(&dir.path().join("bedrud.db")).unwrap();
    (Stores::from_adapter(store), Box::new(dir))
}

/// A fresh table per test, so tests run in parallel on one emulator.
async fn dynamodb() -> (Stores, Guard) {
    (
        Stores::from_adapter(bedrud_tests::fresh_dynamo_table().await),
        Box::new(()),
    )
}

macro_rules! suite {
    ($backend:ident: $($case:ident),+ $(,)?) => {
        mod $backend {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn $case() {
                    let (stores, _guard) = super::$backend().await;
                    super::c::$case(&stores).await;
                }
            )+
        }
    };
}

macro_rules! all_cases {
    ($backend:ident) => {
        suite!($backend:
            users_round_trip,
            unique_email_under_concurrency,
            duplicate_id_is_atomic,
            profile_updates_move_the_email_claim,
            password_and_preferences,
            rotation_is_compare_and_swap,
            revoking_a_users_other_sessions,
            counters_are_atomic,
            health_answers,
            rooms_round_trip,
            unique_active_name_under_concurrency,
            owner_room_limit_under_concurrency,
            capacity_under_concurrency,
            member_changes_persist,
            moderation_merges_and_admission_is_explicit,
            room_updates_are_partial,
            owned_rooms_paginate,
            presence_reports_are_guarded,
            webhook_events_are_claimed_once,
            seats_and_records_are_one_step,
            reconciler_converges_on_livekits_view,
            recordings_move_forward_once,
            all_rooms_paginate_and_filter,
            the_last_admin_stays_and_users_list,
            settings_are_compare_and_set,
            invites_are_used_once,
            account_links_act_once,
            provider_identities_link_once,
            passkeys_and_ceremonies_are_store_enforced,
            pending_signups_are_swept_only_while_pending,
            imported_hashes_upgrade_once,
            archived_rooms_by_owner,
            tallies_are_exact_under_concurrency,
            admin_tables_agree,
            attendance_and_events_are_recorded_once,
            deleting_a_user_frees_its_email_and_counts,
        );
    };
}

all_cases!(sqlite);
all_cases!(dynamodb);

/// Every case the support library defines (`pub async fn name(s: &Stores)`) is in the list
/// above, so none is written and then silently never run.
#[test]
fn every_case_is_listed() {
    let list = include_str!("conformance.rs");
    let listed = &list[list.find("suite!($backend:").expect("the case list")..];
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut missing = Vec::new();
    for file in [
        "conformance.rs",
        "conformance_rooms.rs",
        "conformance_admin.rs",
        "reconcile.rs",
    ] {
        let text = std::fs::read_to_string(dir.join(file)).unwrap();
        for line in text.lines() {
            let Some(rest) = line.strip_prefix("pub async fn ") else {
                continue;
            };
            let (name, args) = rest.split_once('(').unwrap();
            if args.starts_with("s: &Stores)") && !listed.contains(&format!("{name},")) {
                missing.push(format!("{file}: {name}"));
            }
        }
    }
    assert!(missing.is_empty(), "cases not in all_cases!: {missing:?}");
}
