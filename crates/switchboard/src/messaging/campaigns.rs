//! The campaign runner (SPEC §2.6): for every running campaign, at most
//! `rate_per_s` recipients a second are turned into outbox rows (purpose
//! `campaign`), so sending, retries and delivery receipts are the outbox
//! dispatcher's. Per recipient: an address that opted out on the channel is
//! settled `opted_out`; a template field the recipient lacks settles it
//! `skipped` with the error; otherwise the text is rendered
//! ([`channels::campaign::render`], plain text, nothing escaped) and queued,
//! the outbox id linked to the recipient in the same transaction. A WhatsApp
//! campaign sends its approved template (`whatsapp_template`, parameters
//! filled the same way); the dispatcher finds it from the outbox row.
//!
//! All state is in the store: after a restart the runner picks the running
//! campaigns up where they were (pending recipients stay pending; queued
//! ones are in the outbox). A paused campaign queues nothing more; what was
//! already queued (at most one tick's worth) still goes. A running campaign
//! becomes `done` when no recipient is pending or queued.
//!
//! Pacing: one token bucket per campaign ([`channels::throttle`]) refilled at
//! `rate_per_s`, holding at most a tenth of a second's worth (at least 1).
//!
//! Metrics: `campaign_recipients_total{channel, result}` (`queued`,
//! `opted_out`, `skipped`).

use super::{Inner, Messaging};
use channels::throttle::RateLimiter;
use domain::Timestamp;
use std::collections::HashMap;
use std::time::Duration;
use store::{
    Campaign, CampaignRecipient, CampaignStatus, NewOutboxMessage, RecipientState, StoreError,
};
use tokio::sync::watch;

/// Outbox purpose of campaign messages.
pub const PURPOSE: &str = "campaign";
/// Outcomes are copied from the outbox and `done` checked this often, ms.
const SYNC_EVERY_MS: i64 = 1_000;
/// Most recipients taken in one look at one campaign.
const MAX_BATCH: i64 = 200;

/// What the runner keeps between ticks (all of it can be rebuilt from the
/// store: it is only pacing).
#[derive(Default)]
pub(crate) struct Runner {
    /// Per campaign: its rate and bucket.
    buckets: HashMap<i64, (u32, RateLimiter)>,
    last_sync: Option<Timestamp>,
}

/// The runner task: until `shutdown`.
pub(crate) async fn run(m: Messaging, mut shutdown: watch::Receiver<bool>) {
    let idle = Duration::from_millis(m.inner.cfg.campaigns.tick_ms.max(10));
    let mut runner = Runner::default();
    loop {
        let wait = match runner.tick(&m.inner, crate::now()).await {
            Ok(w) => w.min(idle),
            Err(e) => {
                tracing::error!(error = %e, "campaign runner: store error");
                idle
            }
        };
        tokio::select! {
            () = tokio::time::sleep(wait) => {}
            _ = shutdown.changed() => return,
        }
    }
}

impl Runner {
    /// One look at the running campaigns at `now`: queue what their buckets
    /// allow; every [`SYNC_EVERY_MS`], copy outcomes and close finished
    /// campaigns. Returns how long until a bucket has a token again.
    ///
    /// # Errors
    /// The store.
    pub(crate) async fn tick(
        &mut self,
        inner: &Inner,
        now: Timestamp,
    ) -> Result<Duration, StoreError> {
        let running = inner
            .store
            .list_campaigns(Some(CampaignStatus::Running))
            .await?;
        self.buckets
            .retain(|id, _| running.iter().any(|c| c.id == *id));
        let sync = self
            .last_sync
            .is_none_or(|t| now.millis_since(t) >= SYNC_EVERY_MS);
        if sync {
            self.last_sync = Some(now);
        }
        let mut wait_ms: i64 = i64::MAX;
        for c in &running {
            let (rate, bucket) = self
                .buckets
                .entry(c.id)
                .or_insert_with(|| (c.rate_per_s, bucket_for(c.rate_per_s)));
            if *rate != c.rate_per_s {
                *rate = c.rate_per_s;
                *bucket = bucket_for(c.rate_per_s);
            }
            let mut tokens: i64 = 0;
            while tokens < MAX_BATCH {
                match bucket.try_acquire(now) {
                    Ok(()) => tokens += 1,
                    Err(w) => {
                        wait_ms = wait_ms.min(w.max(1));
                        break;
                    }
                }
            }
            let batch = if tokens > 0 {
                inner.store.next_pending(c.id, tokens).await?
            } else {
                Vec::new()
            };
            for r in &batch {
                handle_recipient(inner, c, r, now).await?;
            }
            if sync || (tokens > 0 && batch.is_empty()) {
                finish_if_done(inner, c, now).await?;
            }
        }
        Ok(Duration::from_millis(
            u64::try_from(wait_ms).unwrap_or(u64::MAX),
        ))
    }
}

fn bucket_for(rate: u32) -> RateLimiter {
    RateLimiter::new(rate.max(1), (rate / 10).max(1))
}

/// Copy outbox outcomes; a running campaign with nothing pending or queued
/// becomes done.
async fn finish_if_done(inner: &Inner, c: &Campaign, now: Timestamp) -> Result<(), StoreError> {
    inner.store.sync_campaign_outcomes(c.id, now).await?;
    let st = inner.store.campaign_stats(c.id).await?;
    let open = |s: RecipientState| st.by_state.get(s.as_str()).copied().unwrap_or(0);
    if open(RecipientState::Pending) == 0 && open(RecipientState::Queued) == 0 {
        match inner
            .store
            .set_campaign_status(c.id, &[CampaignStatus::Running], CampaignStatus::Done, now)
            .await
        {
            Ok(_) => tracing::info!(
                campaign = c.id,
                total = st.total,
                delivered_percent = st.delivered_percent,
                "campaign done"
            ),
            // Paused meanwhile: it stays paused.
            Err(StoreError::Conflict(_)) => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// The template fields of a recipient: its own, and `address`.
pub fn fields_of(r: &CampaignRecipient) -> std::collections::BTreeMap<String, String> {
    let mut vars = r.vars.clone();
    vars.entry("address".into())
        .or_insert_with(|| r.address.clone());
    vars
}

/// A recipient's text, and for a WhatsApp template campaign its template
/// with the body parameters filled.
///
/// # Errors
/// The first template error (a field the recipient lacks).
pub fn render_all(
    c: &Campaign,
    r: &CampaignRecipient,
) -> Result<(String, Option<channels::TemplateRef>), channels::campaign::TemplateError> {
    let fields = fields_of(r);
    let body = channels::campaign::render(&c.template, &fields)?;
    let template = match &c.whatsapp_template {
        Some(t) => Some(channels::TemplateRef {
            name: t.name.clone(),
            language: t.language.clone(),
            body_params: t
                .params
                .iter()
                .map(|p| channels::campaign::render(p, &fields))
                .collect::<Result<_, _>>()?,
        }),
        None => None,
    };
    Ok((body, template))
}

async fn handle_recipient(
    inner: &Inner,
    c: &Campaign,
    r: &CampaignRecipient,
    now: Timestamp,
) -> Result<(), StoreError> {
    let count = |result: &'static str| {
        metrics::counter!("campaign_recipients_total", "channel" => c.channel.as_str(), "result" => result)
            .increment(1);
    };
    if let Some(o) = inner.store.get_opt_out(c.channel, &r.address).await? {
        let why = format!(
            "{} opted out on {} ({})",
            r.address,
            c.channel.as_str(),
            o.source
        );
        inner
            .store
            .settle_recipient(r.id, RecipientState::OptedOut, &why, now)
            .await?;
        count("opted_out");
        return Ok(());
    }
    let body = match render_all(c, r) {
        Ok((b, _)) => b,
        Err(e) => {
            tracing::info!(campaign = c.id, recipient = r.id, error = %e, "campaign recipient skipped");
            inner
                .store
                .settle_recipient(r.id, RecipientState::Skipped, &e.to_string(), now)
                .await?;
            count("skipped");
            return Ok(());
        }
    };
    let msg = NewOutboxMessage {
        channel: c.channel,
        recipient: r.address.clone(),
        body,
        interaction_id: None,
        customer_id: r.customer_id,
        purpose: PURPOSE.into(),
    };
    if inner
        .store
        .queue_recipient(r.id, &msg, now)
        .await?
        .is_some()
    {
        count("queued");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use domain::Channel;
    use std::collections::BTreeMap;

    fn campaign(template: &str, wa: Option<store::WhatsappTemplate>) -> Campaign {
        Campaign {
            id: 1,
            name: "c".into(),
            channel: Channel::Whatsapp,
            template: template.into(),
            status: CampaignStatus::Running,
            rate_per_s: 10,
            created_by: None,
            whatsapp_template: wa,
            created_at: Timestamp::from_millis(0),
            updated_at: Timestamp::from_millis(0),
            started_at: None,
            finished_at: None,
        }
    }

    fn recipient(vars: &[(&str, &str)]) -> CampaignRecipient {
        CampaignRecipient {
            id: 7,
            campaign_id: 1,
            customer_id: None,
            address: "+22997000001".into(),
            vars: vars
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect::<BTreeMap<_, _>>(),
            state: RecipientState::Pending,
            outbox_id: None,
            error: None,
            updated_at: Timestamp::from_millis(0),
        }
    }

    #[test]
    fn text_and_whatsapp_parameters_are_filled_per_recipient() {
        let wa = store::WhatsappTemplate {
            name: "vip_offer".into(),
            language: "fr".into(),
            params: vec!["{{name}}".into(), "{{address}}".into()],
        };
        let c = campaign("Bonjour {{name}} ({{address}})", Some(wa));
        let (body, t) = render_all(&c, &recipient(&[("name", "Awa")])).unwrap();
        assert_eq!(body, "Bonjour Awa (+22997000001)");
        let t = t.unwrap();
        assert_eq!(
            (t.name.as_str(), t.language.as_str(), t.body_params),
            (
                "vip_offer",
                "fr",
                vec!["Awa".to_string(), "+22997000001".to_string()]
            )
        );
        // A field given by the recipient wins over the built-in `address`.
        let (body, _) = render_all(
            &campaign("{{address}}", None),
            &recipient(&[("address", "chez vous")]),
        )
        .unwrap();
        assert_eq!(body, "chez vous");
        let e = render_all(&campaign("Bonjour {{name}}", None), &recipient(&[])).unwrap_err();
        assert_eq!(
            e.to_string(),
            "unknown placeholder {{name}}: the recipient has no such field"
        );
    }
}
