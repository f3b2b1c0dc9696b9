//! Outbound message campaigns (SPEC §2.6) and opt-outs: the
//! [`CampaignStore`] trait and its types. The SQL is in
//! `common_campaign.rs`.
//!
//! A campaign is a text template sent on one channel to a list of
//! recipients at a rate. Each recipient moves `pending` → `queued` (an
//! outbox row exists) → `sent` → `delivered` | `failed`, following its
//! outbox row, or ends `opted_out` or `skipped` without a message.

use async_trait::async_trait;
use domain::{Channel, CustomerId, Segment, Timestamp, UserId};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Where a campaign is in its life.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CampaignStatus {
    /// Created, recipients may be added; nothing is sent.
    Draft,
    /// The campaign runner queues its pending recipients at its rate.
    Running,
    /// Stopped by a supervisor; pending recipients wait for a resume.
    Paused,
    /// No recipient is pending or queued any more (final; receipts still
    /// move `sent` recipients to `delivered` or `failed`).
    Done,
}

impl CampaignStatus {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Draft => "draft",
            Self::Running => "running",
            Self::Paused => "paused",
            Self::Done => "done",
        }
    }
    /// From the stored name.
    pub fn parse(s: &str) -> Option<Self> {
        [Self::Draft, Self::Running, Self::Paused, Self::Done]
            .into_iter()
            .find(|x| x.as_str() == s)
    }
}

/// Where one recipient of a campaign is.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RecipientState {
    /// Not yet handled by the runner.
    Pending,
    /// In the outbox, not yet accepted by the provider.
    Queued,
    /// Accepted by the provider (final on channels without receipts).
    Sent,
    /// Delivered (receipt): final.
    Delivered,
    /// Not deliverable, or sending gave up: final.
    Failed,
    /// The address opted out on this channel: nothing sent; final.
    OptedOut,
    /// The message could not be made (a template field missing): final.
    Skipped,
}

impl RecipientState {
    /// Every state, in life order.
    pub const ALL: [RecipientState; 7] = [
        Self::Pending,
        Self::Queued,
        Self::Sent,
        Self::Delivered,
        Self::Failed,
        Self::OptedOut,
        Self::Skipped,
    ];
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Queued => "queued",
            Self::Sent => "sent",
            Self::Delivered => "delivered",
            Self::Failed => "failed",
            Self::OptedOut => "opted_out",
            Self::Skipped => "skipped",
        }
    }
    /// From the stored name.
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|x| x.as_str() == s)
    }
}

/// The approved WhatsApp template a WhatsApp campaign sends (business-
/// initiated messages outside the 24-hour window must be templates).
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WhatsappTemplate {
    /// Template name as approved by Meta (`renewal_notice`).
    pub name: String,
    /// Language code (`fr`, `en_US`).
    pub language: String,
    /// Body parameters `{{1}}`, `{{2}}`... in order, each a text with
    /// `{{field}}` placeholders filled per recipient (`["{{name}}"]`).
    #[serde(default)]
    pub params: Vec<String>,
}

/// A campaign to create.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct NewCampaign {
    /// Name shown to supervisors.
    pub name: String,
    /// The channel every message goes on (not voice).
    pub channel: Channel,
    /// Text with `{{field}}` placeholders (`channels::campaign`).
    pub template: String,
    /// At most this many messages queued per second (1..=1000).
    pub rate_per_s: u32,
    /// Who created it.
    pub created_by: Option<UserId>,
    /// WhatsApp only: the approved template sent instead of free text (the
    /// rendered `template` is kept as the message's text).
    pub whatsapp_template: Option<WhatsappTemplate>,
}

/// A stored campaign.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Campaign {
    /// Row id.
    pub id: i64,
    /// Name.
    pub name: String,
    /// Channel.
    pub channel: Channel,
    /// Text template.
    pub template: String,
    /// Status.
    pub status: CampaignStatus,
    /// Messages per second.
    pub rate_per_s: u32,
    /// Creator.
    pub created_by: Option<UserId>,
    /// WhatsApp template, if any.
    pub whatsapp_template: Option<WhatsappTemplate>,
    /// Creation time.
    pub created_at: Timestamp,
    /// Last change.
    pub updated_at: Timestamp,
    /// First start.
    pub started_at: Option<Timestamp>,
    /// When it became done.
    pub finished_at: Option<Timestamp>,
}

/// A recipient to add.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct NewRecipient {
    /// The customer, when known.
    pub customer_id: Option<CustomerId>,
    /// The address on the campaign's channel (E.164, e-mail, channel id).
    pub address: String,
    /// Template fields of this recipient (`name`, ...).
    pub vars: BTreeMap<String, String>,
}

/// A stored recipient.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CampaignRecipient {
    /// Row id.
    pub id: i64,
    /// Campaign.
    pub campaign_id: i64,
    /// Customer.
    pub customer_id: Option<CustomerId>,
    /// Address.
    pub address: String,
    /// Template fields.
    pub vars: BTreeMap<String, String>,
    /// State.
    pub state: RecipientState,
    /// The outbox row of its message.
    pub outbox_id: Option<i64>,
    /// Why it was skipped or failed.
    pub error: Option<String>,
    /// Last change.
    pub updated_at: Timestamp,
}

/// Which customers become recipients (all set fields must match).
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CustomerSelection {
    /// Of this segment (all segments when absent).
    #[serde(default)]
    pub segment: Option<Segment>,
    /// With this preferred language.
    #[serde(default)]
    pub language: Option<String>,
}

/// Delivery figures of a campaign.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct CampaignStats {
    /// Recipients.
    pub total: i64,
    /// Recipients per state (every state present, 0 included).
    pub by_state: BTreeMap<String, i64>,
    /// Delivered / messages handed to the provider (sent + delivered +
    /// failed), %; 0 when none yet.
    pub delivered_percent: f64,
}

/// An address that asked for no more campaign messages on a channel.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct OptOut {
    /// Channel.
    pub channel: Channel,
    /// Address on it (E.164, e-mail, channel id).
    pub address: String,
    /// When.
    pub at: Timestamp,
    /// How: `keyword:STOP`, `api`, ...
    pub source: String,
}

/// Campaigns, their recipients, and opt-outs.
#[async_trait]
pub trait CampaignStore: Send + Sync {
    /// Create a draft campaign.
    ///
    /// # Errors
    /// [`crate::StoreError::Invalid`] for an empty name or template, voice,
    /// or a rate outside 1..=1000.
    async fn create_campaign(&self, c: &NewCampaign, now: Timestamp) -> crate::Result<Campaign>;
    /// One campaign.
    async fn get_campaign(&self, id: i64) -> crate::Result<Option<Campaign>>;
    /// Campaigns, newest first; only those with `status` when given.
    async fn list_campaigns(&self, status: Option<CampaignStatus>) -> crate::Result<Vec<Campaign>>;
    /// Move a campaign to `to` if its status is one of `from` (`started_at`
    /// set on the first start, `finished_at` on done).
    ///
    /// # Errors
    /// [`crate::StoreError::NotFound`]; [`crate::StoreError::Conflict`]
    /// naming the current status when it is not in `from`.
    async fn set_campaign_status(
        &self,
        id: i64,
        from: &[CampaignStatus],
        to: CampaignStatus,
        now: Timestamp,
    ) -> crate::Result<Campaign>;
    /// Add recipients in one transaction; an address already in the campaign
    /// is ignored. Returns how many were added.
    async fn add_recipients(
        &self,
        campaign: i64,
        rows: &[NewRecipient],
        now: Timestamp,
    ) -> crate::Result<u64>;
    /// Add every customer matching `sel` that has an address on the
    /// campaign's channel (their first phone for SMS and WhatsApp, first
    /// e-mail, or their id on the channel), with the fields `name`,
    /// `segment`, `language` (when set) and their attributes. Returns how
    /// many were added.
    async fn add_customer_recipients(
        &self,
        campaign: i64,
        sel: &CustomerSelection,
        now: Timestamp,
    ) -> crate::Result<u64>;
    /// The next `limit` pending recipients, in the order they were added.
    async fn next_pending(
        &self,
        campaign: i64,
        limit: i64,
    ) -> crate::Result<Vec<CampaignRecipient>>;
    /// In one transaction: queue `message` in the outbox and mark the
    /// recipient `queued` with its id. `None` (nothing written) when the
    /// recipient is no longer pending (another runner took it).
    async fn queue_recipient(
        &self,
        recipient: i64,
        message: &crate::NewOutboxMessage,
        now: Timestamp,
    ) -> crate::Result<Option<crate::OutboxMessage>>;
    /// Settle a pending recipient without a message (`opted_out`,
    /// `skipped`) with `error`. False when it was not pending.
    async fn settle_recipient(
        &self,
        recipient: i64,
        state: RecipientState,
        error: &str,
        now: Timestamp,
    ) -> crate::Result<bool>;
    /// Copy outbox outcomes to the campaign's `queued` and `sent`
    /// recipients (sent, delivered, failed with its error). Returns rows
    /// changed.
    async fn sync_campaign_outcomes(&self, campaign: i64, now: Timestamp) -> crate::Result<u64>;
    /// Recipients per state and the delivered percentage.
    async fn campaign_stats(&self, campaign: i64) -> crate::Result<CampaignStats>;
    /// The recipient whose message is outbox row `outbox_id`.
    async fn recipient_by_outbox(&self, outbox_id: i64)
    -> crate::Result<Option<CampaignRecipient>>;
    /// Recipients by id, optionally only those in `state`.
    async fn list_recipients(
        &self,
        campaign: i64,
        state: Option<RecipientState>,
        limit: i64,
        offset: i64,
    ) -> crate::Result<Vec<CampaignRecipient>>;
    /// Record an opt-out; false when the address had already opted out
    /// (its first record is kept).
    async fn add_opt_out(&self, o: &OptOut) -> crate::Result<bool>;
    /// Remove an opt-out (`START`); false when there was none.
    async fn remove_opt_out(&self, channel: Channel, address: &str) -> crate::Result<bool>;
    /// The opt-out of an address on a channel.
    async fn get_opt_out(&self, channel: Channel, address: &str) -> crate::Result<Option<OptOut>>;
    /// Opt-outs, newest first, optionally of one channel.
    async fn list_opt_outs(
        &self,
        channel: Option<Channel>,
        limit: i64,
        offset: i64,
    ) -> crate::Result<Vec<OptOut>>;
}

/// The checks of [`CampaignStore::create_campaign`].
pub(crate) fn validate_campaign(c: &NewCampaign) -> crate::Result<()> {
    if c.name.trim().is_empty() || c.name.chars().count() > 200 {
        return Err(crate::StoreError::Invalid(
            "name: must be 1 to 200 characters".into(),
        ));
    }
    if c.template.trim().is_empty() {
        return Err(crate::StoreError::Invalid(
            "template: must not be empty".into(),
        ));
    }
    if c.channel == Channel::Voice {
        return Err(crate::StoreError::Invalid(
            "channel: voice campaigns are dialer campaigns, not message campaigns".into(),
        ));
    }
    if !(1..=1000).contains(&c.rate_per_s) {
        return Err(crate::StoreError::Invalid(
            "rate_per_s: must be within 1..=1000".into(),
        ));
    }
    if let Some(t) = &c.whatsapp_template {
        if c.channel != Channel::Whatsapp {
            return Err(crate::StoreError::Invalid(
                "whatsapp_template: only for whatsapp campaigns".into(),
            ));
        }
        if t.name.trim().is_empty() || t.language.trim().is_empty() {
            return Err(crate::StoreError::Invalid(
                "whatsapp_template: name and language must not be empty".into(),
            ));
        }
    }
    Ok(())
}

/// The identity kind that holds a customer's address on `channel`.
pub(crate) fn identity_kind(channel: Channel) -> &'static str {
    match channel {
        Channel::Sms | Channel::Whatsapp | Channel::Voice => "phone",
        Channel::Email => "email",
        other => other.as_str(),
    }
}
