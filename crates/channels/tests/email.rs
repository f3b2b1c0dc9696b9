//! E-mail adapter: outbound against a real SMTP server (Debian
//! `python3-aiosmtpd`, driven by `tests/peers/smtp_sink.py`), inbound parsing of
//! raw RFC 5322 messages, including broken MIME and a 1 MB message.

use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use channels::email::{
    EmailAdapter, EmailError, InboundLimits, SmtpConfig, SmtpSecurity, TRUNCATED_MARKER,
    parse_inbound_email,
};
use channels::{ChannelAdapter, ChannelError, Identity, OutboundMessage};
use domain::{Channel, Timestamp};
use serde_json::Value;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::Command;

const WAIT: Duration = Duration::from_secs(15);

/// The Python that has aiosmtpd: `$SWITCHBOARD_TEST_PYTHON`, else Debian's
/// `/usr/bin/python3`, else `python3` on PATH.
fn python() -> String {
    if let Ok(p) = std::env::var("SWITCHBOARD_TEST_PYTHON") {
        return p;
    }
    if std::path::Path::new("/usr/bin/python3").exists() {
        return "/usr/bin/python3".into();
    }
    "python3".into()
}

fn now() -> Timestamp {
    Timestamp::from_millis(1_764_450_000_000)
}

#[tokio::test]
async fn outbound_reply_reaches_a_real_smtp_server_with_thread_headers() {
    let dir = tempfile::tempdir().expect("tempdir");
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/peers/smtp_sink.py");
    let mut child = Command::new(python())
        .arg(script)
        .arg(dir.path())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("python3 with aiosmtpd (apt-get install python3-aiosmtpd)");
    let mut lines = BufReader::new(child.stdout.take().expect("stdout")).lines();
    let mut next = async || -> Value {
        let l = tokio::time::timeout(WAIT, lines.next_line())
            .await
            .expect("SMTP sink silent (is python3-aiosmtpd installed?)")
            .expect("read")
            .expect("SMTP sink exited (is python3-aiosmtpd installed?)");
        serde_json::from_str(&l).expect("JSON line")
    };
    let first = next().await;
    assert_eq!(first["event"], "listening");
    let port = u16::try_from(first["port"].as_u64().expect("port")).expect("port");

    let adapter = EmailAdapter::new(SmtpConfig {
        host: "127.0.0.1".into(),
        port,
        security: SmtpSecurity::None,
        credentials: None,
        from: "Service client <support@switchboard.test>".into(),
        message_id_domain: "switchboard.test".into(),
    })
    .expect("adapter");

    let body = "Bonjour Aïcha,\n\nVotre facture de novembre est corrigée : 12 500 FCFA.\n\nCordialement,\nLe service client";
    let mut msg = OutboundMessage::text(
        Channel::Email,
        Identity::Email("aicha@example.net".into()),
        body,
    );
    msg.subject = Some("Re: Ma facture de novembre".into());
    msg.thread.in_reply_to = Some("c1.42@mail.example.net".into());
    msg.thread.references = vec!["c0.41@mail.example.net".into()];
    let receipt = adapter.send(&msg).await.expect("send");
    let our_id = receipt.provider_message_ids[0].clone();
    assert!(our_id.ends_with("@switchboard.test"), "{our_id}");

    let got = next().await;
    assert_eq!(got["event"], "message");
    assert_eq!(got["mail_from"], "support@switchboard.test");
    assert_eq!(got["rcpt_tos"], serde_json::json!(["aicha@example.net"]));
    let raw = std::fs::read(got["file"].as_str().expect("file")).expect("read eml");
    let text = String::from_utf8_lossy(&raw);
    assert!(text.contains(&format!("Message-ID: <{our_id}>")), "{text}");
    assert!(
        text.contains("In-Reply-To: <c1.42@mail.example.net>"),
        "{text}"
    );
    assert!(
        text.contains("References: <c0.41@mail.example.net> <c1.42@mail.example.net>"),
        "{text}"
    );
    assert!(
        text.contains("Subject: Re: Ma facture de novembre"),
        "{text}"
    );

    // Read back through our own parser: body decoded, thread keys intact.
    let back = parse_inbound_email(&raw, now(), &InboundLimits::default()).expect("parse");
    assert_eq!(back.text.trim_end(), body);
    assert_eq!(
        back.from,
        Identity::Email("support@switchboard.test".into())
    );
    assert_eq!(back.thread.message_id.as_deref(), Some(our_id.as_str()));
    assert_eq!(
        back.thread.in_reply_to.as_deref(),
        Some("c1.42@mail.example.net")
    );
    assert_eq!(
        back.thread.references,
        vec![
            "c0.41@mail.example.net".to_string(),
            "c1.42@mail.example.net".to_string()
        ]
    );

    // Not an e-mail address: refused before any SMTP traffic.
    let bad = OutboundMessage::text(Channel::Email, Identity::from_msisdn("22997000000"), "x");
    assert!(matches!(
        adapter.send(&bad).await,
        Err(ChannelError::BadRecipient(_))
    ));
    drop(child.stdin.take());
    let _ = tokio::time::timeout(WAIT, child.wait()).await;
}

#[tokio::test]
async fn smtp_server_down_is_a_temporary_error() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("free port");
    let adapter = EmailAdapter::new(SmtpConfig {
        host: "127.0.0.1".into(),
        port,
        security: SmtpSecurity::None,
        credentials: None,
        from: "support@switchboard.test".into(),
        message_id_domain: "switchboard.test".into(),
    })
    .expect("adapter");
    let msg = OutboundMessage::text(Channel::Email, Identity::Email("a@example.net".into()), "x");
    let err = adapter.send(&msg).await.unwrap_err();
    assert!(err.is_retryable(), "{err:?}");
}

const CUSTOMER_REPLY: &str = "From: =?UTF-8?Q?A=C3=AFcha_K.?= <aicha@example.net>\r
To: support@switchboard.test\r
Subject: Re: Ma facture de novembre\r
Message-ID: <c2.43@mail.example.net>\r
In-Reply-To: <1764450000000.0.1@switchboard.test>\r
References: <c0.41@mail.example.net>\r
 <c1.42@mail.example.net> <1764450000000.0.1@switchboard.test>\r
MIME-Version: 1.0\r
Content-Type: multipart/mixed; boundary=\"outer\"\r
\r
--outer\r
Content-Type: multipart/alternative; boundary=\"alt\"\r
\r
--alt\r
Content-Type: text/plain; charset=utf-8\r
Content-Transfer-Encoding: quoted-printable\r
\r
Merci, c'est r=C3=A9gl=C3=A9 !\r
--alt\r
Content-Type: text/html; charset=utf-8\r
\r
<p>Merci, c'est <b>r\u{e9}gl\u{e9}</b> !</p>\r
--alt--\r
--outer\r
Content-Type: application/pdf; name=\"recu.pdf\"\r
Content-Disposition: attachment; filename=\"recu.pdf\"\r
Content-Transfer-Encoding: base64\r
\r
JVBERi0xLjQKJcOkw7zDtsOfCg==\r
--outer--\r
";

#[test]
fn inbound_reply_threads_prefers_text_and_extracts_attachments() {
    let m = parse_inbound_email(CUSTOMER_REPLY.as_bytes(), now(), &InboundLimits::default())
        .expect("parse");
    assert_eq!(m.channel, Channel::Email);
    assert_eq!(m.from, Identity::Email("aicha@example.net".into()));
    assert_eq!(m.to, Identity::Email("support@switchboard.test".into()));
    assert_eq!(m.text.trim_end(), "Merci, c'est réglé !");
    assert_eq!(
        m.provider_message_id.as_deref(),
        Some("c2.43@mail.example.net")
    );
    assert_eq!(
        m.thread.in_reply_to.as_deref(),
        Some("1764450000000.0.1@switchboard.test")
    );
    assert_eq!(
        m.thread.references,
        vec![
            "c0.41@mail.example.net".to_string(),
            "c1.42@mail.example.net".to_string(),
            "1764450000000.0.1@switchboard.test".to_string()
        ]
    );
    assert_eq!(m.attachments.len(), 1);
    let a = &m.attachments[0];
    assert_eq!(a.name.as_deref(), Some("recu.pdf"));
    assert_eq!(a.content_type, "application/pdf");
    assert_eq!(&a.bytes[..8], b"%PDF-1.4");
    assert_eq!(m.received_at, now());
}

#[test]
fn html_only_body_is_sanitised_to_text() {
    let raw = "From: bob@example.net\r\nTo: support@switchboard.test\r\nSubject: hi\r\n\
Content-Type: text/html; charset=utf-8\r\n\r\n\
<html><head><style>p{color:red}</style><script>alert('x')</script></head>\
<body><p>Bonjour <b>&eacute;quipe</b>,</p><p>mon <a href=\"https://example.net/x\">lien</a></p>\
<img src=x onerror=alert(1)></body></html>\r\n";
    let m = parse_inbound_email(raw.as_bytes(), now(), &InboundLimits::default()).expect("parse");
    assert!(m.text.contains("Bonjour équipe,"), "{:?}", m.text);
    assert!(m.text.contains("lien"), "{:?}", m.text);
    for bad in ["<", ">", "script", "alert", "color:red", "onerror"] {
        assert!(!m.text.contains(bad), "{bad:?} left in {:?}", m.text);
    }
}

#[test]
fn broken_mime_does_not_panic_and_keeps_what_it_can() {
    // Boundary never closed, bad base64, a header without a colon, NUL bytes.
    let raw = b"From: eve@example.net\r\nTo: support@switchboard.test\r\nThis is not a header\r\n\
Content-Type: multipart/mixed; boundary=\"b1\"\r\n\r\n--b1\r\nContent-Type: text/plain\r\n\r\n\
Hello \x00 world\r\n--b1\r\nContent-Type: image/png; name=a.png\r\nContent-Transfer-Encoding: base64\r\n\r\n\
!!!not base64!!!\r\n";
    let m = parse_inbound_email(raw, now(), &InboundLimits::default()).expect("lenient parse");
    assert!(m.text.contains("Hello"), "{:?}", m.text);
    // Garbage and empty input: a clear error, no panic.
    for junk in [&b""[..], b"\xff\xfe\x00garbage", b"no headers at all"] {
        let r = parse_inbound_email(junk, now(), &InboundLimits::default());
        assert!(
            matches!(r, Err(EmailError::Unparseable | EmailError::NoSender)),
            "{r:?}"
        );
    }
}

#[test]
fn one_megabyte_message_is_truncated_and_oversize_refused() {
    let mut raw = String::from(
        "From: big@example.net\r\nTo: support@switchboard.test\r\nSubject: big\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n",
    );
    while raw.len() < 1024 * 1024 {
        raw.push_str("Ligne de texte très longue pour remplir le message. ");
    }
    let limits = InboundLimits::default();
    let m = parse_inbound_email(raw.as_bytes(), now(), &limits).expect("parse 1 MB");
    assert!(m.text.ends_with(TRUNCATED_MARKER));
    assert!(m.text.len() <= limits.max_text_bytes + TRUNCATED_MARKER.len());
    assert!(m.text.len() > limits.max_text_bytes - 4);
    let small = InboundLimits {
        max_raw_bytes: 512 * 1024,
        ..limits
    };
    assert!(matches!(
        parse_inbound_email(raw.as_bytes(), now(), &small),
        Err(EmailError::TooLarge(n, 524_288)) if n >= 1024 * 1024
    ));
}
