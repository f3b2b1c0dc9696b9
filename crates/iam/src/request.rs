//! Access requests (SPEC §7: access granted on a manager's request): a
//! manager asks for a [`RightsChange`] for a user with a reason; an approver
//! approves or refuses; only an approval hands out a [`RequestEffect::Grant`].
//!
//! A state machine: [`AccessRequest::handle_decision`] changes state and
//! queues effects, [`AccessRequest::poll_effect`] hands them out.

use crate::access::{Permission, Scope, Subject, can};
use crate::sod::{
    Exception, ExceptionError, GrantDecision, RightsChange, SodRule, approve_exception, check_grant,
};
use domain::UserId;
use serde::{Deserialize, Serialize};
use std::collections::VecDeque;

/// Where a request stands.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "state")]
pub enum RequestState {
    /// Waiting for an approver.
    Pending,
    /// Approved: the grant was handed out.
    Approved {
        /// Approver.
        by: UserId,
        /// Unix ms.
        at_ms: i64,
    },
    /// Refused, by a person or by a hard SoD rule.
    Refused {
        /// Who refused (`None`: a hard rule).
        by: Option<UserId>,
        /// Unix ms.
        at_ms: i64,
        /// Why.
        reason: String,
    },
}

/// An approver's answer.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "decision")]
pub enum Decision {
    /// Approve. For a soft SoD conflict, `justification` and `expires_at_ms`
    /// (≤ 90 days ahead) are required.
    Approve {
        /// Why the exception is justified (soft conflicts only).
        justification: Option<String>,
        /// Expiry, Unix ms (required for soft conflicts).
        expires_at_ms: Option<i64>,
    },
    /// Refuse.
    Refuse {
        /// Why.
        reason: String,
    },
}

/// What the shell must do after a decision (store it, audit it).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "effect")]
pub enum RequestEffect {
    /// Apply this change to the grantee.
    Grant {
        /// Who.
        grantee: UserId,
        /// What.
        change: RightsChange,
        /// The SoD exception, when one was needed.
        exception: Option<Exception>,
    },
    /// Tell the requester the request was refused.
    Refused {
        /// The request's requester.
        requester: UserId,
        /// Why.
        reason: String,
    },
}

/// Why a request or decision was not accepted (state unchanged).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum RequestError {
    /// The requester lacks `access.request`.
    #[error("the requester may not request access")]
    NotARequester,
    /// A reason is required.
    #[error("a reason is required")]
    NoReason,
    /// Already approved or refused.
    #[error("the request is already decided")]
    AlreadyDecided,
    /// The approver lacks `grants.approve` or is requester/grantee.
    #[error(transparent)]
    Approval(#[from] ExceptionError),
}

/// One access request.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct AccessRequest {
    /// Who asked.
    pub requester: UserId,
    /// For whom.
    pub grantee: UserId,
    /// What.
    pub change: RightsChange,
    /// Why.
    pub reason: String,
    /// Asked at, Unix ms.
    pub created_at_ms: i64,
    /// Where it stands.
    pub state: RequestState,
    #[serde(skip)]
    effects: VecDeque<RequestEffect>,
}

impl AccessRequest {
    /// Open a request. The requester needs `access.request`; a reason is required.
    ///
    /// # Errors
    /// [`RequestError::NotARequester`], [`RequestError::NoReason`].
    pub fn new(
        requester: &Subject,
        grantee: UserId,
        change: RightsChange,
        reason: &str,
        now_ms: i64,
    ) -> Result<Self, RequestError> {
        if !can(requester, Permission::AccessRequest, Scope::Global, now_ms) {
            return Err(RequestError::NotARequester);
        }
        if reason.trim().is_empty() {
            return Err(RequestError::NoReason);
        }
        Ok(AccessRequest {
            requester: requester.id,
            grantee,
            change,
            reason: reason.trim().to_owned(),
            created_at_ms: now_ms,
            state: RequestState::Pending,
            effects: VecDeque::new(),
        })
    }

    /// An approver's decision, checked against the grantee's current rights
    /// (`grantee`) and the SoD `rules`. A hard conflict turns an approval
    /// into a refusal; a soft one needs justification + expiry.
    ///
    /// # Errors
    /// [`RequestError::AlreadyDecided`]; [`RequestError::Approval`] when the
    /// approver may not approve (self-approval, missing permission) or the
    /// exception's conditions are not met. State is unchanged on error.
    pub fn handle_decision(
        &mut self,
        now_ms: i64,
        rules: &[SodRule],
        grantee: &Subject,
        approver: &Subject,
        decision: Decision,
    ) -> Result<(), RequestError> {
        if self.state != RequestState::Pending {
            return Err(RequestError::AlreadyDecided);
        }
        if approver.id == self.requester || approver.id == self.grantee {
            return Err(ExceptionError::SelfApproval.into());
        }
        if !can(approver, Permission::GrantsApprove, Scope::Global, now_ms) {
            return Err(ExceptionError::NotAnApprover.into());
        }
        match decision {
            Decision::Refuse { reason } => self.refuse(Some(approver.id), now_ms, reason),
            Decision::Approve {
                justification,
                expires_at_ms,
            } => match check_grant(rules, grantee, &self.change, now_ms) {
                GrantDecision::Conflict { rule } => {
                    self.refuse(None, now_ms, format!("separation of duties: {rule}"))
                }
                GrantDecision::Allowed => self.approve(approver.id, now_ms, None),
                GrantDecision::NeedsApproval { rule } => {
                    let ex = approve_exception(
                        rules,
                        &rule,
                        self.grantee,
                        self.requester,
                        approver,
                        justification.as_deref().unwrap_or(""),
                        expires_at_ms.unwrap_or(i64::MAX),
                        now_ms,
                    )?;
                    self.approve(approver.id, now_ms, Some(ex))
                }
            },
        }
        Ok(())
    }

    fn refuse(&mut self, by: Option<UserId>, at_ms: i64, reason: String) {
        self.effects.push_back(RequestEffect::Refused {
            requester: self.requester,
            reason: reason.clone(),
        });
        self.state = RequestState::Refused { by, at_ms, reason };
    }

    fn approve(&mut self, by: UserId, at_ms: i64, exception: Option<Exception>) {
        let mut change = self.change.clone();
        // An exception's grant ends with the exception.
        if let (Some(ex), RightsChange::AddGrant { grant }) = (&exception, &mut change) {
            grant.expires_at_ms = Some(
                grant
                    .expires_at_ms
                    .map_or(ex.expires_at_ms, |e| e.min(ex.expires_at_ms)),
            );
        }
        self.effects.push_back(RequestEffect::Grant {
            grantee: self.grantee,
            change,
            exception,
        });
        self.state = RequestState::Approved { by, at_ms };
    }

    /// The next effect to carry out, oldest first.
    pub fn poll_effect(&mut self) -> Option<RequestEffect> {
        self.effects.pop_front()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::access::{Grant, Role, RoleAssignment};
    use crate::sod::default_rules;

    const DAY: i64 = 24 * 3600 * 1000;

    fn play() -> RightsChange {
        RightsChange::AddGrant {
            grant: Grant {
                permission: Permission::RecordingsPlay,
                scope: Scope::Global,
                expires_at_ms: None,
            },
        }
    }

    #[test]
    fn request_then_approve_with_exception() {
        let rules = default_rules();
        let manager = Subject::with_role(UserId(1), Role::TeamLeader);
        let agent = Subject::with_role(UserId(2), Role::Agent);
        let approver = Subject::with_role(UserId(3), Role::Supervisor);
        assert_eq!(
            AccessRequest::new(&agent, UserId(2), play(), "x", 0).unwrap_err(),
            RequestError::NotARequester
        );
        assert_eq!(
            AccessRequest::new(&manager, UserId(2), play(), " ", 0).unwrap_err(),
            RequestError::NoReason
        );
        let mut req =
            AccessRequest::new(&manager, UserId(2), play(), "review own calls", 0).unwrap();
        assert_eq!(req.poll_effect(), None);

        // Self-approval and a missing justification leave it pending.
        let bad = req.handle_decision(
            DAY,
            &rules,
            &agent,
            &manager,
            Decision::Approve {
                justification: None,
                expires_at_ms: None,
            },
        );
        assert_eq!(
            bad,
            Err(RequestError::Approval(ExceptionError::SelfApproval))
        );
        let bad = req.handle_decision(
            DAY,
            &rules,
            &agent,
            &approver,
            Decision::Approve {
                justification: None,
                expires_at_ms: Some(2 * DAY),
            },
        );
        assert_eq!(
            bad,
            Err(RequestError::Approval(ExceptionError::NoJustification))
        );
        assert_eq!(req.state, RequestState::Pending);
        assert_eq!(req.poll_effect(), None);

        req.handle_decision(
            DAY,
            &rules,
            &agent,
            &approver,
            Decision::Approve {
                justification: Some("coaching on own calls".into()),
                expires_at_ms: Some(31 * DAY),
            },
        )
        .unwrap();
        assert_eq!(
            req.state,
            RequestState::Approved {
                by: UserId(3),
                at_ms: DAY
            }
        );
        let Some(RequestEffect::Grant {
            grantee,
            change: RightsChange::AddGrant { grant },
            exception: Some(ex),
        }) = req.poll_effect()
        else {
            panic!("expected a grant with exception")
        };
        assert_eq!(
            (grantee, grant.expires_at_ms, ex.rule.as_str()),
            (UserId(2), Some(31 * DAY), "agent-no-recordings")
        );
        assert_eq!(req.poll_effect(), None);
        assert_eq!(
            req.handle_decision(
                DAY,
                &rules,
                &agent,
                &approver,
                Decision::Refuse {
                    reason: "late".into()
                }
            ),
            Err(RequestError::AlreadyDecided)
        );
    }

    #[test]
    fn hard_conflict_turns_into_refusal_and_refuse_works() {
        let rules = default_rules();
        let manager = Subject::with_role(UserId(1), Role::Admin);
        let auditor = Subject::with_role(UserId(2), Role::Auditor);
        let approver = Subject::with_role(UserId(3), Role::Supervisor);
        let change = RightsChange::AddRole {
            assignment: RoleAssignment {
                role: Role::Agent,
                scope: Scope::Global,
            },
        };
        let mut req =
            AccessRequest::new(&manager, UserId(2), change.clone(), "cover the phones", 0).unwrap();
        req.handle_decision(
            5,
            &rules,
            &auditor,
            &approver,
            Decision::Approve {
                justification: None,
                expires_at_ms: None,
            },
        )
        .unwrap();
        assert!(matches!(
            req.state,
            RequestState::Refused {
                by: None,
                at_ms: 5,
                ..
            }
        ));
        assert_eq!(
            req.poll_effect(),
            Some(RequestEffect::Refused {
                requester: UserId(1),
                reason: "separation of duties: auditor-no-edit".into()
            })
        );

        let agent = Subject::with_role(UserId(4), Role::Agent);
        let mut req = AccessRequest::new(&manager, UserId(4), change, "second queue", 0).unwrap();
        req.handle_decision(
            6,
            &rules,
            &agent,
            &approver,
            Decision::Refuse {
                reason: "no".into(),
            },
        )
        .unwrap();
        assert_eq!(
            req.state,
            RequestState::Refused {
                by: Some(UserId(3)),
                at_ms: 6,
                reason: "no".into()
            }
        );
    }
}
