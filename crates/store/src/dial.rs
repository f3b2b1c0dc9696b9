//! Small tables of the voice side: dialer claims, kept SIP
//! registrations and confirmed SIP dialogs.
//!
//! One call in flight per number (issue 15; 16 CFR 310.4(b)(1)(iv) and
//! Ofcom's repeat-call rule make a second simultaneous call to one person a
//! violation): before the dialer's call is placed the number is claimed in
//! the database, whose primary key refuses a second claim — across
//! campaigns, nodes and restarts. The claim is released when the attempt
//! ends; claims a crash left behind are released once they are older than
//! any call can last.

use async_trait::async_trait;
use domain::{PhoneNumber, Timestamp};

/// Numbers with a dialer call in flight.
#[async_trait]
pub trait DialStore: Send + Sync {
    /// Claim `number` for a call of `campaign` placed at `at`. `Ok(false)`:
    /// another call (any campaign, any node) holds it.
    ///
    /// # Errors
    /// Database errors.
    async fn claim_dial_number(
        &self,
        number: &PhoneNumber,
        campaign: i64,
        at: Timestamp,
    ) -> crate::Result<bool>;

    /// Release `number` (its attempt ended). Releasing a free number is not
    /// an error.
    ///
    /// # Errors
    /// Database errors.
    async fn release_dial_number(&self, number: &PhoneNumber) -> crate::Result<()>;

    /// Release the claims made before `before` (calls that cannot still be
    /// on the wire). Returns how many.
    ///
    /// # Errors
    /// Database errors.
    async fn release_stale_dial_numbers(&self, before: Timestamp) -> crate::Result<u64>;
}

/// Implements [`DialStore`] for `$store`; expanded by `impl_common!`.
macro_rules! impl_dial {
    ($store:ty, $db:ty) => {
        #[async_trait::async_trait]
        impl crate::dial::DialStore for $store {
            async fn claim_dial_number(
                &self,
                number: &PhoneNumber,
                campaign: i64,
                at: Timestamp,
            ) -> Result<bool> {
                let r = sqlx::query(
                    "INSERT INTO dial_in_flight (number, campaign, claimed_at) VALUES ($1, $2, $3) \
                     ON CONFLICT (number) DO NOTHING",
                )
                .bind(number.as_str())
                .bind(campaign)
                .bind(at.as_millis())
                .execute(&self.pool)
                .await?;
                Ok(r.rows_affected() == 1)
            }

            async fn release_dial_number(&self, number: &PhoneNumber) -> Result<()> {
                sqlx::query("DELETE FROM dial_in_flight WHERE number = $1")
                    .bind(number.as_str())
                    .execute(&self.pool)
                    .await?;
                Ok(())
            }

            async fn release_stale_dial_numbers(&self, before: Timestamp) -> Result<u64> {
                let r = sqlx::query("DELETE FROM dial_in_flight WHERE claimed_at < $1")
                    .bind(before.as_millis())
                    .execute(&self.pool)
                    .await?;
                Ok(r.rows_affected())
            }
        }
    };
}

pub(crate) use impl_dial;

/// A SIP registration kept across a restart (issue 13).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SipBinding {
    /// User part of the AOR (the agent's login).
    pub user: String,
    /// Contact URI.
    pub contact: String,
    /// Source address of the REGISTER, `ip:port`.
    pub source: String,
    /// When the binding lapses.
    pub expires_at: Timestamp,
    /// Call-ID of the REGISTER.
    pub call_id: String,
}

/// SIP registrations kept across a restart.
#[async_trait]
pub trait SipBindingStore: Send + Sync {
    /// Replace `user`'s bindings with `bindings` (empty: none left).
    ///
    /// # Errors
    /// Database errors.
    async fn replace_sip_bindings(&self, user: &str, bindings: &[SipBinding]) -> crate::Result<()>;

    /// Every binding still live at `now`.
    ///
    /// # Errors
    /// Database errors.
    async fn list_sip_bindings(&self, now: Timestamp) -> crate::Result<Vec<SipBinding>>;
}

/// Implements [`SipBindingStore`] for `$store`; expanded by `impl_common!`.
macro_rules! impl_sip_bindings {
    ($store:ty, $db:ty) => {
        #[async_trait::async_trait]
        impl crate::dial::SipBindingStore for $store {
            async fn replace_sip_bindings(
                &self,
                user: &str,
                bindings: &[crate::dial::SipBinding],
            ) -> Result<()> {
                let mut tx = Self::begin_write(&self.pool).await?;
                sqlx::query("DELETE FROM sip_bindings WHERE username = $1")
                    .bind(user)
                    .execute(&mut *tx)
                    .await?;
                for b in bindings {
                    sqlx::query(
                        "INSERT INTO sip_bindings (username, contact, source, expires_at, call_id) \
                         VALUES ($1, $2, $3, $4, $5) ON CONFLICT (username, contact) DO UPDATE \
                         SET source = excluded.source, expires_at = excluded.expires_at, call_id = excluded.call_id",
                    )
                    .bind(user)
                    .bind(&b.contact)
                    .bind(&b.source)
                    .bind(b.expires_at.as_millis())
                    .bind(&b.call_id)
                    .execute(&mut *tx)
                    .await?;
                }
                tx.commit().await?;
                Ok(())
            }

            async fn list_sip_bindings(&self, now: Timestamp) -> Result<Vec<crate::dial::SipBinding>> {
                let rows: Vec<(String, String, String, i64, String)> = sqlx::query_as(
                    "SELECT username, contact, source, expires_at, call_id FROM sip_bindings \
                     WHERE expires_at > $1 ORDER BY username, contact",
                )
                .bind(now.as_millis())
                .fetch_all(&self.pool)
                .await?;
                Ok(rows
                    .into_iter()
                    .map(|(user, contact, source, at, call_id)| crate::dial::SipBinding {
                        user,
                        contact,
                        source,
                        expires_at: Timestamp::from_millis(at),
                        call_id,
                    })
                    .collect())
            }
        }
    };
}

pub(crate) use impl_sip_bindings;

/// A confirmed SIP dialog of ours, kept so that a restart can end it with a
/// BYE (RFC 3261 §15.1.1, issue 13): what §12.2.1.1 needs to build an
/// in-dialog request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SavedSipDialog {
    /// Call-ID of the dialog (unique per dialog on our B2BUA legs).
    pub call_id: String,
    /// Our From header value of in-dialog requests (name-addr with our tag).
    pub local: String,
    /// Our tag.
    pub local_tag: String,
    /// Their To header value of in-dialog requests (name-addr with their tag).
    pub remote: String,
    /// Their Contact URI: the Request-URI of in-dialog requests.
    pub remote_target: String,
    /// Route set, in order (Route headers); empty when none.
    pub route_set: Vec<String>,
    /// `udp` or `tcp`.
    pub transport: String,
    /// The peer's address, `ip:port`.
    pub peer: String,
    /// Our latest CSeq number in the dialog.
    pub local_cseq: u32,
    /// When it was saved.
    pub saved_at: Timestamp,
}

/// Confirmed SIP dialogs kept across a restart (migration 0010).
#[async_trait]
pub trait SipDialogStore: Send + Sync {
    /// Insert or replace the dialog with `d.call_id`.
    ///
    /// # Errors
    /// Database errors.
    async fn save_sip_dialog(&self, d: &SavedSipDialog) -> crate::Result<()>;

    /// Forget the dialog with `call_id` (no error if absent).
    ///
    /// # Errors
    /// Database errors.
    async fn remove_sip_dialog(&self, call_id: &str) -> crate::Result<()>;

    /// Every saved dialog, oldest first, and delete them, in one
    /// transaction (at start-up, before the SIP stack runs).
    ///
    /// # Errors
    /// Database errors.
    async fn take_sip_dialogs(&self) -> crate::Result<Vec<SavedSipDialog>>;
}

/// Implements [`SipDialogStore`] for `$store`; expanded by `impl_common!`.
macro_rules! impl_sip_dialogs {
    ($store:ty, $db:ty) => {
        #[async_trait::async_trait]
        impl crate::dial::SipDialogStore for $store {
            async fn save_sip_dialog(&self, d: &crate::dial::SavedSipDialog) -> Result<()> {
                sqlx::query(
                    "INSERT INTO sip_dialogs (call_id, local_party, local_tag, remote_party, remote_target, \
                     route_set, transport, peer, local_cseq, saved_at) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) ON CONFLICT (call_id) DO UPDATE \
                     SET local_party = excluded.local_party, local_tag = excluded.local_tag, remote_party = excluded.remote_party, \
                     remote_target = excluded.remote_target, route_set = excluded.route_set, \
                     transport = excluded.transport, peer = excluded.peer, \
                     local_cseq = excluded.local_cseq, saved_at = excluded.saved_at",
                )
                .bind(&d.call_id)
                .bind(&d.local)
                .bind(&d.local_tag)
                .bind(&d.remote)
                .bind(&d.remote_target)
                .bind(d.route_set.join("\n"))
                .bind(&d.transport)
                .bind(&d.peer)
                .bind(i64::from(d.local_cseq))
                .bind(d.saved_at.as_millis())
                .execute(&self.pool)
                .await?;
                Ok(())
            }

            async fn remove_sip_dialog(&self, call_id: &str) -> Result<()> {
                sqlx::query("DELETE FROM sip_dialogs WHERE call_id = $1")
                    .bind(call_id)
                    .execute(&self.pool)
                    .await?;
                Ok(())
            }

            async fn take_sip_dialogs(&self) -> Result<Vec<crate::dial::SavedSipDialog>> {
                type Row = (String, String, String, String, String, String, String, String, i64, i64);
                // A write transaction from the start (SQLite: BEGIN IMMEDIATE), so the
                // read then delete never fails on a lock upgrade.
                let mut tx = Self::begin_write(&self.pool).await?;
                let rows: Vec<Row> = sqlx::query_as(
                    "SELECT call_id, local_party, local_tag, remote_party, remote_target, route_set, transport, \
                     peer, local_cseq, saved_at FROM sip_dialogs ORDER BY saved_at, call_id",
                )
                .fetch_all(&mut *tx)
                .await?;
                sqlx::query("DELETE FROM sip_dialogs").execute(&mut *tx).await?;
                tx.commit().await?;
                Ok(rows
                    .into_iter()
                    .map(|(call_id, local, local_tag, remote, remote_target, routes, transport, peer, cseq, at)| {
                        crate::dial::SavedSipDialog {
                            call_id,
                            local,
                            local_tag,
                            remote,
                            remote_target,
                            route_set: routes
                                .split('\n')
                                .filter(|r| !r.is_empty())
                                .map(str::to_string)
                                .collect(),
                            transport,
                            peer,
                            local_cseq: u32::try_from(cseq).unwrap_or(u32::MAX),
                            saved_at: Timestamp::from_millis(at),
                        }
                    })
                    .collect())
            }
        }
    };
}

pub(crate) use impl_sip_dialogs;
