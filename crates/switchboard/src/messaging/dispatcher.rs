//! The outbox dispatcher: every `dispatch_interval_ms` it claims the due rows
//! of the channels that have an adapter, sends each through its adapter, and
//! writes back what [`channels::outbox::OutboxEntry`] decides (sent, retry
//! after back-off, failed). Delivery receipts move sent rows to delivered or
//! failed. Rows of channels with no adapter stay queued with a `last_error`
//! saying so. A row caught `sending` by a crash is queued again at start
//! ([`store::MessagingStore::requeue_interrupted`]): at-least-once delivery.

use super::{Inner, Messaging};
use channels::outbox::{OutboxEntry, OutboxState, RetryPolicy};
use channels::{
    ChannelError, DeliveryReceipt, Identity, OutboundMessage, StatusUpdate, ThreadKeys,
};
use domain::{Channel, EventKind, Timestamp};
use std::sync::Arc;
use std::time::Duration;
use store::{EventFilter, OutboxMessage, OutboxTransition};
use tokio::sync::watch;

/// Longest a single send may take before it counts as a temporary failure.
const SEND_TIMEOUT: Duration = Duration::from_secs(60);
/// Rows claimed per round.
const BATCH: i64 = 32;

/// The pure outbox entry for a stored row.
pub fn entry_of(row: &OutboxMessage) -> OutboxEntry {
    let state = match row.status.as_str() {
        "sending" => OutboxState::Sending {
            since: row.claimed_at.unwrap_or(row.next_attempt_at),
        },
        "sent" => OutboxState::Sent {
            provider_message_ids: row.provider_message_id.iter().cloned().collect(),
            at: row.sent_at.unwrap_or(row.created_at),
        },
        "delivered" => OutboxState::Delivered {
            at: row.delivered_at.unwrap_or(row.created_at),
        },
        "failed" => OutboxState::Failed {
            reason: row.last_error.clone().unwrap_or_default(),
            at: row.delivered_at.unwrap_or(row.created_at),
        },
        _ => OutboxState::Queued {
            due: row.next_attempt_at,
        },
    };
    OutboxEntry {
        state,
        attempts: u32::try_from(row.attempts).unwrap_or(u32::MAX),
        last_error: row.last_error.clone(),
        created_at: row.created_at,
    }
}

/// The store transition for an entry's new state (`None`: nothing to write).
pub fn transition_of(entry: &OutboxEntry) -> Option<OutboxTransition> {
    match &entry.state {
        OutboxState::Queued { due } => Some(OutboxTransition::Retry {
            due: *due,
            error: entry.last_error.clone().unwrap_or_default(),
        }),
        OutboxState::Sending { .. } => None,
        OutboxState::Sent {
            provider_message_ids,
            ..
        } => Some(OutboxTransition::Sent {
            provider_message_ids: provider_message_ids.clone(),
        }),
        OutboxState::Delivered { .. } => Some(OutboxTransition::Delivered),
        OutboxState::Failed { reason, .. } => Some(OutboxTransition::Failed {
            reason: reason.clone(),
        }),
    }
}

/// The dispatcher task: until `shutdown`.
pub(crate) async fn run(m: Messaging, mut shutdown: watch::Receiver<bool>) {
    let every = Duration::from_millis(m.inner.cfg.dispatch_interval_ms.max(10));
    let mut last_note: Option<Timestamp> = None;
    loop {
        let now = crate::now();
        if last_note.is_none_or(|t| now.millis_since(t) >= 5_000) {
            note_unsendable(&m.inner, now).await;
            last_note = Some(now);
        }
        match dispatch_once(&m.inner, now).await {
            Ok(n) if n > 0 => continue,
            Ok(_) => {}
            Err(e) => tracing::error!(error = %e, "outbox dispatcher: store error"),
        }
        tokio::select! {
            () = tokio::time::sleep(every) => {}
            _ = shutdown.changed() => return,
        }
    }
}

async fn note_unsendable(inner: &Inner, now: Timestamp) {
    let missing: Vec<Channel> = Channel::ALL
        .into_iter()
        .filter(|c| !inner.adapters.contains_key(c))
        .collect();
    for c in missing {
        let why = format!(
            "no adapter configured for channel {} (see [channels] in the configuration)",
            c.as_str()
        );
        match inner.store.note_unsendable(&[c], &why, now).await {
            Ok(n) if n > 0 => tracing::warn!(
                channel = c.as_str(),
                count = n,
                "outbox messages wait: {why}"
            ),
            Ok(_) => {}
            Err(e) => tracing::error!(error = %e, "outbox: cannot note unsendable rows"),
        }
    }
}

/// One round: claim due rows and send them concurrently. Returns how many
/// were claimed.
///
/// # Errors
/// Store errors of the claim.
pub(crate) async fn dispatch_once(
    inner: &Arc<Inner>,
    now: Timestamp,
) -> Result<usize, store::StoreError> {
    let channels: Vec<Channel> = inner.adapters.keys().copied().collect();
    let rows = inner
        .store
        .claim_due_messages(&channels, now, BATCH)
        .await?;
    let n = rows.len();
    let mut set = tokio::task::JoinSet::new();
    for row in rows {
        let inner = inner.clone();
        set.spawn(async move { send_one(&inner, row).await });
    }
    while set.join_next().await.is_some() {}
    Ok(n)
}

async fn send_one(inner: &Inner, row: OutboxMessage) {
    let Some(adapter) = inner.adapters.get(&row.channel) else {
        return;
    };
    let result = match outbound_for(inner, &row).await {
        Ok(msg) => match tokio::time::timeout(SEND_TIMEOUT, adapter.send(&msg)).await {
            Ok(r) => r,
            Err(_) => Err(ChannelError::Temporary("send timed out".into())),
        },
        Err(e) => Err(e),
    };
    let now = crate::now();
    let mut entry = entry_of(&row);
    let step = match &result {
        Ok(receipt) => entry.handle_sent(now, receipt),
        Err(e) => entry.handle_send_error(
            now,
            &RetryPolicy::default(),
            e.is_retryable(),
            &e.to_string(),
        ),
    };
    if let Err(e) = step {
        tracing::error!(outbox = row.id, error = %e, "outbox transition refused");
        return;
    }
    match &result {
        Ok(DeliveryReceipt {
            provider_message_ids,
        }) => {
            tracing::info!(outbox = row.id, channel = row.channel.as_str(), ids = ?provider_message_ids, "message sent")
        }
        Err(e) => {
            tracing::warn!(outbox = row.id, channel = row.channel.as_str(), attempt = row.attempts, error = %e, "message not sent")
        }
    }
    if let Some(t) = transition_of(&entry) {
        metrics::counter!("messages_out_total", "channel" => row.channel.as_str(), "result" => t.status())
            .increment(1);
        if let Err(e) = inner.store.update_outbox(row.id, &t, now).await {
            tracing::error!(outbox = row.id, error = %e, "outbox outcome not stored");
        }
    }
}

/// The adapter's message for a row: the recipient on the row's channel; for
/// e-mail the thread of the conversation (`In-Reply-To` the customer's last
/// message, `References` all of them, `Re: <subject>`); for Meta channels
/// the customer's last inbound time (the 24-hour window).
async fn outbound_for(inner: &Inner, row: &OutboxMessage) -> Result<OutboundMessage, ChannelError> {
    let mut msg = OutboundMessage::text(
        row.channel,
        Identity::for_channel(row.channel, &row.recipient),
        row.body.clone(),
    );
    // A STOP/START confirmation answers the message that created it: the
    // customer-service window is open from that moment.
    if row.purpose == super::optout::PURPOSE_STOP || row.purpose == super::optout::PURPOSE_START {
        msg.customer_last_inbound_at = Some(row.created_at);
    }
    // The web chat shows the chatbot's replies as the bot's.
    if row.purpose == "bot_reply" && row.channel == Channel::Webchat {
        msg.from = Some(Identity::ChannelId("bot".into()));
    }
    if row.purpose == super::campaigns::PURPOSE
        && matches!(row.channel, Channel::Whatsapp | Channel::Email)
    {
        campaign_extras(inner, row, &mut msg).await?;
    }
    let Some(interaction) = row.interaction_id else {
        return Ok(msg);
    };
    match row.channel {
        Channel::Email => {
            let refs = inner
                .store
                .message_refs_of(interaction)
                .await
                .map_err(|e| ChannelError::Temporary(format!("store: {e}")))?;
            let inbound: Vec<_> = refs.iter().filter(|r| r.outbox_id.is_none()).collect();
            msg.thread = ThreadKeys {
                message_id: None,
                in_reply_to: inbound.last().map(|r| r.message_id.clone()),
                references: refs.iter().map(|r| r.message_id.clone()).collect(),
                conversation: None,
            };
            let subject = inbound.iter().find_map(|r| r.subject.clone());
            msg.subject = Some(match subject {
                Some(s) if s.to_ascii_lowercase().starts_with("re:") => s,
                Some(s) => format!("Re: {s}"),
                None => "Re: your message".into(),
            });
        }
        Channel::Whatsapp | Channel::Messenger | Channel::Instagram => {
            let evs = inner
                .store
                .list_events(&EventFilter {
                    interaction_id: Some(interaction),
                    kind: Some("message_in".into()),
                    limit: 10_000,
                    ..EventFilter::default()
                })
                .await
                .map_err(|e| ChannelError::Temporary(format!("store: {e}")))?;
            msg.customer_last_inbound_at = evs
                .iter()
                .rev()
                .find(|e| matches!(e.kind, EventKind::MessageIn { .. }))
                .map(|e| e.at);
        }
        _ => {}
    }
    Ok(msg)
}

/// What a campaign message carries beyond its text: on WhatsApp the
/// campaign's approved template filled for its recipient, on e-mail the
/// campaign's name as the subject.
async fn campaign_extras(
    inner: &Inner,
    row: &OutboxMessage,
    msg: &mut OutboundMessage,
) -> Result<(), ChannelError> {
    let store_err = |e: store::StoreError| ChannelError::Temporary(format!("store: {e}"));
    let Some(r) = inner
        .store
        .recipient_by_outbox(row.id)
        .await
        .map_err(store_err)?
    else {
        return Ok(());
    };
    let Some(c) = inner
        .store
        .get_campaign(r.campaign_id)
        .await
        .map_err(store_err)?
    else {
        return Ok(());
    };
    if row.channel == Channel::Email {
        msg.subject = Some(c.name.clone());
        return Ok(());
    }
    msg.template = super::campaigns::render_all(&c, &r)
        .map(|(_, t)| t)
        .map_err(|e| ChannelError::Rejected(format!("campaign template: {e}")))?;
    Ok(())
}

/// A delivery report from a provider: the row it names moves on through the
/// outbox state machine (receipts for unknown ids are logged and dropped).
pub(crate) async fn apply_status(inner: &Inner, st: &StatusUpdate) {
    let row = match inner
        .store
        .find_message_ref(st.channel, &st.provider_message_id)
        .await
    {
        Ok(Some(r)) => match r.outbox_id {
            Some(id) => inner.store.get_outbox(id).await.ok().flatten(),
            None => None,
        },
        Ok(None) => None,
        Err(e) => {
            tracing::error!(error = %e, "delivery receipt: store error");
            return;
        }
    };
    let Some(row) = row else {
        tracing::debug!(id = %st.provider_message_id, "delivery receipt for an unknown message");
        return;
    };
    let mut entry = entry_of(&row);
    let before = entry.state.clone();
    if let Err(e) = entry.handle_status(st.at, &st.state, &st.detail) {
        tracing::debug!(outbox = row.id, error = %e, "delivery receipt ignored");
        return;
    }
    if entry.state == before {
        return;
    }
    if let Some(t) = transition_of(&entry) {
        match inner.store.update_outbox(row.id, &t, st.at).await {
            Ok(()) => {
                tracing::info!(outbox = row.id, status = t.status(), detail = %st.detail, "delivery report")
            }
            Err(e) => tracing::error!(outbox = row.id, error = %e, "delivery report not stored"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use domain::InteractionId;

    fn row(status: &str) -> OutboxMessage {
        OutboxMessage {
            id: 1,
            channel: Channel::Sms,
            recipient: "+22997000000".into(),
            body: "x".into(),
            interaction_id: Some(InteractionId(3)),
            customer_id: None,
            purpose: "agent_reply".into(),
            status: status.into(),
            attempts: 1,
            created_at: Timestamp::from_millis(0),
            next_attempt_at: Timestamp::from_millis(0),
            claimed_at: Some(Timestamp::from_millis(10)),
            last_error: None,
            provider_message_id: Some("sim1".into()),
            sent_at: Some(Timestamp::from_millis(20)),
            delivered_at: None,
        }
    }

    #[test]
    fn a_failed_attempt_becomes_a_retry_with_back_off() {
        let mut e = entry_of(&row("sending"));
        e.handle_send_error(
            Timestamp::from_millis(1_000),
            &RetryPolicy::default(),
            true,
            "not bound",
        )
        .unwrap();
        assert_eq!(
            transition_of(&e),
            Some(OutboxTransition::Retry {
                due: Timestamp::from_millis(6_000),
                error: "not bound".into()
            })
        );
    }

    #[test]
    fn a_receipt_moves_a_sent_row_only() {
        let mut e = entry_of(&row("sent"));
        e.handle_status(
            Timestamp::from_millis(50),
            &channels::DeliveryState::Delivered,
            "DELIVRD",
        )
        .unwrap();
        assert_eq!(transition_of(&e), Some(OutboxTransition::Delivered));
        let mut q = entry_of(&row("queued"));
        assert!(
            q.handle_status(
                Timestamp::from_millis(50),
                &channels::DeliveryState::Delivered,
                ""
            )
            .is_err()
        );
    }
}
