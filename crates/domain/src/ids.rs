//! Typed identifiers. Each is a newtype over `i64` (the database row id), so a
//! `QueueId` can never be passed where an `AgentId` is expected.

use serde::{Deserialize, Serialize};
use std::fmt;

macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
        #[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(pub i64);

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.fmt(f)
            }
        }

        impl From<i64> for $name {
            fn from(v: i64) -> Self {
                Self(v)
            }
        }
    };
}

id_type!(
    /// A tenant (one client of the contact-center outsourcer).
    TenantId
);
id_type!(
    /// A customer (the person who calls or writes).
    CustomerId
);
id_type!(
    /// An agent (a user who handles interactions through the ACD).
    AgentId
);
id_type!(
    /// An ACD queue.
    QueueId
);
id_type!(
    /// One interaction: a call, a conversation, an outbound attempt.
    InteractionId
);
id_type!(
    /// A user account (agent, supervisor or admin).
    UserId
);
id_type!(
    /// A disposition code (wrap-up outcome).
    DispositionId
);
