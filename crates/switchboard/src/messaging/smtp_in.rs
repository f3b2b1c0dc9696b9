//! Inbound e-mail: a small SMTP listener (RFC 5321 subset: `EHLO`/`HELO`,
//! `MAIL`, `RCPT`, `DATA` with dot-unstuffing, `RSET`, `NOOP`, `QUIT`; no
//! relaying, no AUTH, no TLS: run it on a private address behind the site's
//! mail server, which forwards the contact-center mailbox to it).
//!
//! Each message is parsed by [`channels::email::parse_inbound_email`] and
//! ingested; its `Message-ID` is remembered so that the thread
//! (`In-Reply-To`, `References`) of a later reply finds the conversation.
//! A message that cannot be parsed is refused with 554; one over
//! `max_message_bytes` with 552 (RFC 5321 §4.5.3.1.10).

use super::{Inbound, IngestError, Messaging, MessagingError, Outcome};
use channels::email::{EmailError, InboundLimits, parse_inbound_email};
use std::net::SocketAddr;
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};

/// Longest command line accepted (RFC 5321 §4.5.3.1.4 says 512 octets;
/// some clients send longer `MAIL` lines with parameters).
const MAX_LINE: usize = 4096;
/// Idle time-out of a session (RFC 5321 §4.5.3.2 suggests minutes).
const IDLE: Duration = Duration::from_secs(300);

/// Why a raw message was not ingested.
#[derive(Debug, thiserror::Error)]
pub enum MailInError {
    /// Not a readable RFC 5322 message, too large, or without sender.
    #[error("{0}")]
    Parse(#[from] EmailError),
    /// The ingest failed.
    #[error("{0}")]
    Ingest(#[from] IngestError),
}

/// Parse one raw RFC 5322 message and ingest it.
///
/// # Errors
/// [`MailInError`].
pub async fn ingest_raw(m: &Messaging, raw: &[u8]) -> Result<Outcome, MailInError> {
    let limits = InboundLimits {
        max_raw_bytes: m.inner.cfg.email_in.max_message_bytes,
        ..InboundLimits::default()
    };
    let msg = parse_inbound_email(raw, crate::now(), &limits)?;
    let subject = mail_parser::MessageParser::default()
        .parse(raw)
        .and_then(|p| p.subject().map(|s| s.chars().take(200).collect::<String>()));
    let name = mail_parser::MessageParser::default()
        .parse(raw)
        .and_then(|p| {
            p.from()
                .and_then(|a| a.first())
                .and_then(|a| a.name())
                .map(str::to_string)
        });
    let mut inbound = Inbound::new(msg);
    inbound.subject = subject;
    inbound.name = name;
    Ok(m.ingest(inbound).await?)
}

/// Bind the listener and serve it in the background. Returns the bound
/// address (`:0` picks a free port).
///
/// # Errors
/// [`MessagingError::Listen`].
pub async fn start(m: Messaging, listen: &str) -> Result<SocketAddr, MessagingError> {
    let l = TcpListener::bind(listen)
        .await
        .map_err(|e| MessagingError::Listen(listen.to_string(), e))?;
    let addr = l
        .local_addr()
        .map_err(|e| MessagingError::Listen(listen.to_string(), e))?;
    let _ = m.inner.smtp_addr.set(addr);
    let mut stop = m.inner.shutdown.subscribe();
    tokio::spawn(async move {
        loop {
            tokio::select! {
                acc = l.accept() => match acc {
                    Ok((sock, peer)) => {
                        let m = m.clone();
                        tokio::spawn(async move {
                            if let Err(e) = session(&m, sock).await {
                                tracing::debug!(%peer, error = %e, "SMTP session ended");
                            }
                        });
                    }
                    Err(e) => tracing::warn!(error = %e, "SMTP accept failed"),
                },
                _ = stop.changed() => return,
            }
        }
    });
    Ok(addr)
}

/// Read one CRLF-terminated line (without it), at most `max` bytes.
/// `Ok(None)` at end of stream; an over-long line is an error.
async fn read_line<R: tokio::io::AsyncBufRead + Unpin>(
    r: &mut R,
    max: usize,
) -> std::io::Result<Option<Vec<u8>>> {
    let mut buf = Vec::new();
    let n = tokio::time::timeout(
        IDLE,
        (&mut *r).take(max as u64 + 2).read_until(b'\n', &mut buf),
    )
    .await
    .map_err(|_| std::io::Error::new(std::io::ErrorKind::TimedOut, "idle"))??;
    if n == 0 {
        return Ok(None);
    }
    if !buf.ends_with(b"\n") {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            "line too long",
        ));
    }
    while buf.last().is_some_and(|b| *b == b'\n' || *b == b'\r') {
        buf.pop();
    }
    Ok(Some(buf))
}

async fn session(m: &Messaging, sock: TcpStream) -> std::io::Result<()> {
    let max = m.inner.cfg.email_in.max_message_bytes;
    let (r, mut w) = sock.into_split();
    let mut r = BufReader::new(r);
    w.write_all(b"220 switchboard ESMTP ready\r\n").await?;
    let (mut from, mut rcpt) = (false, false);
    while let Some(line) = read_line(&mut r, MAX_LINE).await? {
        let text = String::from_utf8_lossy(&line);
        let verb = text
            .split_whitespace()
            .next()
            .unwrap_or("")
            .to_ascii_uppercase();
        let reply: String = match verb.as_str() {
            "EHLO" => {
                format!("250-switchboard\r\n250-SIZE {max}\r\n250-8BITMIME\r\n250 SMTPUTF8\r\n")
            }
            "HELO" => "250 switchboard\r\n".into(),
            "MAIL" => {
                from = true;
                rcpt = false;
                "250 OK\r\n".into()
            }
            "RCPT" if from => {
                rcpt = true;
                "250 OK\r\n".into()
            }
            "RCPT" => "503 MAIL first\r\n".into(),
            "DATA" if rcpt => {
                w.write_all(b"354 End data with <CR><LF>.<CR><LF>\r\n")
                    .await?;
                let (raw, too_big) = read_data(&mut r, max).await?;
                from = false;
                rcpt = false;
                if too_big {
                    "552 message exceeds fixed maximum message size\r\n".into()
                } else {
                    match ingest_raw(m, &raw).await {
                        Ok(_) => "250 OK queued\r\n".into(),
                        Err(MailInError::Parse(e)) => {
                            tracing::warn!(error = %e, "inbound e-mail refused");
                            format!("554 {e}\r\n")
                        }
                        Err(MailInError::Ingest(e)) => {
                            tracing::error!(error = %e, "inbound e-mail not stored");
                            "451 local error, try again later\r\n".into()
                        }
                    }
                }
            }
            "DATA" => "503 RCPT first\r\n".into(),
            "RSET" => {
                from = false;
                rcpt = false;
                "250 OK\r\n".into()
            }
            "NOOP" => "250 OK\r\n".into(),
            "QUIT" => {
                w.write_all(b"221 bye\r\n").await?;
                return Ok(());
            }
            _ => "502 command not implemented\r\n".into(),
        };
        w.write_all(reply.as_bytes()).await?;
    }
    Ok(())
}

/// Read DATA up to the lone `.` line, undoing dot-stuffing (RFC 5321
/// §4.5.2). Past `max` bytes the rest is read and dropped; returns
/// `(message, too_big)`.
async fn read_data<R: tokio::io::AsyncBufRead + Unpin>(
    r: &mut R,
    max: usize,
) -> std::io::Result<(Vec<u8>, bool)> {
    let mut out = Vec::new();
    let mut too_big = false;
    loop {
        let Some(line) = read_line(r, max.saturating_add(2)).await? else {
            return Err(std::io::Error::new(
                std::io::ErrorKind::UnexpectedEof,
                "end of stream in DATA",
            ));
        };
        if line == b"." {
            return Ok((out, too_big));
        }
        let line = line.strip_prefix(b".").unwrap_or(&line);
        if out.len() + line.len() + 2 > max {
            too_big = true;
            out.clear();
            continue;
        }
        if !too_big {
            out.extend_from_slice(line);
            out.extend_from_slice(b"\r\n");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn data_is_unstuffed_and_bounded() {
        let input: &[u8] = b"Subject: x\r\n\r\n..hidden dot\r\nline\r\n.\r\n";
        let mut r = BufReader::new(input);
        let (raw, big) = read_data(&mut r, 1000).await.unwrap();
        assert!(!big);
        assert_eq!(raw, b"Subject: x\r\n\r\n.hidden dot\r\nline\r\n");
        let mut r = BufReader::new(input);
        let (raw, big) = read_data(&mut r, 10).await.unwrap();
        assert!(big && raw.is_empty());
        let mut r = BufReader::new(&b"no end"[..]);
        assert!(read_data(&mut r, 1000).await.is_err());
    }
}
