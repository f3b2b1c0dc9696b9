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
