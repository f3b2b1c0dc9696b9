//! Permissions, roles and scopes, and the one decision [`can`] (SPEC §7,
//! least privilege: a right is a permission on a scope, never a role name).

use domain::{QueueId, UserId};
use serde::{Deserialize, Serialize};
use std::fmt;

/// A team of agents (the unit a team leader leads).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct TeamId(pub i64);

macro_rules! permissions {
    ($($(#[$doc:meta])* $variant:ident => $name:literal,)*) => {
        /// One action on one kind of resource, named `resource.action`.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        pub enum Permission {
            $($(#[$doc])* #[serde(rename = $name)] $variant,)*
        }

        impl Permission {
            /// Every permission, in declaration order.
            pub const ALL: &'static [Permission] = &[$(Permission::$variant,)*];

            /// The `resource.action` name (`"recordings.play"`).
            pub fn as_str(self) -> &'static str {
                match self { $(Permission::$variant => $name,)* }
            }

            /// Inverse of [`Permission::as_str`]; `None` for an unknown name.
            pub fn parse(s: &str) -> Option<Permission> {
                match s { $($name => Some(Permission::$variant),)* _ => None }
            }
        }
    };
}

permissions! {
    /// Read interactions (calls, conversations) and their history.
    InteractionsView => "interactions.view",
    /// Handle interactions: answer, wrap up, write a disposition while open.
    InteractionsHandle => "interactions.handle",
    /// Change the disposition or notes of a closed interaction (audited edit).
    InteractionsEditClosed => "interactions.edit_closed",
    /// Read customers.
    CustomersView => "customers.view",
    /// Create and edit customers.
    CustomersEdit => "customers.edit",
    /// Merge duplicate customers (and undo a merge).
    CustomersMerge => "customers.merge",
    /// Play a call recording.
    RecordingsPlay => "recordings.play",
    /// Download a call recording file.
    RecordingsDownload => "recordings.download",
    /// Read reports and live figures.
    ReportsView => "reports.view",
    /// Export reports (CSV...).
    ReportsExport => "reports.export",
    /// Create and edit queues, skills, dispositions.
    QueuesEdit => "queues.edit",
    /// Create, modify, suspend and terminate users.
    UsersManage => "users.manage",
    /// Grant roles and permissions to users (request or direct grant).
    UsersGrant => "users.grant",
    /// Ask for a grant for another user (a manager's access request).
    AccessRequest => "access.request",
    /// Approve or refuse access requests.
    GrantsApprove => "grants.approve",
    /// Start, pause and stop campaigns.
    CampaignsRun => "campaigns.run",
    /// Create and edit campaigns.
    CampaignsEdit => "campaigns.edit",
    /// Listen to a live call (silent monitoring).
    SupervisionMonitor => "supervision.monitor",
    /// Speak to the agent only (whisper).
    SupervisionWhisper => "supervision.whisper",
    /// Join a live call (barge).
    SupervisionBarge => "supervision.barge",
    /// Score interactions against a quality form.
    QualityEvaluate => "quality.evaluate",
    /// Read the audit trail.
    AuditView => "audit.view",
    /// Export the audit trail.
    AuditExport => "audit.export",
    /// Change platform configuration (trunks, IVR, settings).
    ConfigEdit => "config.edit",
}

impl fmt::Display for Permission {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A role: a named bundle of permissions (SPEC §7.2).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Handles interactions of their queues.
    Agent,
    /// Leads a team: agent rights plus monitoring and reports of the team.
    TeamLeader,
    /// Runs queues: monitoring, barge, reports, campaigns, closed-interaction edits.
    Supervisor,
    /// Listens to recordings and scores them; edits nothing operational.
    QualityAnalyst,
    /// Configures the platform and manages users.
    Admin,
    /// Reads the audit trail and reports; edits nothing.
    Auditor,
}

impl Role {
    /// Every role.
    pub const ALL: &'static [Role] = &[
        Role::Agent,
        Role::TeamLeader,
        Role::Supervisor,
        Role::QualityAnalyst,
        Role::Admin,
        Role::Auditor,
    ];

    /// The snake_case name (`"team_leader"`).
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Agent => "agent",
            Role::TeamLeader => "team_leader",
            Role::Supervisor => "supervisor",
            Role::QualityAnalyst => "quality_analyst",
            Role::Admin => "admin",
            Role::Auditor => "auditor",
        }
    }

    /// Inverse of [`Role::as_str`].
    pub fn parse(s: &str) -> Option<Role> {
        Role::ALL.iter().copied().find(|r| r.as_str() == s)
    }

    /// The permissions this role carries (its scope comes from the assignment).
    pub fn permissions(self) -> &'static [Permission] {
        use Permission::*;
        match self {
            Role::Agent => &[
                InteractionsView,
                InteractionsHandle,
                CustomersView,
                CustomersEdit,
                CustomersMerge,
            ],
            Role::TeamLeader => &[
                InteractionsView,
                InteractionsHandle,
                CustomersView,
                CustomersEdit,
                CustomersMerge,
                ReportsView,
                SupervisionMonitor,
                SupervisionWhisper,
                AccessRequest,
            ],
            Role::Supervisor => &[
                InteractionsView,
                InteractionsHandle,
                InteractionsEditClosed,
                CustomersView,
                CustomersEdit,
                CustomersMerge,
                RecordingsPlay,
                ReportsView,
                ReportsExport,
                CampaignsRun,
                SupervisionMonitor,
                SupervisionWhisper,
                SupervisionBarge,
                AccessRequest,
                GrantsApprove,
            ],
            Role::QualityAnalyst => &[
                InteractionsView,
                CustomersView,
                RecordingsPlay,
                QualityEvaluate,
                ReportsView,
            ],
            Role::Admin => &[
                InteractionsView,
                CustomersView,
                ReportsView,
                QueuesEdit,
                UsersManage,
                UsersGrant,
                CampaignsEdit,
                ConfigEdit,
                AccessRequest,
            ],
            Role::Auditor => &[
                AuditView,
                AuditExport,
                ReportsView,
                InteractionsView,
                CustomersView,
            ],
        }
    }

    /// Whether the role only reads: an auditor may not edit (hard SoD rule).
    pub fn is_read_only(self) -> bool {
        matches!(self, Role::Auditor)
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Where a right applies.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind", content = "id")]
pub enum Scope {
    /// The whole platform (tenant).
    Global,
    /// One ACD queue.
    Queue(QueueId),
    /// One team.
    Team(TeamId),
}

impl Scope {
    /// Whether a right held on `self` covers an action on `target`. Global
    /// covers everything; a queue or team covers only itself. An action on
    /// [`Scope::Global`] (a platform-wide list) needs a global right.
    pub fn covers(self, target: Scope) -> bool {
        self == Scope::Global || self == target
    }
}

/// A role held on a scope.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct RoleAssignment {
    /// The role.
    pub role: Role,
    /// Where it applies.
    pub scope: Scope,
}

/// A single permission granted outside a role (an exception or a request
/// granted), with an optional expiry.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Grant {
    /// The permission.
    pub permission: Permission,
    /// Where it applies.
    pub scope: Scope,
    /// Expiry, Unix ms; `None` for no expiry.
    pub expires_at_ms: Option<i64>,
}

/// A user's account state (lifecycle: create, modify, suspend, terminate).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AccountState {
    /// May log in and act.
    Active,
    /// Temporarily barred; may be reactivated.
    Suspended,
    /// Permanently barred.
    Terminated,
}

/// What the decisions need to know of a user.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Subject {
    /// The user.
    pub id: UserId,
    /// Account state; only [`AccountState::Active`] holds rights.
    pub state: AccountState,
    /// Roles and their scopes.
    pub roles: Vec<RoleAssignment>,
    /// Teams the user belongs to (a team leader's team rights follow).
    pub teams: Vec<TeamId>,
    /// Single permissions granted on top of the roles.
    pub grants: Vec<Grant>,
}

impl Subject {
    /// An active user with one global role and nothing else.
    pub fn with_role(id: UserId, role: Role) -> Subject {
        Subject {
            id,
            state: AccountState::Active,
            roles: vec![RoleAssignment {
                role,
                scope: Scope::Global,
            }],
            teams: Vec::new(),
            grants: Vec::new(),
        }
    }

    /// Every (permission, scope) pair this user holds at `now_ms` (expired
    /// grants left out), roles first, then grants. Duplicates are possible.
    pub fn effective(&self, now_ms: i64) -> Vec<(Permission, Scope)> {
        if self.state != AccountState::Active {
            return Vec::new();
        }
        let mut out = Vec::new();
        for a in &self.roles {
            out.extend(a.role.permissions().iter().map(|&p| (p, a.scope)));
        }
        out.extend(
            self.grants
                .iter()
                .filter(|g| g.expires_at_ms.is_none_or(|e| e > now_ms))
                .map(|g| (g.permission, g.scope)),
        );
        out
    }
}

/// May `user` do `permission` on `scope` at `now_ms`?
///
/// True when the account is active and some role assignment or unexpired
/// grant carries `permission` on a scope that [covers](Scope::covers) the
/// target. Nothing else: a role name alone grants nothing.
pub fn can(user: &Subject, permission: Permission, scope: Scope, now_ms: i64) -> bool {
    user.effective(now_ms)
        .into_iter()
        .any(|(p, s)| p == permission && s.covers(scope))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for &p in Permission::ALL {
            assert_eq!(Permission::parse(p.as_str()), Some(p));
            assert_eq!(
                serde_json::to_string(&p).unwrap(),
                format!("\"{}\"", p.as_str())
            );
        }
        for &r in Role::ALL {
            assert_eq!(Role::parse(r.as_str()), Some(r));
        }
        assert_eq!(
            Permission::parse("recordings.play"),
            Some(Permission::RecordingsPlay)
        );
        assert_eq!(Permission::parse("recordings.burn"), None);
    }

    #[test]
    fn scoped_roles() {
        let q1 = Scope::Queue(QueueId(1));
        let q2 = Scope::Queue(QueueId(2));
        let mut u = Subject::with_role(UserId(7), Role::Supervisor);
        u.roles[0].scope = q1;
        assert!(can(&u, Permission::SupervisionBarge, q1, 0));
        assert!(!can(&u, Permission::SupervisionBarge, q2, 0));
        assert!(!can(&u, Permission::SupervisionBarge, Scope::Global, 0));
        assert!(!can(&u, Permission::UsersGrant, q1, 0));

        let admin = Subject::with_role(UserId(1), Role::Admin);
        assert!(can(&admin, Permission::QueuesEdit, q2, 0));
        assert!(!can(&admin, Permission::RecordingsPlay, q2, 0));
    }

    #[test]
    fn agent_cannot_play_recordings_and_auditor_cannot_edit() {
        let agent = Subject::with_role(UserId(2), Role::Agent);
        assert!(!can(&agent, Permission::RecordingsPlay, Scope::Global, 0));
        assert!(!can(
            &agent,
            Permission::InteractionsEditClosed,
            Scope::Global,
            0
        ));
        let auditor = Subject::with_role(UserId(3), Role::Auditor);
        assert!(can(&auditor, Permission::AuditView, Scope::Global, 0));
        for &p in Role::Auditor.permissions() {
            assert!(matches!(
                p,
                Permission::AuditView
                    | Permission::AuditExport
                    | Permission::ReportsView
                    | Permission::InteractionsView
                    | Permission::CustomersView
            ));
        }
    }

    #[test]
    fn grants_expire_and_suspension_removes_everything() {
        let mut u = Subject::with_role(UserId(2), Role::Agent);
        u.grants.push(Grant {
            permission: Permission::RecordingsPlay,
            scope: Scope::Global,
            expires_at_ms: Some(1_000),
        });
        assert!(can(&u, Permission::RecordingsPlay, Scope::Global, 999));
        assert!(!can(&u, Permission::RecordingsPlay, Scope::Global, 1_000));
        u.state = AccountState::Suspended;
        assert!(!can(&u, Permission::InteractionsView, Scope::Global, 0));
        assert!(u.effective(0).is_empty());
    }
}
