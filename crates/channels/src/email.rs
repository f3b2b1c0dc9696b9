//! E-mail: outbound over SMTP with `lettre` (RFC 5321; STARTTLS, RFC 3207, with
//! the `tls` feature), inbound from raw RFC 5322 messages with `mail-parser`.
//!
//! Threading uses the RFC 5322 §3.6.4 identification fields: an agent's reply
//! carries `In-Reply-To` and `References` of the customer's message, so the
//! customer's answer (whose `References` contain our `Message-ID`) lands in the
//! same conversation. HTML-only bodies are reduced to plain text with
//! `html2text` (scripts, styles and markup dropped), never shown as HTML.

use async_trait::async_trait;
use domain::{Channel, Timestamp};
use lettre::message::header::{ContentType, HeaderName, HeaderValue};
use lettre::message::{Mailbox, MessageBuilder};
use lettre::{AsyncSmtpTransport, AsyncTransport, Tokio1Executor};
use mail_parser::{MessageParser, MimeHeaders};

use crate::adapter::{
    Attachment, ChannelAdapter, ChannelError, DeliveryReceipt, Identity, InboundMessage,
    OutboundMessage, ThreadKeys,
};

/// How the SMTP client secures the session.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SmtpSecurity {
    /// Plain SMTP (a relay on localhost or a private network).
    None,
    /// STARTTLS required (RFC 3207). Needs the crate feature `tls`.
    StartTls,
}

/// Outbound SMTP settings. `Debug` hides the credentials.
#[derive(Clone)]
pub struct SmtpConfig {
    /// Relay host name.
    pub host: String,
    /// Relay port (25, 587).
    pub port: u16,
    /// Session security.
    pub security: SmtpSecurity,
    /// `(user, password)` for SMTP AUTH, if the relay wants it.
    pub credentials: Option<(String, String)>,
    /// Default From mailbox, e.g. `"Service client <support@example.com>"`.
    pub from: String,
    /// Domain used on the right of generated Message-IDs.
    pub message_id_domain: String,
}

impl std::fmt::Debug for SmtpConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SmtpConfig")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("security", &self.security)
            .field(
                "credentials",
                &self.credentials.as_ref().map(|(u, _)| (u, "<redacted>")),
            )
            .field("from", &self.from)
            .finish_non_exhaustive()
    }
}

/// Why an e-mail could not be built, sent or read.
#[derive(Debug, thiserror::Error)]
pub enum EmailError {
    /// The raw message is larger than [`InboundLimits::max_raw_bytes`].
    #[error("message of {0} bytes exceeds the {1}-byte limit")]
    TooLarge(usize, usize),
    /// Not an RFC 5322 message at all.
    #[error("not an RFC 5322 message")]
    Unparseable,
    /// No usable From address.
    #[error("message has no From address")]
    NoSender,
    /// STARTTLS asked for but the crate was built without the `tls` feature.
    #[error("STARTTLS needs the `tls` feature")]
    TlsUnavailable,
}

/// Limits applied to inbound mail so a 1 MB or 100 MB message cannot hurt us.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct InboundLimits {
    /// Largest raw message accepted, bytes.
    pub max_raw_bytes: usize,
    /// Longest text body kept, bytes (cut at a character boundary, with a
    /// marker); attachments are kept whole.
    pub max_text_bytes: usize,
}

impl Default for InboundLimits {
    /// 25 MiB raw (common relay limit), 64 KiB of text.
    fn default() -> Self {
        Self {
            max_raw_bytes: 25 * 1024 * 1024,
            max_text_bytes: 64 * 1024,
        }
    }
}

/// Appended to a text body cut at [`InboundLimits::max_text_bytes`].
pub const TRUNCATED_MARKER: &str = "\n[… message truncated]";

fn strip_angle(s: &str) -> String {
    s.trim()
        .trim_start_matches('<')
        .trim_end_matches('>')
        .to_string()
}

fn truncate(mut text: String, max: usize) -> String {
    if text.len() <= max {
        return text;
    }
    let mut cut = max;
    while cut > 0 && !text.is_char_boundary(cut) {
        cut -= 1;
    }
    text.truncate(cut);
    text.push_str(TRUNCATED_MARKER);
    text
}

/// HTML to plain text (markup, scripts and styles removed; links kept as text).
pub fn html_to_text(html: &str) -> String {
    html2text::config::plain_no_decorate()
        .string_from_read(html.as_bytes(), 100)
        .unwrap_or_default()
        .trim()
        .to_string()
}

/// Parse a raw RFC 5322 message into an [`InboundMessage`].
///
/// The text body is preferred (line ends normalised to `\n`); an HTML-only message is reduced to text; the
/// body is cut at `limits.max_text_bytes`. Attachments keep name, content type
/// and bytes. Thread keys come from Message-ID / In-Reply-To / References
/// (without angle brackets). `now` becomes `received_at`.
///
/// # Errors
/// [`EmailError::TooLarge`], [`EmailError::Unparseable`], [`EmailError::NoSender`].
pub fn parse_inbound_email(
    raw: &[u8],
    now: Timestamp,
    limits: &InboundLimits,
) -> Result<InboundMessage, EmailError> {
    if raw.len() > limits.max_raw_bytes {
        return Err(EmailError::TooLarge(raw.len(), limits.max_raw_bytes));
    }
    let msg = MessageParser::default()
        .parse(raw)
        .ok_or(EmailError::Unparseable)?;
    let from = msg
        .from()
        .and_then(|a| a.first())
        .and_then(|a| a.address())
        .filter(|a| a.contains('@'))
        .ok_or(EmailError::NoSender)?
        .to_string();
    let to = msg
        .to()
        .and_then(|a| a.first())
        .and_then(|a| a.address())
        .unwrap_or("")
        .to_string();
    let text = match msg.text_part(0) {
        Some(part) if part.is_text_html() => html_to_text(part.text_contents().unwrap_or("")),
        Some(part) => part.text_contents().unwrap_or("").to_string(),
        None => match msg.html_part(0) {
            Some(part) => html_to_text(part.text_contents().unwrap_or("")),
            None => String::new(),
        },
    };
    let list = |v: &mail_parser::HeaderValue<'_>| -> Vec<String> {
        if let Some(l) = v.as_text_list() {
            l.iter().map(|s| strip_angle(s)).collect()
        } else if let Some(s) = v.as_text() {
            s.split_whitespace().map(strip_angle).collect()
        } else {
            Vec::new()
        }
    };
    let thread = ThreadKeys {
        message_id: msg.message_id().map(strip_angle),
        in_reply_to: list(msg.in_reply_to()).into_iter().next(),
        references: list(msg.references()),
        conversation: None,
    };
    let attachments = msg
        .attachments()
        .map(|p| Attachment {
            name: p.attachment_name().map(str::to_string),
            content_type: p
                .content_type()
                .map(|ct| match ct.subtype() {
                    Some(sub) => format!("{}/{}", ct.ctype(), sub),
                    None => ct.ctype().to_string(),
                })
                .unwrap_or_else(|| "application/octet-stream".to_string()),
            bytes: p.contents().to_vec(),
        })
        .collect();
    Ok(InboundMessage {
        channel: Channel::Email,
        from: Identity::Email(from),
        to: Identity::Email(to),
        text: truncate(text.replace("\r\n", "\n"), limits.max_text_bytes),
        provider_message_id: thread.message_id.clone(),
        thread,
        attachments,
        received_at: now,
    })
}

/// The e-mail channel adapter (outbound SMTP).
#[derive(Clone)]
pub struct EmailAdapter {
    config: SmtpConfig,
    transport: AsyncSmtpTransport<Tokio1Executor>,
    counter: std::sync::Arc<std::sync::atomic::AtomicU64>,
}

impl std::fmt::Debug for EmailAdapter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EmailAdapter")
            .field("host", &self.config.host)
            .field("port", &self.config.port)
            .finish()
    }
}

impl EmailAdapter {
    /// Build the adapter (no connection is made until the first send).
    ///
    /// # Errors
    /// [`EmailError::TlsUnavailable`] for STARTTLS without the `tls` feature.
    pub fn new(config: SmtpConfig) -> Result<Self, EmailError> {
        let builder = match config.security {
            SmtpSecurity::None => {
                AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(&config.host)
            }
            #[cfg(feature = "tls")]
            SmtpSecurity::StartTls => {
                AsyncSmtpTransport::<Tokio1Executor>::starttls_relay(&config.host)
                    .map_err(|_| EmailError::TlsUnavailable)?
            }
            #[cfg(not(feature = "tls"))]
            SmtpSecurity::StartTls => return Err(EmailError::TlsUnavailable),
        };
        let mut builder = builder.port(config.port);
        if let Some((user, pass)) = &config.credentials {
            builder =
                builder.credentials(lettre::transport::smtp::authentication::Credentials::new(
                    user.clone(),
                    pass.clone(),
                ));
        }
        Ok(Self {
            transport: builder.build(),
            config,
            counter: Default::default(),
        })
    }

    /// Send a document by e-mail: `text` as the body and `bytes` attached
    /// as `filename` (`content_type`, e.g. the xlsx MIME type), from the
    /// configured sender to every address of `to` (one message).
    ///
    /// # Errors
    /// [`ChannelError::BadRecipient`] for an address that does not parse
    /// or an empty `to`, [`ChannelError::Protocol`] for a bad content type
    /// or sender, [`ChannelError::Rejected`] / [`ChannelError::Temporary`]
    /// from the relay.
    pub async fn send_attachment(
        &self,
        to: &[String],
        subject: &str,
        text: &str,
        filename: &str,
        content_type: &str,
        bytes: Vec<u8>,
    ) -> Result<String, ChannelError> {
        use lettre::message::{Attachment, MultiPart, SinglePart};
        if to.is_empty() {
            return Err(ChannelError::BadRecipient("no recipient".into()));
        }
        let from: Mailbox = self
            .config
            .from
            .parse()
            .map_err(|e| ChannelError::Protocol(format!("From {:?}: {e}", self.config.from)))?;
        let id = self.new_message_id();
        let mut b = lettre::Message::builder()
            .from(from)
            .subject(subject)
            .message_id(Some(format!("<{id}>")));
        for a in to {
            let m: Mailbox = a
                .parse()
                .map_err(|e| ChannelError::BadRecipient(format!("{a:?}: {e}")))?;
            b = b.to(m);
        }
        let ct = ContentType::parse(content_type)
            .map_err(|e| ChannelError::Protocol(format!("content type {content_type:?}: {e}")))?;
        let email = b
            .multipart(
                MultiPart::mixed()
                    .singlepart(SinglePart::plain(text.to_string()))
                    .singlepart(Attachment::new(filename.to_string()).body(bytes, ct)),
            )
            .map_err(|e| ChannelError::Protocol(e.to_string()))?;
        match self.transport.send(email).await {
            Ok(_) => Ok(id),
            Err(e) if e.is_permanent() => Err(ChannelError::Rejected(e.to_string())),
            Err(e) => Err(ChannelError::Temporary(e.to_string())),
        }
    }

    fn new_message_id(&self) -> String {
        let n = self
            .counter
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let ms = crate::adapter::wall_clock().as_millis();
        format!(
            "{ms}.{n}.{}@{}",
            std::process::id(),
            self.config.message_id_domain
        )
    }
}

/// Build the RFC 5322 message for `msg` with `message_id` (no brackets).
///
/// # Errors
/// [`ChannelError::BadRecipient`] for an unparseable address,
/// [`ChannelError::Protocol`] if the message cannot be assembled.
pub fn build_email(
    msg: &OutboundMessage,
    default_from: &str,
    message_id: &str,
) -> Result<lettre::Message, ChannelError> {
    let to: Mailbox = match &msg.to {
        Identity::Email(a) => a
            .parse()
            .map_err(|e| ChannelError::BadRecipient(format!("{a:?}: {e}")))?,
        other => {
            return Err(ChannelError::BadRecipient(format!(
                "{other:?} is not an e-mail address"
            )));
        }
    };
    let from_text = match &msg.from {
        Some(Identity::Email(a)) => a.as_str(),
        _ => default_from,
    };
    let from: Mailbox = from_text
        .parse()
        .map_err(|e| ChannelError::Protocol(format!("From {from_text:?}: {e}")))?;
    let mut b: MessageBuilder = lettre::Message::builder()
        .from(from)
        .to(to)
        .subject(msg.subject.clone().unwrap_or_default())
        .message_id(Some(format!("<{message_id}>")));
    if let Some(irt) = &msg.thread.in_reply_to {
        b = b.in_reply_to(format!("<{irt}>"));
    }
    let mut refs: Vec<String> = msg.thread.references.clone();
    if let Some(irt) = &msg.thread.in_reply_to
        && !refs.contains(irt)
    {
        refs.push(irt.clone());
    }
    if !refs.is_empty() {
        let joined = refs
            .iter()
            .map(|r| format!("<{r}>"))
            .collect::<Vec<_>>()
            .join(" ");
        b = b.raw_header(HeaderValue::new(
            HeaderName::new_from_ascii_str("References"),
            joined,
        ));
    }
    b.header(ContentType::TEXT_PLAIN)
        .body(msg.text.clone())
        .map_err(|e| ChannelError::Protocol(e.to_string()))
}

#[async_trait]
impl ChannelAdapter for EmailAdapter {
    fn channels(&self) -> &[Channel] {
        &[Channel::Email]
    }

    async fn send(&self, msg: &OutboundMessage) -> Result<DeliveryReceipt, ChannelError> {
        if msg.channel != Channel::Email {
            return Err(ChannelError::UnsupportedChannel(msg.channel));
        }
        let id = match &msg.thread.message_id {
            Some(id) => id.clone(),
            None => self.new_message_id(),
        };
        let email = build_email(msg, &self.config.from, &id)?;
        match self.transport.send(email).await {
            Ok(_) => Ok(DeliveryReceipt {
                provider_message_ids: vec![id],
            }),
            Err(e) if e.is_permanent() => Err(ChannelError::Rejected(e.to_string())),
            Err(e) => Err(ChannelError::Temporary(e.to_string())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reply_headers_carry_the_thread() {
        let mut m = OutboundMessage::text(
            Channel::Email,
            Identity::Email("client@example.net".into()),
            "Bonjour,\nvotre demande est traitée.",
        );
        m.subject = Some("Re: Facture".into());
        m.thread.in_reply_to = Some("abc@example.net".into());
        m.thread.references = vec!["root@example.net".into()];
        let e = build_email(&m, "Support <support@example.com>", "r1@example.com").unwrap();
        let raw = String::from_utf8(e.formatted()).unwrap();
        assert!(raw.contains("Message-ID: <r1@example.com>"), "{raw}");
        assert!(raw.contains("In-Reply-To: <abc@example.net>"), "{raw}");
        assert!(
            raw.contains("References: <root@example.net> <abc@example.net>"),
            "{raw}"
        );
    }

    #[test]
    fn non_email_recipient_is_refused() {
        let m = OutboundMessage::text(Channel::Email, Identity::Address("1234".into()), "x");
        assert!(matches!(
            build_email(&m, "a@b.c", "id@b.c"),
            Err(ChannelError::BadRecipient(_))
        ));
    }

    fn config(security: SmtpSecurity) -> SmtpConfig {
        SmtpConfig {
            host: "smtp.example.com".into(),
            port: 587,
            security,
            credentials: Some(("u".into(), "p".into())),
            from: "support@example.com".into(),
            message_id_domain: "example.com".into(),
        }
    }

    #[cfg(not(feature = "tls"))]
    #[test]
    fn starttls_without_the_tls_feature_is_a_clear_error() {
        assert!(matches!(
            EmailAdapter::new(config(SmtpSecurity::StartTls)),
            Err(EmailError::TlsUnavailable)
        ));
        assert!(EmailAdapter::new(config(SmtpSecurity::None)).is_ok());
    }

    #[cfg(feature = "tls")]
    #[test]
    fn starttls_transport_builds_with_the_tls_feature() {
        crate::install_tls_provider();
        assert!(EmailAdapter::new(config(SmtpSecurity::StartTls)).is_ok());
    }

    #[test]
    fn truncation_respects_char_boundaries() {
        let t = truncate("éé".to_string(), 3);
        assert_eq!(t, format!("é{TRUNCATED_MARKER}"));
        assert_eq!(truncate("abc".into(), 3), "abc");
    }
}
