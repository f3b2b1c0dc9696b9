//! SMS over SMPP 3.4: an ESME client bound as transceiver to the operator's SMSC.
//!
//! The wire codec and session (PDU framing, sequence numbers, response matching,
//! `enquire_link` keep-alive and its answers) come from `rusmpp`/`rusmppc`
//! (ARCHITECTURE.md, "Chosen stack"); this module adds what a contact center
//! needs on top: reconnect with exponential back-off, a throttle (a window of
//! in-flight `submit_sm` and a messages-per-second token bucket), GSM 7-bit /
//! UCS-2 concatenated sending ([`crate::gsm`]), and `deliver_sm` turned into
//! [`ChannelEvent`](crate::ChannelEvent)s ([`deliver`]).
//!
//! One driver task per SMSC connection owns the session; [`SmsAdapter`] handles
//! are cheap clones. A malformed PDU from the SMSC makes `rusmppc` report a decode
//! error and end the session: the driver logs it and reconnects.

pub mod deliver;

use std::str::FromStr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU8, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use domain::Channel;
use futures::StreamExt;
use rusmpp::pdus::{BindTransceiver, DeliverSmResp, SubmitSm};
use rusmpp::types::{COctetString, OctetString};
use rusmpp::values::{DataCoding, EsmClass, InterfaceVersion, Npi, RegisteredDelivery, Ton};
use rusmpp::{Command, CommandId, CommandStatus, Pdu};
use rusmppc::{Client, ConnectionBuilder, Event};
use tokio::sync::{Mutex, Semaphore, watch};
use tokio::task::JoinHandle;

use crate::adapter::{
    ChannelAdapter, ChannelError, DeliveryReceipt, EventSender, Identity, OutboundMessage,
    wall_clock,
};
use crate::gsm::{self, SmsPart};
use crate::outbox::RetryPolicy;
use crate::throttle::RateLimiter;
use deliver::{DeliverAssembler, DeliverSmFields};

/// Connection settings for one SMSC. `Debug` hides the password.
#[derive(Clone)]
pub struct SmppConfig {
    /// `host:port` of the SMSC (2775 is customary).
    pub addr: String,
    /// `system_id` for `bind_transceiver` (≤ 15 characters).
    pub system_id: String,
    /// Password (≤ 8 characters); never logged.
    pub password: String,
    /// `system_type`, often empty.
    pub system_type: String,
    /// Default `source_addr`: a short code, an MSISDN or an alphanumeric id
    /// (≤ 11 characters).
    pub source_addr: String,
    /// Interval between `enquire_link` keep-alives.
    pub enquire_link_interval: Duration,
    /// How long to wait for any response PDU.
    pub response_timeout: Duration,
    /// Most `submit_sm` in flight at once (the operator's window, often 10).
    pub window: usize,
    /// Most `submit_sm` per second (0: no limit).
    pub max_per_second: u32,
    /// Delay between reconnect attempts (`max_attempts` is ignored: an SMSC
    /// connection is retried for ever).
    pub reconnect: RetryPolicy,
    /// Ask the SMSC for delivery receipts (`registered_delivery` = 1).
    pub delivery_receipts: bool,
}

impl SmppConfig {
    /// Defaults for `addr`: enquire_link every 30 s, 10 s response time-out,
    /// window 10, 50 msg/s, reconnect 1 s doubling to 60 s, receipts on.
    pub fn new(addr: &str, system_id: &str, password: &str, source_addr: &str) -> Self {
        Self {
            addr: addr.to_string(),
            system_id: system_id.to_string(),
            password: password.to_string(),
            system_type: String::new(),
            source_addr: source_addr.to_string(),
            enquire_link_interval: Duration::from_secs(30),
            response_timeout: Duration::from_secs(10),
            window: 10,
            max_per_second: 50,
            reconnect: RetryPolicy {
                initial_delay_ms: 1_000,
                factor: 2,
                max_delay_ms: 60_000,
                max_attempts: u32::MAX,
            },
            delivery_receipts: true,
        }
    }
}

impl std::fmt::Debug for SmppConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SmppConfig")
            .field("addr", &self.addr)
            .field("system_id", &self.system_id)
            .field("password", &"<redacted>")
            .field("source_addr", &self.source_addr)
            .field("window", &self.window)
            .field("max_per_second", &self.max_per_second)
            .finish_non_exhaustive()
    }
}

struct Inner {
    config: SmppConfig,
    client: watch::Receiver<Option<Client>>,
    window: Semaphore,
    limiter: Mutex<RateLimiter>,
    reference: AtomicU8,
    shutdown: watch::Sender<bool>,
}

/// The SMS channel adapter (a handle to one SMSC connection's driver task).
#[derive(Clone)]
pub struct SmsAdapter {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for SmsAdapter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SmsAdapter")
            .field("addr", &self.inner.config.addr)
            .field("bound", &self.is_bound())
            .finish()
    }
}

impl SmsAdapter {
    /// Start the driver task: connect, bind, keep the link alive, reconnect.
    /// Inbound SMS and delivery receipts go to `events`. The task ends after
    /// [`SmsAdapter::shutdown`] (unbinding first) or when `events` is closed.
    pub fn spawn(config: SmppConfig, events: EventSender) -> (SmsAdapter, JoinHandle<()>) {
        let (client_tx, client_rx) = watch::channel(None);
        let (shutdown_tx, shutdown_rx) = watch::channel(false);
        let window = config.window.max(1);
        let limiter = RateLimiter::new(config.max_per_second, config.max_per_second.max(1));
        let inner = Arc::new(Inner {
            config: config.clone(),
            client: client_rx,
            window: Semaphore::new(window),
            limiter: Mutex::new(limiter),
            reference: AtomicU8::new(0),
            shutdown: shutdown_tx,
        });
        let task = tokio::spawn(drive(config, events, client_tx, shutdown_rx));
        (SmsAdapter { inner }, task)
    }

    /// True while bound to the SMSC.
    pub fn is_bound(&self) -> bool {
        self.inner
            .client
            .borrow()
            .as_ref()
            .is_some_and(Client::is_active)
    }

    /// Wait until bound, at most `timeout`. Returns whether it is bound.
    pub async fn wait_bound(&self, timeout: Duration) -> bool {
        let mut rx = self.inner.client.clone();
        tokio::time::timeout(timeout, async {
            loop {
                if rx
                    .borrow_and_update()
                    .as_ref()
                    .is_some_and(Client::is_active)
                {
                    return;
                }
                if rx.changed().await.is_err() {
                    std::future::pending::<()>().await;
                }
            }
        })
        .await
        .is_ok()
    }

    /// Unbind and stop the driver task (await its `JoinHandle` to know it is done).
    pub fn shutdown(&self) {
        let _ = self.inner.shutdown.send(true);
    }

    async fn submit(&self, client: &Client, sm: SubmitSm) -> Result<String, ChannelError> {
        let _permit = self
            .inner
            .window
            .acquire()
            .await
            .map_err(|_| ChannelError::NotConnected("adapter closed".into()))?;
        loop {
            let wait = self.inner.limiter.lock().await.try_acquire(wall_clock());
            match wait {
                Ok(()) => break,
                Err(ms) => {
                    tokio::time::sleep(Duration::from_millis(u64::try_from(ms).unwrap_or(1))).await
                }
            }
        }
        match client.submit_sm(sm).await {
            Ok(resp) => Ok(resp.message_id().as_str().to_string()),
            Err(e) => Err(map_error(e)),
        }
    }
}

fn map_error(e: rusmppc::error::Error) -> ChannelError {
    use rusmppc::error::Error as E;
    match e {
        E::UnexpectedResponse { response } => {
            let status = response.status();
            match status {
                // Throttled, queue full, system error: try again later.
                CommandStatus::EsmeRthrottled
                | CommandStatus::EsmeRmsgqful
                | CommandStatus::EsmeRsyserr
                | CommandStatus::EsmeRsubmitfail => {
                    ChannelError::Temporary(format!("SMSC answered {status:?}"))
                }
                _ => ChannelError::Rejected(format!("SMSC answered {status:?}")),
            }
        }
        E::ResponseTimeout { .. } => ChannelError::Temporary("submit_sm_resp time-out".into()),
        E::ConnectionClosed | E::ConnectionClosedByPeer | E::Io(_) | E::Connect(_) => {
            ChannelError::NotConnected(e.to_string())
        }
        other => ChannelError::Protocol(other.to_string()),
    }
}

fn address(addr: &str) -> (Ton, Npi) {
    if !addr.is_empty() && addr.bytes().all(|b| b.is_ascii_digit()) {
        if addr.len() <= 6 {
            // A short code.
            (Ton::NetworkSpecific, Npi::Unknown)
        } else {
            (Ton::International, Npi::Isdn)
        }
    } else {
        (Ton::Alphanumeric, Npi::Unknown)
    }
}

/// Build the `submit_sm` for one part (SMPP 3.4 §4.4.1): `data_coding` 0 or 8,
/// `esm_class` UDHI (0x40) when the part carries a concatenation UDH.
///
/// # Errors
/// [`ChannelError::BadRecipient`] when an address does not fit the PDU field.
pub fn submit_sm_for(
    source: &str,
    destination: &str,
    part: &SmsPart,
    delivery_receipts: bool,
) -> Result<SubmitSm, ChannelError> {
    let (src_ton, src_npi) = address(source);
    let (dst_ton, dst_npi) = address(destination);
    let src = COctetString::from_str(source)
        .map_err(|e| ChannelError::BadRecipient(format!("source {source:?}: {e}")))?;
    let dst = COctetString::from_str(destination)
        .map_err(|e| ChannelError::BadRecipient(format!("destination {destination:?}: {e}")))?;
    let sm = OctetString::from_vec(part.short_message())
        .map_err(|e| ChannelError::Protocol(format!("short_message: {e}")))?;
    // Store-and-forward default mode, normal message; UDHI bit 6 (SMPP 3.4 §5.2.12).
    let esm = EsmClass::from(if part.udh.is_some() { 0x40u8 } else { 0x00 });
    Ok(SubmitSm::builder()
        .source_addr_ton(src_ton)
        .source_addr_npi(src_npi)
        .source_addr(src)
        .dest_addr_ton(dst_ton)
        .dest_addr_npi(dst_npi)
        .destination_addr(dst)
        .esm_class(esm)
        .registered_delivery(RegisteredDelivery::from(u8::from(delivery_receipts)))
        .data_coding(DataCoding::from(part.data_coding))
        .short_message(sm)
        .build())
}

#[async_trait]
impl ChannelAdapter for SmsAdapter {
    fn channels(&self) -> &[Channel] {
        &[Channel::Sms]
    }

    async fn send(&self, msg: &OutboundMessage) -> Result<DeliveryReceipt, ChannelError> {
        if msg.channel != Channel::Sms {
            return Err(ChannelError::UnsupportedChannel(msg.channel));
        }
        let to = match &msg.to {
            Identity::Phone(_) | Identity::Address(_) => msg.to.wire().to_string(),
            other => {
                return Err(ChannelError::BadRecipient(format!(
                    "{other:?} is not an MSISDN"
                )));
            }
        };
        let from = match &msg.from {
            Some(Identity::Phone(_) | Identity::Address(_)) => msg
                .from
                .as_ref()
                .map(|f| f.wire().to_string())
                .unwrap_or_default(),
            _ => self.inner.config.source_addr.clone(),
        };
        let reference = self.inner.reference.fetch_add(1, Ordering::Relaxed);
        let parts = gsm::split_sms(&msg.text, reference)
            .map_err(|e| ChannelError::Rejected(e.to_string()))?;
        let client = self
            .inner
            .client
            .borrow()
            .clone()
            .filter(Client::is_active)
            .ok_or_else(|| ChannelError::NotConnected("not bound to the SMSC".into()))?;
        let mut ids = Vec::with_capacity(parts.len());
        for part in &parts {
            let sm = submit_sm_for(&from, &to, part, self.inner.config.delivery_receipts)?;
            ids.push(self.submit(&client, sm).await?);
        }
        Ok(DeliveryReceipt {
            provider_message_ids: ids,
        })
    }
}

async fn connect_and_bind(
    config: &SmppConfig,
) -> Result<(Client, impl futures::Stream<Item = Event> + Unpin + 'static), String> {
    let stream = tokio::net::TcpStream::connect(&config.addr)
        .await
        .map_err(|e| format!("connect {}: {e}", config.addr))?;
    let (client, events) = ConnectionBuilder::new()
        .enquire_link_interval(config.enquire_link_interval)
        .response_timeout(config.response_timeout)
        .disable_interface_version_check()
        .connected(stream);
    let bind = BindTransceiver::builder()
        .system_id(COctetString::from_str(&config.system_id).map_err(|e| e.to_string())?)
        .password(COctetString::from_str(&config.password).map_err(|e| e.to_string())?)
        .system_type(COctetString::from_str(&config.system_type).map_err(|e| e.to_string())?)
        .interface_version(InterfaceVersion::Smpp3_4)
        .addr_ton(Ton::Unknown)
        .addr_npi(Npi::Unknown)
        .address_range(COctetString::empty())
        .build();
    client
        .bind_transceiver(bind)
        .await
        .map_err(|e| format!("bind_transceiver: {e}"))?;
    Ok((client, events))
}

/// The driver: connect/bind, serve one session, back off, repeat.
async fn drive(
    config: SmppConfig,
    events: EventSender,
    client_tx: watch::Sender<Option<Client>>,
    mut shutdown: watch::Receiver<bool>,
) {
    let mut failures: u32 = 0;
    let mut assembler = DeliverAssembler::new();
    loop {
        if *shutdown.borrow() {
            return;
        }
        match connect_and_bind(&config).await {
            Ok((client, mut stream)) => {
                tracing::info!(addr = %config.addr, "bound to the SMSC as transceiver");
                failures = 0;
                let _ = client_tx.send(Some(client.clone()));
                let stop =
                    serve(&client, &mut stream, &events, &mut assembler, &mut shutdown).await;
                let _ = client_tx.send(None);
                if stop {
                    let _ = client.unbind().await;
                    let _ = client.close().await;
                    return;
                }
                let _ = client.close().await;
                tracing::warn!(addr = %config.addr, "SMPP session ended; reconnecting");
            }
            Err(e) => tracing::warn!(addr = %config.addr, error = %e, "SMPP connect/bind failed"),
        }
        failures = failures.saturating_add(1);
        let delay = config.reconnect.delay_after(failures);
        let sleep = tokio::time::sleep(Duration::from_millis(u64::try_from(delay).unwrap_or(0)));
        tokio::select! {
            () = sleep => {}
            _ = shutdown.changed() => return,
        }
    }
}

/// Serve one bound session. Returns true when asked to shut down (or the engine
/// went away), false when the session broke.
async fn serve(
    client: &Client,
    stream: &mut (impl futures::Stream<Item = Event> + Unpin),
    events: &EventSender,
    assembler: &mut DeliverAssembler,
    shutdown: &mut watch::Receiver<bool>,
) -> bool {
    loop {
        let ev = tokio::select! {
            _ = shutdown.changed() => return true,
            ev = stream.next() => ev,
        };
        match ev {
            None => return false,
            Some(Event::Error(e)) => {
                tracing::error!(error = %e, "SMPP session error");
            }
            Some(Event::Incoming(cmd)) => {
                if !handle_incoming(client, cmd, events, assembler).await {
                    return true;
                }
            }
        }
    }
}

/// Answer one PDU from the SMSC. Returns false when the engine's receiver is gone.
async fn handle_incoming(
    client: &Client,
    cmd: Command,
    events: &EventSender,
    assembler: &mut DeliverAssembler,
) -> bool {
    let seq = cmd.sequence_number();
    match (cmd.id(), cmd.pdu()) {
        (CommandId::DeliverSm, Some(Pdu::DeliverSm(d))) => {
            if let Err(e) = client.deliver_sm_resp(seq, DeliverSmResp::default()).await {
                tracing::warn!(error = %e, "deliver_sm_resp failed");
            }
            let fields = DeliverSmFields {
                source_addr: d.source_addr.as_str(),
                destination_addr: d.destination_addr.as_str(),
                esm_class: u8::from(d.esm_class),
                data_coding: u8::from(d.data_coding),
                short_message: d.short_message().as_ref(),
            };
            for ev in assembler.handle_deliver_sm(wall_clock(), &fields) {
                if events.send(ev).await.is_err() {
                    return false;
                }
            }
        }
        (CommandId::Unbind, _) => {
            tracing::info!("SMSC asked to unbind");
            let _ = client.unbind_resp(seq).await;
            let _ = client.close().await;
        }
        (id, _) => tracing::debug!(?id, seq, "ignored PDU from the SMSC"),
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn submit_sm_fields_for_a_concatenated_ucs2_part() {
        let parts = gsm::split_sms(&"ب".repeat(71), 3).unwrap();
        let sm = submit_sm_for("SWITCHBD", "22997000000", &parts[0], true).unwrap();
        assert_eq!(u8::from(sm.data_coding), 8);
        assert_eq!(u8::from(sm.esm_class), 0x40);
        assert_eq!(u8::from(sm.registered_delivery), 1);
        assert_eq!(sm.source_addr_ton, Ton::Alphanumeric);
        assert_eq!(sm.dest_addr_ton, Ton::International);
        assert_eq!(&sm.short_message()[..6], &[5, 0, 3, 3, 2, 1]);
        assert_eq!(sm.short_message().len(), 6 + 134);
    }

    #[test]
    fn config_debug_hides_the_password() {
        let c = SmppConfig::new("127.0.0.1:2775", "sb", "hunter2", "1234");
        let shown = format!("{c:?}");
        assert!(!shown.contains("hunter2"), "{shown}");
        assert!(shown.contains("127.0.0.1:2775"));
    }

    #[test]
    fn too_long_destination_is_a_bad_recipient() {
        let parts = gsm::split_sms("hi", 0).unwrap();
        let r = submit_sm_for("1234", &"9".repeat(30), &parts[0], false);
        assert!(matches!(r, Err(ChannelError::BadRecipient(_))));
    }
}
