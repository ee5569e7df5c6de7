//! `infra/template.yaml` as data: the functions' resources and what their roles allow.

use std::collections::BTreeSet;

use serde_yaml_ng::Value;

pub fn template() -> Value {
    let path = format!("{}/../infra/template.yaml", env!("CARGO_MANIFEST_DIR"));
    serde_yaml_ng::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// The function resource whose `Binary` is `binary`.
pub fn function(binary: &str) -> Value {
    let t = template();
    t["Resources"]
        .as_mapping()
        .unwrap()
        .values()
        .find(|r| r["Metadata"]["BuildProperties"]["Binary"].as_str() == Some(binary))
        .unwrap_or_else(|| panic!("no function {binary} in the template"))
        .clone()
}

/// Every `Action` of a function's inline policies, with the resource it is granted on
/// (intrinsic functions rendered as text).
pub fn grants(function: &Value) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for policy in function["Properties"]["Policies"]
        .as_sequence()
        .expect("inline policies")
    {
        for st in policy["Statement"].as_sequence().unwrap() {
            assert_eq!(st["Effect"].as_str(), Some("Allow"));
            let actions: Vec<String> = match &st["Action"] {
                Value::String(a) => vec![a.clone()],
                Value::Sequence(s) => s.iter().map(|a| a.as_str().unwrap().into()).collect(),
                other => panic!("action {other:?}"),
            };
            let resources = match &st["Resource"] {
                Value::Sequence(s) => s.iter().map(|r| format!("{r:?}")).collect(),
                r => vec![format!("{r:?}")],
            };
            for a in &actions {
                for r in &resources {
                    out.push((a.clone(), r.clone()));
                }
            }
        }
    }
    out
}

/// The DynamoDB actions `binary`'s role allows, as the request log names them
/// (`dynamodb:GetItem` on the table, `dynamodb:Query@gsi1` on an index).
pub fn dynamodb_allowed(binary: &str) -> BTreeSet<String> {
    grants(&function(binary))
        .into_iter()
        .filter(|(a, _)| a.starts_with("dynamodb:"))
        .map(|(a, res)| match res.split("/index/").nth(1) {
            Some(rest) => {
                let index: String = rest.chars().take_while(|c| c.is_alphanumeric()).collect();
                format!("{a}@{index}")
            }
            None => a,
        })
        .collect()
}
