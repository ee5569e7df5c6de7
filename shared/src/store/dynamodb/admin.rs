//! The admin console's port on this store: each method is written beside the items or
//! tables it reads (`users.rs`, `rooms.rs`, `activity.rs`, `invites.rs`); this is the one
//! trait impl.

use super::DynamoStore;

crate::store::admin_store_by_inherent_methods!(DynamoStore);
