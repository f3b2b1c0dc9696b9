//! E-mail in (SMTP listener) and out (relay stand-in) with threading, and
//! outbox recovery after a crash.

use super::common::sip::*;
use super::common::smtp::smtp_sink;
use super::harness::*;
use serde_json::json;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};

async fn smtp_deliver(addr: std::net::SocketAddr, raw: &str) -> String {
    let s = tokio::net::TcpStream::connect(addr).await.unwrap();
    let (r, mut w) = s.into_split();
    let mut r = BufReader::new(r).lines();
    let mut expect = async |code: &str| {
        let mut last;
        loop {
            last = r.next_line().await.unwrap().unwrap();
            if last.len() < 4 || last.as_bytes()[3] != b'-' {
                break;
            }
        }
        assert!(last.starts_with(code), "wanted {code}, got {last}");
        last
    };
    expect("220").await;
    for (cmd, code) in [
        ("EHLO test.example\r\n", "250"),
        ("MAIL FROM:<awa@example.net>\r\n", "250"),
        ("RCPT TO:<support@switchboard.local>\r\n", "250"),
        ("DATA\r\n", "354"),
    ] {
        w.write_all(cmd.as_bytes()).await.unwrap();
        expect(code).await;
    }
    let stuffed = raw.replace("\n.", "\n..");
    w.write_all(stuffed.replace('\n', "\r\n").as_bytes())
        .await
        .unwrap();
    w.write_all(b"\r\n.\r\n").await.unwrap();
    let answer = expect("").await;
    w.write_all(b"QUIT\r\n").await.unwrap();
    answer
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn email_threads_both_ways_into_one_conversation() {
    let (sink_port, mut sink) = smtp_sink().await;
    let p = server(move |s| {
        s.channels.email_in.smtp_listen = "127.0.0.1:0".into();
        s.channels.smtp.enabled = true;
        s.channels.smtp.host = "127.0.0.1".into();
        s.channels.smtp.port = sink_port;
        s.channels.smtp.from = "Service client <support@switchboard.local>".into();
        s.channels.dispatch_interval_ms = 50;
        // Only the thread may tie a message to an earlier one.
        s.channels.reopen_window_s = 0;
    })
    .await;
    let sup = p.srv.login("supervisor").await;
    let base = last_seq(&p, &sup).await;
    let status = get(&p, &sup, "/api/v1/channels").await;
    assert_eq!(status["adapters"], json!(["email", "webchat"]));
    let smtp: std::net::SocketAddr = status["email_in"].as_str().unwrap().parse().unwrap();
    let first = "From: Awa Diallo <awa@example.net>\nTo: support@switchboard.local\nSubject: Facture de novembre\nMessage-ID: <m1@example.net>\n\nBonjour,\n.une ligne qui commence par un point\n";
    assert!(smtp_deliver(smtp, first).await.starts_with("250"));
    let list = get(&p, &sup, "/api/v1/interactions?channel=email").await;
    let list = list.as_array().unwrap().clone();
    assert_eq!(list.len(), 1);
    let id = list[0]["id"].as_i64().unwrap();
    let c = get(
        &p,
        &sup,
        &format!("/api/v1/customers/{}", list[0]["customer_id"]),
    )
    .await;
    assert_eq!(c["emails"], json!(["awa@example.net"]));
    assert_eq!(c["name"], "Awa Diallo");
    let reply = "From: awa@example.net\nTo: support@switchboard.local\nSubject: Re: Facture de novembre\nMessage-ID: <m2@example.net>\nIn-Reply-To: <m1@example.net>\nReferences: <m1@example.net>\nContent-Type: text/html\n\n<p>Encore <b>moi</b><script>x()</script></p>\n";
    assert!(smtp_deliver(smtp, reply).await.starts_with("250"));
    let msgs = get(
        &p,
        &sup,
        &format!("/api/v1/events?kind=message_in&interaction_id={id}"),
    )
    .await;
    let texts: Vec<&str> = msgs
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["kind"]["text"].as_str().unwrap())
        .collect();
    assert_eq!(texts.len(), 2, "{texts:?}");
    assert!(
        texts[0].contains("\n.une ligne"),
        "dot-stuffing undone: {texts:?}"
    );
    assert_eq!(texts[1].trim(), "Encore moi");
    // The agent's reply (queued directly here) answers the thread.
    let store = store_of(p.srv.dir.path()).await;
    let reply_row = store
        .enqueue_message(
            &store::NewOutboxMessage {
                channel: domain::Channel::Email,
                recipient: "awa@example.net".into(),
                body: "Bonjour Madame,\nla facture est corrigée.".into(),
                interaction_id: Some(domain::InteractionId(id)),
                customer_id: list[0]["customer_id"].as_i64().map(domain::CustomerId),
                purpose: "agent_reply".into(),
            },
            switchboard::now(),
        )
        .await
        .unwrap();
    let raw = tokio::time::timeout(WAIT, sink.recv())
        .await
        .expect("the reply reaches the relay")
        .unwrap();
    assert!(raw.contains("Subject: Re: Facture de novembre"), "{raw}");
    assert!(raw.contains("In-Reply-To: <m2@example.net>"), "{raw}");
    assert!(
        raw.contains("References: <m1@example.net> <m2@example.net>"),
        "{raw}"
    );
    assert!(raw.contains("To: awa@example.net"), "{raw}");
    let ours = raw
        .lines()
        .find_map(|l| l.strip_prefix("Message-ID: <"))
        .and_then(|l| l.strip_suffix('>'))
        .expect("our Message-ID")
        .to_string();
    let row = wait_status(&p, &sup, reply_row.id, "sent").await;
    assert_eq!(row["provider_message_id"], ours.as_str());
    // The customer answers our reply only (In-Reply-To our id): same conversation.
    let answer = format!(
        "From: awa@example.net\nTo: support@switchboard.local\nSubject: merci\nMessage-ID: <m3@example.net>\nIn-Reply-To: <{ours}>\n\nMerci beaucoup\n"
    );
    assert!(smtp_deliver(smtp, &answer).await.starts_with("250"));
    let msgs = get(
        &p,
        &sup,
        &format!("/api/v1/events?kind=message_in&interaction_id={id}"),
    )
    .await;
    assert_eq!(msgs.as_array().unwrap().len(), 3);
    // A new e-mail with no thread opens a new conversation.
    let fresh = "From: awa@example.net\nTo: support@switchboard.local\nSubject: autre sujet\nMessage-ID: <m4@example.net>\n\nAutre chose\n";
    assert!(smtp_deliver(smtp, fresh).await.starts_with("250"));
    let list = get(&p, &sup, "/api/v1/interactions?channel=email").await;
    assert_eq!(list.as_array().unwrap().len(), 2);

    // An attachment is stored under the data folder and named in the text.
    let with_file = "From: awa@example.net\nTo: support@switchboard.local\nSubject: justificatif\nMessage-ID: <m5@example.net>\nMIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=\"b1\"\n\n--b1\nContent-Type: text/plain; charset=utf-8\n\nVoici le justificatif.\n--b1\nContent-Type: application/pdf; name=\"facture.pdf\"\nContent-Disposition: attachment; filename=\"facture.pdf\"\nContent-Transfer-Encoding: base64\n\nJVBERi0xLjQK\n--b1--\n";
    assert!(smtp_deliver(smtp, with_file).await.starts_with("250"));
    // A 1 MB message is taken; its text is cut at 64 KiB with a marker.
    let big = format!(
        "From: awa@example.net\nTo: support@switchboard.local\nSubject: gros\nMessage-ID: <m6@example.net>\n\n{}\n",
        "0123456789abcdef ".repeat(60_000)
    );
    assert!(big.len() > 1_000_000);
    assert!(smtp_deliver(smtp, &big).await.starts_with("250"));
    let last = get(
        &p,
        &sup,
        &format!("/api/v1/events?kind=message_in&after_seq={base}"),
    )
    .await;
    let last = last.as_array().unwrap();
    let file_text = last[last.len() - 2]["kind"]["text"].as_str().unwrap();
    assert!(
        file_text.starts_with("Voici le justificatif."),
        "{file_text}"
    );
    let stored = file_text
        .split("stored as ")
        .nth(1)
        .and_then(|r| r.strip_suffix(']'))
        .expect("attachment line");
    assert!(
        file_text.contains("[attachment: facture.pdf (application/pdf, 9 bytes)"),
        "{file_text}"
    );
    assert_eq!(
        std::fs::read(p.srv.dir.path().join(stored)).unwrap(),
        b"%PDF-1.4\n"
    );
    let big_text = last[last.len() - 1]["kind"]["text"].as_str().unwrap();
    assert!(big_text.len() < 70_000 && big_text.ends_with("[… message truncated]"));

    // No From: refused with 554, nothing stored.
    let broken = "To: support@switchboard.local\nSubject: ?\n\nqui suis-je\n";
    assert!(smtp_deliver(smtp, broken).await.starts_with("554"));
    let all = get(
        &p,
        &sup,
        &format!("/api/v1/events?kind=message_in&after_seq={base}"),
    )
    .await;
    assert_eq!(all.as_array().unwrap().len(), 6);
    p.srv.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_message_caught_sending_by_a_crash_is_sent_after_restart() {
    let dir = tempfile::tempdir().unwrap();
    let store = store::open(&format!("sqlite://{}/switchboard.db", dir.path().display()))
        .await
        .unwrap();
    let row = store
        .enqueue_message(
            &store::NewOutboxMessage {
                channel: domain::Channel::Webchat,
                recipient: "visitor-00000042".into(),
                body: "Toujours là ?".into(),
                interaction_id: None,
                customer_id: None,
                purpose: "agent_reply".into(),
            },
            switchboard::now(),
        )
        .await
        .unwrap();
    // The previous run claimed it and died before writing the outcome.
    let claimed = store
        .claim_due_messages(&[domain::Channel::Webchat], switchboard::now(), 10)
        .await
        .unwrap();
    assert_eq!(claimed.len(), 1);
    store.close().await;
    let p = server_in(dir, |s| s.channels.dispatch_interval_ms = 50).await;
    let sup = p.srv.login("supervisor").await;
    let r = wait_status(&p, &sup, row.id, "sent").await;
    assert_eq!(r["attempts"], 2, "the interrupted attempt counts: {r}");
    assert_eq!(r["last_error"], "interrupted by restart");
    p.srv.shutdown().await;
}
