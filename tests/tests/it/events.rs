//! Every file in `events/` is an event its function takes, and invoking the function's handler
//! with it as it stands (placeholders and all, on a fresh store) gives the answer
//! `events/README.md` documents. Both ways: no fixture without a documented answer, no
//! documented fixture missing.

use std::collections::BTreeMap;

use aws_lambda_events::event::eventbridge::EventBridgeEvent;
use aws_lambda_events::event::sqs::SqsEvent;
use bedrud_shared::lambda;
use bedrud_shared::runtime::Counting;
use bedrud_tests::lambda_events::{event, invoke, router_of};
use bedrud_tests::livekit_double::LiveKitDouble;
use bedrud_tests::{TEST_LK_KEY, TEST_LK_SECRET, test_state};

fn dir() -> String {
    format!("{}/../events", env!("CARGO_MANIFEST_DIR"))
}

/// `| `file` | function | answer |` rows of the README's table.
fn documented() -> BTreeMap<String, (String, String)> {
    let readme = std::fs::read_to_string(format!("{}/README.md", dir())).unwrap();
    readme
        .lines()
        .filter_map(|l| {
            let cells: Vec<&str> = l
                .trim()
                .trim_matches('|')
                .split('|')
                .map(str::trim)
                .collect();
            let file = cells.first()?.strip_prefix('`')?.strip_suffix('`')?;
            file.ends_with(".json").then(|| {
                (
                    file.to_string(),
                    (cells[1].to_string(), cells[2].to_string()),
                )
            })
        })
        .collect()
}

#[tokio::test]
async fn every_event_gives_its_documented_answer() {
    let lk = LiveKitDouble::start(TEST_LK_KEY, TEST_LK_SECRET).await;
    let (state, _dir) = test_state(Counting::InProcess, |c| {
        c.livekit.internal_host = Some(lk.url.clone());
    })
    .await;
    let docs = documented();
    let mut files: Vec<String> = std::fs::read_dir(dir())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|f| f.ends_with(".json"))
        .collect();
    files.sort();
    let listed: Vec<&String> = docs.keys().collect();
    assert_eq!(
        files.iter().collect::<Vec<_>>(),
        listed,
        "events/ and its README's table disagree"
    );
    let mut wrong = Vec::new();
    for (file, (function, answer)) in &docs {
        let fixture = event(file);
        let got = match function.as_str() {
            "recording-processor" => {
                let batch: SqsEvent = serde_json::from_value(fixture).expect("an SQS event");
                let out = lambda::process_batch(&*state.recordings, batch).await;
                format!("{} batch item failure(s)", out.batch_item_failures.len())
            }
            "mailer" => {
                let batch: SqsEvent = serde_json::from_value(fixture).expect("an SQS event");
                let out = lambda::process_batch(&state.accounts, batch).await;
                format!("{} batch item failure(s)", out.batch_item_failures.len())
            }
            "reconciler" => {
                let schedule: EventBridgeEvent =
                    serde_json::from_value(fixture).expect("an EventBridge event");
                let reconciler = state.reconciler().expect("LiveKit keys");
                let out = lambda::scheduled(&state, &reconciler, schedule)
                    .await
                    .expect("a pass");
                match out.get("removed") {
                    Some(removed) => format!("removed {removed}"),
                    None => format!("report {}", out["liveRooms"]),
                }
            }
            http => {
                let app = lambda::service(
                    router_of(http).unwrap_or_else(|| panic!("{file}: no function {http}")),
                    state.clone(),
                );
                invoke(&app, &fixture).await.0.to_string()
            }
        };
        if !answer.starts_with(&got) {
            wrong.push(format!(
                "{file} ({function}): documented {answer}, got {got}"
            ));
        }
    }
    assert!(wrong.is_empty(), "{wrong:#?}");
}
