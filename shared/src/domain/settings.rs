//! Runtime settings: what admins change while the server runs (registration, invite-only,
//! guest login, the server's name, recordings, limits, client features). The configuration
//! gives each its default; a value stored by an admin wins. Declared once, with each key's
//! wire name and kind, so the admin API, the stores and `/api/auth/settings` agree.

use std::collections::BTreeMap;

/// A stored setting's value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SettingValue {
    Bool(bool),
    Int(i64),
    Text(String),
}

/// What a key holds, for validating an admin's change.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SettingKind {
    Bool,
    /// A whole number in `min..=max`.
    Int {
        min: i64,
        max: i64,
    },
    Text {
        max_len: usize,
    },
    /// Text never shown back (masked on read; the mask sent back means "keep").
    Secret,
}

/// The values admins stored, by key, and the revision they were stored at (each write is a
/// compare-and-set on it, so two admins' changes never overwrite each other blindly).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StoredSettings {
    pub values: BTreeMap<String, SettingValue>,
    pub rev: u64,
}

/// What a bad change is refused with (the HTTP layer says 400 with this text).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SettingRefusal(pub String);

/// The mask a secret reads as; sending it back means "keep the stored value".
pub const MASK: &str = "••••••••";

macro_rules! runtime_settings {
    ($( $(#[$doc:meta])* $field:ident : $wire:literal => $ty:ident $kind:expr ),+ $(,)?) => {
        /// The effective runtime settings (defaults from the configuration, stored values
        /// over them).
        #[derive(Debug, Clone, PartialEq, Eq)]
        pub struct RuntimeSettings {
            $( $(#[$doc])* pub $field: runtime_settings!(@ty $ty), )+
        }

        impl RuntimeSettings {
            /// Every key, its wire name and kind.
            pub const KEYS: &'static [(&'static str, SettingKind)] = &[ $( ($wire, $kind), )+ ];

            /// These settings with `stored` laid over them (a stored value of the wrong kind,
            /// which validation never writes, is ignored).
            pub fn with(&self, stored: &StoredSettings) -> Self {
                let mut s = self.clone();
                $( runtime_settings!(@set $ty s.$field, stored.values.get($wire)); )+
                s
            }

            /// Each key and its value as clients see it; secrets masked when set.
            pub fn shown(&self) -> Vec<(&'static str, SettingValue)> {
                vec![ $( ($wire, runtime_settings!(@show $ty self.$field)), )+ ]
            }
        }
    };
    (@ty Bool) => { bool };
    (@ty Int) => { i64 };
    (@ty Text) => { String };
    (@ty Secret) => { String };
    (@set Bool $t:expr, $v:expr) => { if let Some(SettingValue::Bool(b)) = $v { $t = *b; } };
    (@set Int $t:expr, $v:expr) => { if let Some(SettingValue::Int(n)) = $v { $t = *n; } };
    (@set Text $t:expr, $v:expr) => {
        if let Some(SettingValue::Text(x)) = $v { $t = x.clone(); }
    };
    (@set Secret $t:expr, $v:expr) => {
        if let Some(SettingValue::Text(x)) = $v { $t = x.clone(); }
    };
    (@show Bool $v:expr) => { SettingValue::Bool($v) };
    (@show Int $v:expr) => { SettingValue::Int($v) };
    (@show Text $v:expr) => { SettingValue::Text($v.clone()) };
    (@show Secret $v:expr) => {
        SettingValue::Text(if $v.is_empty() { String::new() } else { MASK.to_string() })
    };
}

runtime_settings! {
    /// Shown to clients as `serverName` (and in mail).
    server_name: "serverName" => Text SettingKind::Text { max_len: 100 },
    registration_enabled: "registrationEnabled" => Bool SettingKind::Bool,
    /// Registration needs an invite token.
    token_registration_only: "tokenRegistrationOnly" => Bool SettingKind::Bool,
    guest_login_enabled: "guestLoginEnabled" => Bool SettingKind::Bool,
    recordings_enabled: "recordingsEnabled" => Bool SettingKind::Bool,
    /// Highest `maxParticipants` a room may ask for.
    max_participants_limit: "maxParticipantsLimit" => Int SettingKind::Int { min: 1, max: 100_000 },
    /// Active rooms one user may own (admins exempt).
    max_rooms_per_user: "maxRoomsPerUser" => Int SettingKind::Int { min: 1, max: 100_000 },
    /// Client features the web client offers when on (noise filters, chat history).
    rnnoise_enabled: "rnnoiseEnabled" => Bool SettingKind::Bool,
    krisp_enabled: "krispEnabled" => Bool SettingKind::Bool,
    chat_message_ttl_hours: "chatMessageTTLHours" => Int SettingKind::Int { min: 1, max: 87_600 },
    chat_max_message_count: "chatMaxMessageCount" => Int SettingKind::Int { min: 0, max: 1_000_000 },
}

impl StoredSettings {
    /// Applies an admin's change (key → JSON-ish value) over these values: unknown keys are
    /// ignored, a value of the wrong kind refuses the whole change (naming the key), a
    /// secret sent back as its mask keeps what is stored.
    pub fn merged(&self, change: &[(String, Incoming)]) -> Result<Self, SettingRefusal> {
        let mut out = self.clone();
        for (key, value) in change {
            let Some((name, kind)) = RuntimeSettings::KEYS.iter().find(|(k, _)| k == key) else {
                continue;
            };
            let stored = match (kind, value) {
                (_, Incoming::Null) => {
                    out.values.remove(*name);
                    continue;
                }
                (SettingKind::Bool, Incoming::Bool(b)) => SettingValue::Bool(*b),
                (SettingKind::Int { min, max }, Incoming::Int(n)) => {
                    if !(*min..=*max).contains(n) {
                        return Err(SettingRefusal(format!(
                            "{name}: must be between {min} and {max}, got {n}"
                        )));
                    }
                    SettingValue::Int(*n)
                }
                (SettingKind::Text { max_len }, Incoming::Text(t)) => {
                    if t.chars().count() > *max_len {
                        return Err(SettingRefusal(format!(
                            "{name}: at most {max_len} characters"
                        )));
                    }
                    SettingValue::Text(t.trim().to_string())
                }
                (SettingKind::Secret, Incoming::Text(t)) if t == MASK => continue,
                (SettingKind::Secret, Incoming::Text(t)) => SettingValue::Text(t.clone()),
                (kind, got) => {
                    return Err(SettingRefusal(format!(
                        "{name}: expected {}, got {}",
                        kind.expected(),
                        got.kind_name()
                    )));
                }
            };
            out.values.insert(name.to_string(), stored);
        }
        Ok(out)
    }
}

/// A value as an admin sent it.
#[derive(Debug, Clone, PartialEq)]
pub enum Incoming {
    Null,
    Bool(bool),
    Int(i64),
    /// A number that is not a whole one.
    Number,
    Text(String),
    /// An array or object.
    Other,
}

impl Incoming {
    fn kind_name(&self) -> &'static str {
        match self {
            Incoming::Null => "null",
            Incoming::Bool(_) => "a boolean",
            Incoming::Int(_) | Incoming::Number => "a number",
            Incoming::Text(_) => "a string",
            Incoming::Other => "an array or object",
        }
    }
}

impl SettingKind {
    fn expected(&self) -> &'static str {
        match self {
            SettingKind::Bool => "a boolean",
            SettingKind::Int { .. } => "a whole number",
            SettingKind::Text { .. } | SettingKind::Secret => "a string",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn defaults() -> RuntimeSettings {
        RuntimeSettings {
            server_name: "Bedrud".into(),
            registration_enabled: true,
            token_registration_only: false,
            guest_login_enabled: true,
            recordings_enabled: false,
            max_participants_limit: 1000,
            max_rooms_per_user: 100,
            rnnoise_enabled: false,
            krisp_enabled: false,
            chat_message_ttl_hours: 2160,
            chat_max_message_count: 0,
        }
    }

    fn change(pairs: &[(&str, Incoming)]) -> Vec<(String, Incoming)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.clone()))
            .collect()
    }

    #[test]
    fn stored_values_win_and_unknown_keys_are_ignored() {
        let stored = StoredSettings::default()
            .merged(&change(&[
                ("registrationEnabled", Incoming::Bool(false)),
                ("serverName", Incoming::Text(" Acme Meet ".into())),
                ("noSuchKey", Incoming::Bool(true)),
            ]))
            .unwrap();
        let s = defaults().with(&stored);
        assert!(!s.registration_enabled);
        assert_eq!(s.server_name, "Acme Meet");
        assert!(s.guest_login_enabled, "untouched keys keep their default");
        assert!(!stored.values.contains_key("noSuchKey"));
        // null takes a key back to its default.
        let back = stored
            .merged(&change(&[("registrationEnabled", Incoming::Null)]))
            .unwrap();
        assert!(defaults().with(&back).registration_enabled);
    }

    #[test]
    fn a_wrong_kind_names_the_key() {
        let e = StoredSettings::default()
            .merged(&change(&[(
                "registrationEnabled",
                Incoming::Text("yes".into()),
            )]))
            .unwrap_err();
        assert_eq!(e.0, "registrationEnabled: expected a boolean, got a string");
        let e = StoredSettings::default()
            .merged(&change(&[("maxRoomsPerUser", Incoming::Int(0))]))
            .unwrap_err();
        assert!(
            e.0.starts_with("maxRoomsPerUser: must be between"),
            "{}",
            e.0
        );
    }
}
