//! Separation of duties (SPEC §7, seed V.5.1): rules naming holdings that
//! must not meet in one person, and [`check_grant`], the decision every path
//! that changes effective rights goes through (role change, team change,
//! direct grant, approved request).

use crate::access::{Grant, Permission, Role, RoleAssignment, Subject, TeamId};
use domain::UserId;
use serde::{Deserialize, Serialize};

/// Longest exception to a soft rule: 90 days, in ms.
pub const MAX_EXCEPTION_MS: i64 = 90 * 24 * 3600 * 1000;

/// Shortest accepted justification, in characters.
pub const MIN_JUSTIFICATION_CHARS: usize = 10;

/// Something a user can hold.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind", content = "name")]
pub enum Holding {
    /// A role, on any scope.
    Role(Role),
    /// A permission, on any scope, through a role or a grant.
    Permission(Permission),
}

/// How a rule is enforced.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    /// Never: a change that breaks it is refused.
    Hard,
    /// Only as a justified, second-person-approved, expiring exception.
    Soft,
}

/// A separation-of-duties rule: nobody holds something of `left` and
/// something of `right` at once.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct SodRule {
    /// Stable name, shown in refusals and reports (`"auditor-no-edit"`).
    pub name: &'static str,
    /// One side.
    pub left: &'static [Holding],
    /// The other side.
    pub right: &'static [Holding],
    /// Hard or soft.
    pub severity: Severity,
}

const EDITS: &[Holding] = &[
    Holding::Permission(Permission::InteractionsHandle),
    Holding::Permission(Permission::InteractionsEditClosed),
    Holding::Permission(Permission::CustomersEdit),
    Holding::Permission(Permission::CustomersMerge),
    Holding::Permission(Permission::QueuesEdit),
    Holding::Permission(Permission::UsersManage),
    Holding::Permission(Permission::UsersGrant),
    Holding::Permission(Permission::CampaignsEdit),
    Holding::Permission(Permission::CampaignsRun),
    Holding::Permission(Permission::ConfigEdit),
];

/// The shipped rules:
/// - `user-admin-no-approval` (hard): whoever administers users or grants
///   rights may not approve grants.
/// - `auditor-no-edit` (hard): an auditor may not edit anything.
/// - `agent-no-recordings` (soft): an agent may not play or download recordings.
/// - `quality-no-handling` (soft): a quality analyst does not handle the
///   interactions they score.
pub fn default_rules() -> Vec<SodRule> {
    vec![
        SodRule {
            name: "user-admin-no-approval",
            left: &[
                Holding::Permission(Permission::UsersManage),
                Holding::Permission(Permission::UsersGrant),
            ],
            right: &[Holding::Permission(Permission::GrantsApprove)],
            severity: Severity::Hard,
        },
        SodRule {
            name: "auditor-no-edit",
            left: &[Holding::Role(Role::Auditor)],
            right: EDITS,
            severity: Severity::Hard,
        },
        SodRule {
            name: "agent-no-recordings",
            left: &[Holding::Role(Role::Agent)],
            right: &[
                Holding::Permission(Permission::RecordingsPlay),
                Holding::Permission(Permission::RecordingsDownload),
            ],
            severity: Severity::Soft,
        },
        SodRule {
            name: "quality-no-handling",
            left: &[Holding::Role(Role::QualityAnalyst)],
            right: &[Holding::Permission(Permission::InteractionsHandle)],
            severity: Severity::Soft,
        },
    ]
}

/// A change to a user's effective rights.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum RightsChange {
    /// A role on a scope.
    AddRole {
        /// The assignment.
        assignment: RoleAssignment,
    },
    /// A single permission.
    AddGrant {
        /// The grant.
        grant: Grant,
    },
    /// Joining a team, which brings the team's roles (resolved by the caller).
    JoinTeam {
        /// The team.
        team: TeamId,
        /// The roles membership brings.
        brings: Vec<RoleAssignment>,
    },
}

impl RightsChange {
    /// `subject` as it would be after the change.
    pub fn apply(&self, subject: &Subject) -> Subject {
        let mut s = subject.clone();
        match self {
            RightsChange::AddRole { assignment } => s.roles.push(*assignment),
            RightsChange::AddGrant { grant } => s.grants.push(grant.clone()),
            RightsChange::JoinTeam { team, brings } => {
                s.teams.push(*team);
                s.roles.extend(brings.iter().copied());
            }
        }
        s
    }
}

/// The answer of [`check_grant`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "decision", content = "rule")]
pub enum GrantDecision {
    /// No rule is broken.
    Allowed,
    /// A hard rule would be broken: refused.
    Conflict {
        /// The rule's name.
        rule: String,
    },
    /// A soft rule would be broken: needs an [`Exception`].
    NeedsApproval {
        /// The rule's name.
        rule: String,
    },
}

fn holds(s: &Subject, h: Holding, now_ms: i64) -> bool {
    if s.state != crate::access::AccountState::Active {
        return false;
    }
    match h {
        Holding::Role(r) => s.roles.iter().any(|a| a.role == r),
        Holding::Permission(p) => s.effective(now_ms).iter().any(|&(q, _)| q == p),
    }
}

/// Rules that `subject` breaks at `now_ms`, hard ones first.
pub fn broken_rules<'r>(rules: &'r [SodRule], subject: &Subject, now_ms: i64) -> Vec<&'r SodRule> {
    let mut out: Vec<&SodRule> = rules
        .iter()
        .filter(|r| {
            r.left.iter().any(|&h| holds(subject, h, now_ms))
                && r.right.iter().any(|&h| holds(subject, h, now_ms))
        })
        .collect();
    out.sort_by_key(|r| r.severity != Severity::Hard);
    out
}

/// Would `change` on `grantee` break a rule? A rule already broken before
/// the change (a standing exception) does not count against it; a hard rule
/// wins over a soft one.
pub fn check_grant(
    rules: &[SodRule],
    grantee: &Subject,
    change: &RightsChange,
    now_ms: i64,
) -> GrantDecision {
    let before: Vec<&str> = broken_rules(rules, grantee, now_ms)
        .iter()
        .map(|r| r.name)
        .collect();
    let after = change.apply(grantee);
    match broken_rules(rules, &after, now_ms)
        .into_iter()
        .find(|r| !before.contains(&r.name) || r.severity == Severity::Hard)
    {
        None => GrantDecision::Allowed,
        Some(r) if r.severity == Severity::Hard => GrantDecision::Conflict {
            rule: r.name.to_owned(),
        },
        Some(r) => GrantDecision::NeedsApproval {
            rule: r.name.to_owned(),
        },
    }
}

/// A granted exception to a soft rule (listed in the nightly report).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Exception {
    /// The rule excepted.
    pub rule: String,
    /// Who gets it.
    pub grantee: UserId,
    /// Who asked.
    pub requester: UserId,
    /// Who approved (neither requester nor grantee).
    pub approver: UserId,
    /// Why.
    pub justification: String,
    /// Granted at, Unix ms.
    pub granted_at_ms: i64,
    /// Ends at, Unix ms (≤ granted + 90 days).
    pub expires_at_ms: i64,
}

/// Why an exception was not accepted.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ExceptionError {
    /// The rule is hard: no exception possible.
    #[error("rule {0} is hard: no exception")]
    HardRule(String),
    /// Justification missing or shorter than [`MIN_JUSTIFICATION_CHARS`].
    #[error("a justification of at least {MIN_JUSTIFICATION_CHARS} characters is required")]
    NoJustification,
    /// The approver is the requester or the grantee.
    #[error("the approver must be neither the requester nor the grantee")]
    SelfApproval,
    /// The approver lacks `grants.approve`.
    #[error("the approver may not approve grants")]
    NotAnApprover,
    /// Expiry in the past or more than 90 days ahead.
    #[error("expiry must be in the future and at most 90 days ahead")]
    BadExpiry,
}

/// Accept an exception to soft rule `rule` if its conditions hold:
/// justification, an approver holding `grants.approve` who is neither
/// requester nor grantee, expiry in (now, now + 90 days].
#[allow(clippy::too_many_arguments)]
pub fn approve_exception(
    rules: &[SodRule],
    rule: &str,
    grantee: UserId,
    requester: UserId,
    approver: &Subject,
    justification: &str,
    expires_at_ms: i64,
    now_ms: i64,
) -> Result<Exception, ExceptionError> {
    let r = rules
        .iter()
        .find(|r| r.name == rule)
        .ok_or(ExceptionError::HardRule(rule.to_owned()))?;
    if r.severity == Severity::Hard {
        return Err(ExceptionError::HardRule(r.name.to_owned()));
    }
    if justification.trim().chars().count() < MIN_JUSTIFICATION_CHARS {
        return Err(ExceptionError::NoJustification);
    }
    if approver.id == requester || approver.id == grantee {
        return Err(ExceptionError::SelfApproval);
    }
    if !crate::access::can(
        approver,
        Permission::GrantsApprove,
        crate::access::Scope::Global,
        now_ms,
    ) {
        return Err(ExceptionError::NotAnApprover);
    }
    if expires_at_ms <= now_ms || expires_at_ms - now_ms > MAX_EXCEPTION_MS {
        return Err(ExceptionError::BadExpiry);
    }
    Ok(Exception {
        rule: r.name.to_owned(),
        grantee,
        requester,
        approver: approver.id,
        justification: justification.trim().to_owned(),
        granted_at_ms: now_ms,
        expires_at_ms,
    })
}

/// One line of the nightly SoD report.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "finding")]
pub enum Finding {
    /// A rule broken with no valid exception: to fix.
    Violation {
        /// The user.
        user: UserId,
        /// The rule.
        rule: String,
    },
    /// A rule broken under a valid exception: listed.
    Excepted {
        /// The exception.
        exception: Exception,
    },
}

/// The nightly re-check: every rule each user breaks, as a violation or,
/// when an unexpired exception covers it (never for a hard rule), as a
/// listed exception.
pub fn review(
    rules: &[SodRule],
    users: &[Subject],
    exceptions: &[Exception],
    now_ms: i64,
) -> Vec<Finding> {
    let mut out = Vec::new();
    for u in users {
        for r in broken_rules(rules, u, now_ms) {
            let ex = exceptions.iter().find(|e| {
                e.grantee == u.id
                    && e.rule == r.name
                    && e.expires_at_ms > now_ms
                    && r.severity == Severity::Soft
            });
            out.push(match ex {
                Some(e) => Finding::Excepted {
                    exception: e.clone(),
                },
                None => Finding::Violation {
                    user: u.id,
                    rule: r.name.to_owned(),
                },
            });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::access::{AccountState, Scope};

    const DAY: i64 = 24 * 3600 * 1000;

    fn role(r: Role) -> RightsChange {
        RightsChange::AddRole {
            assignment: RoleAssignment {
                role: r,
                scope: Scope::Global,
            },
        }
    }

    #[test]
    fn shipped_roles_break_no_rule_alone() {
        let rules = default_rules();
        for &r in Role::ALL {
            let s = Subject::with_role(UserId(1), r);
            assert!(
                broken_rules(&rules, &s, 0).is_empty(),
                "{r} breaks a rule by itself"
            );
        }
    }

    #[test]
    fn hard_conflict_refused() {
        let rules = default_rules();
        let auditor = Subject::with_role(UserId(5), Role::Auditor);
        assert_eq!(
            check_grant(&rules, &auditor, &role(Role::Admin), 0),
            GrantDecision::Conflict {
                rule: "auditor-no-edit".into()
            }
        );
        let admin = Subject::with_role(UserId(6), Role::Admin);
        assert_eq!(
            check_grant(&rules, &admin, &role(Role::Supervisor), 0),
            GrantDecision::Conflict {
                rule: "user-admin-no-approval".into()
            }
        );
        assert_eq!(
            approve_exception(
                &rules,
                "auditor-no-edit",
                UserId(5),
                UserId(1),
                &Subject::with_role(UserId(2), Role::Supervisor),
                "for the year-end audit",
                DAY,
                0
            ),
            Err(ExceptionError::HardRule("auditor-no-edit".into()))
        );
    }

    #[test]
    fn soft_conflict_needs_justification_second_person_and_expiry() {
        let rules = default_rules();
        let agent = Subject::with_role(UserId(10), Role::Agent);
        let change = RightsChange::AddGrant {
            grant: Grant {
                permission: Permission::RecordingsPlay,
                scope: Scope::Global,
                expires_at_ms: None,
            },
        };
        let GrantDecision::NeedsApproval { rule } = check_grant(&rules, &agent, &change, 0) else {
            panic!("expected NeedsApproval")
        };
        assert_eq!(rule, "agent-no-recordings");
        let sup = Subject::with_role(UserId(20), Role::Supervisor);
        let req = UserId(20);
        let ok = |a: &Subject, j: &str, exp: i64| {
            approve_exception(&rules, &rule, UserId(10), req, a, j, exp, 0)
        };
        assert_eq!(
            ok(
                &Subject::with_role(UserId(21), Role::Supervisor),
                "",
                30 * DAY
            ),
            Err(ExceptionError::NoJustification)
        );
        assert_eq!(
            ok(&sup, "coaching on own calls", 30 * DAY),
            Err(ExceptionError::SelfApproval)
        );
        assert_eq!(
            ok(
                &Subject::with_role(UserId(10), Role::Supervisor),
                "coaching on own calls",
                30 * DAY
            ),
            Err(ExceptionError::SelfApproval)
        );
        assert_eq!(
            ok(
                &Subject::with_role(UserId(22), Role::Admin),
                "coaching on own calls",
                30 * DAY
            ),
            Err(ExceptionError::NotAnApprover)
        );
        let other = Subject::with_role(UserId(21), Role::Supervisor);
        assert_eq!(
            ok(&other, "coaching on own calls", 91 * DAY),
            Err(ExceptionError::BadExpiry)
        );
        assert_eq!(
            ok(&other, "coaching on own calls", 0),
            Err(ExceptionError::BadExpiry)
        );
        let ex = ok(&other, "coaching on own calls", 90 * DAY).unwrap();
        assert_eq!(
            (ex.approver, ex.grantee, ex.expires_at_ms),
            (UserId(21), UserId(10), 90 * DAY)
        );

        // The nightly review lists it as an exception, then as a violation once expired.
        let after = change.apply(&agent);
        assert_eq!(
            review(
                &rules,
                std::slice::from_ref(&after),
                std::slice::from_ref(&ex),
                DAY
            ),
            vec![Finding::Excepted {
                exception: ex.clone()
            }]
        );
        assert_eq!(
            review(&rules, &[after], &[ex], 90 * DAY),
            vec![Finding::Violation {
                user: UserId(10),
                rule: "agent-no-recordings".into()
            }]
        );
    }

    #[test]
    fn team_change_checked_like_a_direct_grant() {
        let rules = default_rules();
        let auditor = Subject::with_role(UserId(5), Role::Auditor);
        let join = RightsChange::JoinTeam {
            team: TeamId(3),
            brings: vec![RoleAssignment {
                role: Role::Agent,
                scope: Scope::Team(TeamId(3)),
            }],
        };
        assert_eq!(
            check_grant(&rules, &auditor, &join, 0),
            GrantDecision::Conflict {
                rule: "auditor-no-edit".into()
            }
        );
        let qa = Subject::with_role(UserId(6), Role::QualityAnalyst);
        assert_eq!(
            check_grant(&rules, &qa, &join, 0),
            GrantDecision::NeedsApproval {
                rule: "agent-no-recordings".into()
            }
        );
        let agent = Subject::with_role(UserId(7), Role::Agent);
        assert_eq!(
            check_grant(&rules, &agent, &join, 0),
            GrantDecision::Allowed
        );
    }

    #[test]
    fn inactive_users_hold_nothing() {
        let rules = default_rules();
        let mut s = Subject::with_role(UserId(5), Role::Auditor);
        s.roles.push(RoleAssignment {
            role: Role::Admin,
            scope: Scope::Global,
        });
        assert_eq!(broken_rules(&rules, &s, 0).len(), 1);
        s.state = AccountState::Terminated;
        assert!(broken_rules(&rules, &s, 0).is_empty());
    }
}
