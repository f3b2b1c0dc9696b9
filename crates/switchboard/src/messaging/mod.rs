//! The digital channels in the running product (SPEC §3): the adapters of
//! the `channels` crate started from `[channels]`, one ingest for every
//! inbound message, and one outbox dispatcher for every outbound one.
//!
//! ```text
//!  SMSC ──deliver_sm──▶ SmsAdapter ─┐                  ┌─▶ engine.route_conversation (new)
//!  Meta ──POST /webhooks/meta──────┼─▶ ingest ─store──┤
//!  visitor ──/webchat/ws───────────┤   (customer,      └─▶ engine.conversation_message
//!  MTA ──SMTP listener─────────────┘    conversation,
//!                                       message_in)
//!  inbound STOP / ARRET / START ──▶ opt-outs (no conversation) + one confirmation
//!  engine.reply / IVR / surveys ──▶ outbox rows ──▶ dispatcher ──▶ adapter.send
//!  campaign runner (rate/s, opt-outs) ──┘
//!  receipts (deliver_sm, Meta statuses) ──▶ delivered / failed
//! ```
//!
//! Metrics: `messages_in_total{channel, outcome}` (`new_conversation`,
//! `conversation`, `survey_answer`, `opt_out`, `opt_in`),
//! `campaign_recipients_total{channel, result}` and `messages_out_total{channel, result}`
//! (`sent`, `queued` for a retry, `failed`).
//!
//! It holds no contact-center logic of its own: the outbox transitions come
//! from [`channels::outbox`], CSAT parsing from [`channels::survey`], routing
//! from the engine.
//!
//! ## Layout
//! - [`ingest`]: normalised inbound message → customer, conversation, events,
//!   engine call; CSAT answers.
//! - [`dispatcher`]: claims due outbox rows, sends, records the outcome with
//!   back-off, applies delivery receipts.
//! - [`campaigns`]: the campaign runner: running campaigns → outbox rows at
//!   their rate, opted-out and unrenderable recipients settled.
//! - [`optout`]: STOP / START keywords in the inbound flow.
//! - [`webhooks`]: the Meta webhook routes (`/webhooks/meta`).
//! - [`webchat`]: the web chat WebSocket (`/webchat/ws`), its adapter and the
//!   widget (`/widget.js`).
//! - [`smtp_in`]: a small inbound SMTP listener (RFC 5321 subset) for e-mail.
//! - [`status`]: `GET /api/v1/channels`.

pub mod campaigns;
pub mod dispatcher;
pub mod ingest;
pub mod optout;
pub mod smtp_in;
pub mod status;
pub mod webchat;
pub mod webhooks;

use crate::settings::{ChannelsSettings, Settings};
use channels::{ChannelAdapter, ChannelEvent, EventSender};
use domain::{Channel, QueueId};
use engine::EngineHandle;
use std::collections::HashMap;
use std::sync::{Arc, Weak};
use store::Store;
use tokio::sync::{mpsc, watch};

pub use ingest::{Inbound, IngestError, Outcome};

/// Why messaging could not start.
#[derive(Debug, thiserror::Error)]
pub enum MessagingError {
    /// A `[channels]` setting is wrong.
    #[error("channels: {0}")]
    Config(String),
    /// The store failed.
    #[error("store: {0}")]
    Store(#[from] store::StoreError),
    /// A listener could not bind.
    #[error("channels: cannot listen on {0}: {1}")]
    Listen(String, std::io::Error),
}

/// The running digital channels. Cheap to clone.
#[derive(Clone)]
pub struct Messaging {
    pub(crate) inner: Arc<Inner>,
}

impl std::fmt::Debug for Messaging {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Messaging")
            .field("channels", &self.adapter_channels())
            .finish()
    }
}

pub(crate) struct Inner {
    pub(crate) store: Arc<dyn Store>,
    pub(crate) engine: Option<EngineHandle>,
    pub(crate) cfg: ChannelsSettings,
    pub(crate) default_country: String,
    pub(crate) data_dir: std::path::PathBuf,
    /// Queue of new conversations, per channel.
    pub(crate) queues: HashMap<Channel, QueueId>,
    /// One lock per customer address: a burst from one sender is ingested
    /// one message at a time, so it opens one conversation.
    locks: std::sync::Mutex<HashMap<String, Weak<tokio::sync::Mutex<()>>>>,
    pub(crate) adapters: HashMap<Channel, Arc<dyn ChannelAdapter>>,
    pub(crate) webchat: Arc<webchat::Hub>,
    sms: Option<channels::sms::SmsAdapter>,
    pub(crate) shutdown: watch::Sender<bool>,
    /// Where the inbound SMTP listener is bound, once it is.
    pub(crate) smtp_addr: std::sync::OnceLock<std::net::SocketAddr>,
}

impl Inner {
    /// The lock of one address (created on first use; dropped when unused).
    pub(crate) fn address_lock(&self, key: &str) -> Arc<tokio::sync::Mutex<()>> {
        let mut map = self.locks.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(l) = map.get(key).and_then(Weak::upgrade) {
            return l;
        }
        if map.len() > 4096 {
            map.retain(|_, w| w.strong_count() > 0);
        }
        let l = Arc::new(tokio::sync::Mutex::new(()));
        map.insert(key.to_string(), Arc::downgrade(&l));
        l
    }
}

impl Messaging {
    /// Start what `[channels]` enables: the adapters (SMPP bind, SMTP relay,
    /// Graph API, web chat), the loop that ingests what they hear, the outbox
    /// dispatcher and the inbound SMTP listener. Rows left `sending` by a
    /// previous run are queued again first.
    ///
    /// # Errors
    /// [`MessagingError`]: a bad setting, the store, a listener.
    pub async fn start(
        settings: &Settings,
        store: Arc<dyn Store>,
        engine: Option<EngineHandle>,
    ) -> Result<Messaging, MessagingError> {
        let cfg = settings.channels.clone();
        let by_name: HashMap<String, QueueId> = store
            .list_queues()
            .await?
            .into_iter()
            .map(|q| (q.name, q.id))
            .collect();
        let mut queues = HashMap::new();
        for ch in Channel::ALL.into_iter().filter(|c| *c != Channel::Voice) {
            let name = cfg
                .queues
                .get(ch.as_str())
                .unwrap_or(&cfg.default_queue)
                .clone();
            match by_name.get(&name) {
                Some(id) => {
                    queues.insert(ch, *id);
                }
                None => tracing::warn!(channel = ch.as_str(), queue = %name,
                    "no such queue: conversations on this channel will not be routed"),
            }
        }
        for key in cfg.queues.keys() {
            if Channel::parse(key).is_none() {
                return Err(MessagingError::Config(format!(
                    "queues: {key:?} is not a channel"
                )));
            }
        }

        let (events_tx, events_rx) = mpsc::channel::<ChannelEvent>(1024);
        let webchat = Arc::new(webchat::Hub::default());
        let mut adapters: HashMap<Channel, Arc<dyn ChannelAdapter>> = HashMap::new();
        if cfg.webchat.enabled {
            adapters.insert(
                Channel::Webchat,
                Arc::new(webchat::WebchatAdapter::new(webchat.clone())),
            );
        }
        let sms = start_sms(&cfg, events_tx.clone(), &mut adapters);
        start_email_out(&cfg, &mut adapters)?;
        start_meta(&cfg, &mut adapters)?;

        let (shutdown, _) = watch::channel(false);
        let inner = Arc::new(Inner {
            store,
            engine,
            cfg,
            default_country: settings.phone.default_country.clone(),
            data_dir: settings.data_dir.clone(),
            queues,
            locks: Default::default(),
            adapters,
            webchat,
            sms,
            shutdown,
            smtp_addr: std::sync::OnceLock::new(),
        });
        let m = Messaging { inner };
        let requeued = m.inner.store.requeue_interrupted(crate::now()).await?;
        if requeued > 0 {
            tracing::warn!(
                count = requeued,
                "outbox messages interrupted by the previous run are queued again"
            );
        }
        tokio::spawn(event_loop(m.clone(), events_rx));
        tokio::spawn(dispatcher::run(m.clone(), m.inner.shutdown.subscribe()));
        if m.inner.cfg.campaigns.enabled {
            tokio::spawn(campaigns::run(m.clone(), m.inner.shutdown.subscribe()));
        }
        let listen = m.inner.cfg.email_in.smtp_listen.clone();
        if !listen.is_empty() {
            let addr = smtp_in::start(m.clone(), &listen).await?;
            tracing::info!(%addr, "inbound SMTP listening");
        }
        tracing::info!(channels = ?m.adapter_channels(), "digital channels started");
        Ok(m)
    }

    /// Show the web chat visitor that the agent is typing.
    pub fn show_agent_typing(&self, visitor: &str) {
        self.inner.webchat.deliver(
            visitor,
            &serde_json::json!({"type": "typing", "from": "agent"}).to_string(),
        );
    }

    /// Route again the digital conversations a previous run left open
    /// (a restart, even `kill -9`, loses no waiting conversation): each goes
    /// back to the ACD in its queue, to the customer's address on its
    /// channel. One without a customer address is closed (`system_restart`).
    /// Returns how many were routed again.
    ///
    /// # Errors
    /// The store.
    pub async fn requeue_open_conversations(&self) -> Result<usize, MessagingError> {
        let Some(engine) = &self.inner.engine else {
            return Ok(0);
        };
        let mut n = 0;
        for i in self.inner.store.open_conversations().await? {
            let customer = match i.customer_id {
                Some(c) => self.inner.store.get_customer(c).await?,
                None => None,
            };
            let address = customer.as_ref().and_then(|c| address_on(c, i.channel));
            let queue = i
                .queue_id
                .or_else(|| self.inner.queues.get(&i.channel).copied());
            let routed = match (address, queue) {
                (Some(a), Some(q)) => match engine.route_conversation(i.id, q, a).await {
                    Ok(()) => true,
                    Err(e) => {
                        tracing::warn!(interaction = %i.id, error = %e, "conversation not routed again");
                        false
                    }
                },
                _ => false,
            };
            if routed {
                n += 1;
                continue;
            }
            // The row's end and its `ended` event in one transaction.
            let now = crate::now();
            let mut ev = domain::NewEvent::new(
                now,
                domain::EventKind::Ended {
                    reason: "system_restart".into(),
                },
            )
            .with_interaction(i.id);
            ev.customer_id = i.customer_id;
            store::apply_now(
                &*self.inner.store,
                store::Write::Update {
                    id: i.id,
                    change: store::InteractionChange {
                        ended_at: Some(now),
                        end_reason: Some("system_restart".into()),
                        ..Default::default()
                    },
                    events: vec![ev],
                },
            )
            .await?;
        }
        if n > 0 {
            tracing::warn!(
                count = n,
                "conversations left open by the previous run routed again"
            );
        }
        Ok(n)
    }

    /// The channels that have an adapter (their outbox rows are sent).
    pub fn adapter_channels(&self) -> Vec<Channel> {
        let mut v: Vec<Channel> = self.inner.adapters.keys().copied().collect();
        v.sort_by_key(|c| c.as_str());
        v
    }

    /// Where the inbound SMTP listener listens, if it is on.
    pub fn smtp_addr(&self) -> Option<std::net::SocketAddr> {
        self.inner.smtp_addr.get().copied()
    }

    /// True while bound to the SMSC (false when SMS is off).
    pub fn sms_bound(&self) -> bool {
        self.inner.sms.as_ref().is_some_and(|s| s.is_bound())
    }

    /// Ingest one inbound message (see [`ingest`]).
    ///
    /// # Errors
    /// [`IngestError`].
    pub async fn ingest(&self, inbound: Inbound) -> Result<Outcome, IngestError> {
        self.inner.ingest(inbound, crate::now()).await
    }

    /// Stop the dispatcher and unbind from the SMSC.
    pub fn shutdown(&self) {
        let _ = self.inner.shutdown.send(true);
        if let Some(sms) = &self.inner.sms {
            sms.shutdown();
        }
    }

    /// The HTTP routes of the channels that are on: `/webhooks/meta`,
    /// `/webchat/ws`, `/widget.js` and the demo page `/webchat`.
    pub fn routes(&self) -> axum::Router<crate::api::AppState> {
        let mut r = axum::Router::new();
        if self.inner.cfg.meta.enabled {
            r = r.route(
                "/webhooks/meta",
                axum::routing::get(webhooks::verify).post(webhooks::receive),
            );
        }
        if self.inner.cfg.webchat.enabled {
            r = r
                .route("/webchat/ws", axum::routing::get(webchat::ws))
                .route("/widget.js", axum::routing::get(webchat::widget_js))
                .route("/webchat", axum::routing::get(webchat::demo_page));
        }
        r
    }
}

fn start_sms(
    cfg: &ChannelsSettings,
    events: EventSender,
    adapters: &mut HashMap<Channel, Arc<dyn ChannelAdapter>>,
) -> Option<channels::sms::SmsAdapter> {
    let s = &cfg.smpp;
    if !s.enabled {
        return None;
    }
    let mut c = channels::sms::SmppConfig::new(
        &format!("{}:{}", s.host, s.port),
        &s.system_id,
        s.password.expose(),
        &s.source_addr,
    );
    c.window = s.window.max(1);
    c.max_per_second = s.max_per_second;
    let (adapter, _task) = channels::sms::SmsAdapter::spawn(c, events);
    adapters.insert(Channel::Sms, Arc::new(adapter.clone()));
    Some(adapter)
}

fn start_email_out(
    cfg: &ChannelsSettings,
    adapters: &mut HashMap<Channel, Arc<dyn ChannelAdapter>>,
) -> Result<(), MessagingError> {
    let s = &cfg.smtp;
    if !s.enabled {
        return Ok(());
    }
    let a = channels::email::EmailAdapter::new(s.config())
        .map_err(|e| MessagingError::Config(format!("smtp: {e}")))?;
    adapters.insert(Channel::Email, Arc::new(a));
    Ok(())
}

fn start_meta(
    cfg: &ChannelsSettings,
    adapters: &mut HashMap<Channel, Arc<dyn ChannelAdapter>>,
) -> Result<(), MessagingError> {
    let s = &cfg.meta;
    if !s.enabled {
        return Ok(());
    }
    if s.app_secret.expose().is_empty() {
        return Err(MessagingError::Config(
            "meta.app_secret is required: webhooks cannot be verified without it".into(),
        ));
    }
    let http = reqwest::Client::builder()
        .timeout(std::time::Duration::from_secs(30))
        .build()
        .map_err(|e| MessagingError::Config(format!("meta: HTTP client: {e}")))?;
    let c = channels::meta::MetaConfig {
        graph_base: s.graph_base.clone(),
        api_version: s.api_version.clone(),
        access_token: s.access_token.expose().to_string(),
        whatsapp_phone_number_id: (!s.whatsapp_phone_number_id.is_empty())
            .then(|| s.whatsapp_phone_number_id.clone()),
    };
    let a: Arc<dyn ChannelAdapter> = Arc::new(channels::meta::MetaAdapter::new(c, http));
    if !s.whatsapp_phone_number_id.is_empty() {
        adapters.insert(Channel::Whatsapp, a.clone());
    }
    adapters.insert(Channel::Messenger, a.clone());
    adapters.insert(Channel::Instagram, a);
    Ok(())
}

/// What the adapters hear, in order: inbound messages are ingested,
/// receipts update the outbox.
async fn event_loop(m: Messaging, mut rx: mpsc::Receiver<ChannelEvent>) {
    while let Some(ev) = rx.recv().await {
        match ev {
            ChannelEvent::Inbound(msg) => {
                let channel = msg.channel;
                if let Err(e) = m.ingest(Inbound::new(msg)).await {
                    tracing::error!(channel = channel.as_str(), error = %e, "inbound message not ingested");
                }
            }
            ChannelEvent::Status(st) => dispatcher::apply_status(&m.inner, &st).await,
        }
    }
}

/// A customer's address on a digital channel: their number for SMS and
/// WhatsApp, their e-mail, or their id on Messenger, Instagram or the web
/// chat.
pub fn address_on(c: &domain::Customer, channel: Channel) -> Option<String> {
    match channel {
        Channel::Sms | Channel::Whatsapp => c.phones.first().map(|p| p.as_str().to_string()),
        Channel::Email => c.emails.first().cloned(),
        Channel::Voice => None,
        other => c
            .channel_ids
            .iter()
            .find(|ci| ci.channel == other)
            .map(|ci| ci.id.clone()),
    }
}
