//! SMS adapter against a real SMSC simulator: npm `smpp` (createServer) driven by
//! `tests/peers/smsc.js`. Needs node and `npm install --prefix crates/channels/tests/peers`.

use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use channels::sms::{SmppConfig, SmsAdapter};
use channels::{
    ChannelAdapter, ChannelError, ChannelEvent, DeliveryState, Identity, OutboundMessage,
};
use domain::Channel;
use serde_json::Value;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::process::{Child, ChildStdin, Command};
use tokio::sync::mpsc;

const WAIT: Duration = Duration::from_secs(15);

struct Smsc {
    _child: Child,
    stdin: ChildStdin,
    lines: mpsc::UnboundedReceiver<Value>,
    port: u16,
}

impl Smsc {
    async fn start() -> Smsc {
        let peers = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/peers");
        assert!(
            peers.join("node_modules/smpp").exists(),
            "SMSC simulator missing: run `npm install --no-audit --no-fund --prefix crates/channels/tests/peers`"
        );
        let mut child = Command::new("node")
            .arg(peers.join("smsc.js"))
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .expect("node must be installed to run the SMSC simulator");
        let stdout = child.stdout.take().expect("piped stdout");
        let stdin = child.stdin.take().expect("piped stdin");
        let (tx, mut lines) = mpsc::unbounded_channel();
        tokio::spawn(async move {
            let mut r = BufReader::new(stdout).lines();
            while let Ok(Some(l)) = r.next_line().await {
                if let Ok(v) = serde_json::from_str::<Value>(&l)
                    && tx.send(v).is_err()
                {
                    break;
                }
            }
        });
        let first = tokio::time::timeout(WAIT, lines.recv())
            .await
            .expect("simulator did not start")
            .expect("simulator exited");
        assert_eq!(first["event"], "listening");
        let port = u16::try_from(first["port"].as_u64().expect("port")).expect("port range");
        Smsc {
            _child: child,
            stdin,
            lines,
            port,
        }
    }

    /// The next line whose event is `name` (other events are skipped).
    async fn next(&mut self, name: &str) -> Value {
        loop {
            let v = tokio::time::timeout(WAIT, self.lines.recv())
                .await
                .unwrap_or_else(|_| panic!("no {name} from the simulator"))
                .expect("simulator exited");
            if v["event"] == name {
                return v;
            }
        }
    }

    async fn cmd(&mut self, line: &str) {
        self.stdin
            .write_all(format!("{line}\n").as_bytes())
            .await
            .expect("write to simulator");
        self.stdin.flush().await.expect("flush");
    }
}

fn config(port: u16) -> SmppConfig {
    let mut c = SmppConfig::new(
        &format!("127.0.0.1:{port}"),
        "switchboard",
        "secret",
        "SWITCHBD",
    );
    c.reconnect.initial_delay_ms = 100;
    c.reconnect.max_delay_ms = 1_000;
    c
}

async fn next_event(rx: &mut mpsc::Receiver<ChannelEvent>) -> ChannelEvent {
    tokio::time::timeout(WAIT, rx.recv())
        .await
        .expect("no channel event")
        .expect("adapter dropped the sender")
}

fn sms(text: &str) -> OutboundMessage {
    OutboundMessage::text(Channel::Sms, Identity::from_msisdn("22997000000"), text)
}

const FRENCH: &str = "Votre colis arrive à 14h. Merci de votre fidélité, à très vite !";
const ARABIC_EMOJI: &str = "مرحبا، شكرا لتواصلكم معنا 😀";

#[tokio::test]
async fn submit_deliver_receipt_and_malformed_pdu() {
    let _ = tracing_subscriber::fmt().with_test_writer().try_init();
    let mut smsc = Smsc::start().await;
    let (tx, mut rx) = mpsc::channel(16);
    let (sms_adapter, task) = SmsAdapter::spawn(config(smsc.port), tx);

    let bind = smsc.next("bind_transceiver").await;
    assert_eq!(bind["system_id"], "switchboard");
    assert_eq!(bind["password"], "secret");
    assert_eq!(bind["interface_version"], 0x34);
    assert!(sms_adapter.wait_bound(WAIT).await);

    // Accented French that fits GSM 03.38: data_coding 0, one part.
    let r = sms_adapter.send(&sms(FRENCH)).await.expect("send French");
    let s = smsc.next("submit_sm").await;
    assert_eq!(s["data_coding"], 0);
    assert_eq!(s["esm_class"], 0);
    assert_eq!(s["udh_hex"], Value::Null);
    assert_eq!(s["text"], FRENCH);
    assert_eq!(s["destination_addr"], "22997000000");
    assert_eq!(s["source_addr"], "SWITCHBD");
    assert_eq!(s["registered_delivery"], 1);
    assert_eq!(
        r.provider_message_ids,
        vec![s["message_id"].as_str().unwrap().to_string()]
    );
    let french_id = s["message_id"].as_str().unwrap().to_string();

    // Arabic and an emoji: UCS-2 (data_coding 8), surrogate pair intact.
    sms_adapter
        .send(&sms(ARABIC_EMOJI))
        .await
        .expect("send Arabic");
    let s = smsc.next("submit_sm").await;
    assert_eq!(s["data_coding"], 8);
    assert_eq!(s["text"], ARABIC_EMOJI);

    // 300 characters: two parts with UDH, esm_class UDHI.
    let long: String = "Suivi de votre demande 42. "
        .repeat(12)
        .chars()
        .take(300)
        .collect();
    let r = sms_adapter.send(&sms(&long)).await.expect("send long");
    assert_eq!(r.provider_message_ids.len(), 2);
    let p1 = smsc.next("submit_sm").await;
    let p2 = smsc.next("submit_sm").await;
    for (p, seq) in [(&p1, "01"), (&p2, "02")] {
        assert_eq!(p["data_coding"], 0);
        assert_eq!(p["esm_class"], 0x40);
        let udh = p["udh_hex"].as_str().expect("UDH present");
        assert_eq!(&udh[..6], "050003", "IEI 0x00, 3 octets");
        assert_eq!(&udh[8..], format!("02{seq}"));
    }
    assert_eq!(
        p1["udh_hex"].as_str().unwrap()[6..8],
        p2["udh_hex"].as_str().unwrap()[6..8]
    );
    assert_eq!(p1["text"].as_str().unwrap().chars().count(), 153);
    assert_eq!(
        format!(
            "{}{}",
            p1["text"].as_str().unwrap(),
            p2["text"].as_str().unwrap()
        ),
        long
    );

    // A mobile-originated SMS becomes an InboundMessage.
    smsc.cmd(r#"deliver {"source_addr":"22997000000","destination_addr":"1234","data_coding":0,"short_message":"Ça marche, merci !"}"#)
        .await;
    match next_event(&mut rx).await {
        ChannelEvent::Inbound(m) => {
            assert_eq!(m.channel, Channel::Sms);
            assert_eq!(m.text, "Ça marche, merci !");
            assert_eq!(m.from, Identity::from_msisdn("22997000000"));
            assert!(matches!(&m.from, Identity::Phone(p) if p.as_str() == "+22997000000"));
            assert_eq!(m.to, Identity::Address("1234".into()));
        }
        other => panic!("expected inbound, got {other:?}"),
    }
    let resp = smsc.next("deliver_sm_resp").await;
    assert_eq!(resp["status"], 0);

    smsc.cmd(r#"deliver {"source_addr":"22997000000","destination_addr":"1234","data_coding":8,"short_message":"شكرا"}"#)
        .await;
    match next_event(&mut rx).await {
        ChannelEvent::Inbound(m) => assert_eq!(m.text, "شكرا"),
        other => panic!("expected inbound, got {other:?}"),
    }

    // A delivery receipt becomes a status update.
    smsc.cmd(&format!("dlr {french_id} DELIVRD")).await;
    match next_event(&mut rx).await {
        ChannelEvent::Status(s) => {
            assert_eq!(s.provider_message_id, french_id);
            assert_eq!(s.state, DeliveryState::Delivered);
            assert_eq!(s.detail, "DELIVRD");
        }
        other => panic!("expected status, got {other:?}"),
    }

    // A malformed PDU (command_length 5): the session is reset, no panic, and
    // the adapter binds again.
    smsc.cmd("malformed").await;
    smsc.next("closed").await;
    let bind = smsc.next("bind_transceiver").await;
    assert_eq!(bind["system_id"], "switchboard");
    assert!(sms_adapter.wait_bound(WAIT).await);
    sms_adapter
        .send(&sms("encore là"))
        .await
        .expect("send after reconnect");
    let s = smsc.next("submit_sm").await;
    assert_eq!(s["text"], "encore là");

    // A header announcing 16 MiB: refused by the codec's length cap, same reset.
    smsc.cmd("huge").await;
    smsc.next("closed").await;
    smsc.next("bind_transceiver").await;
    assert!(sms_adapter.wait_bound(WAIT).await);

    sms_adapter.shutdown();
    smsc.next("unbind").await;
    tokio::time::timeout(WAIT, task)
        .await
        .expect("driver stops")
        .expect("no panic");
}

#[tokio::test]
async fn send_without_an_smsc_is_retryable() {
    // A port nobody listens on (bound then released).
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("free port");
    let (tx, _rx) = mpsc::channel(4);
    let (sms_adapter, task) = SmsAdapter::spawn(config(port), tx);
    let err = sms_adapter.send(&sms("hello")).await.unwrap_err();
    assert!(matches!(err, ChannelError::NotConnected(_)), "{err:?}");
    assert!(err.is_retryable());
    let wrong = OutboundMessage::text(Channel::Sms, Identity::Email("a@b.c".into()), "x");
    assert!(matches!(
        sms_adapter.send(&wrong).await,
        Err(ChannelError::BadRecipient(_))
    ));
    sms_adapter.shutdown();
    tokio::time::timeout(WAIT, task)
        .await
        .expect("driver stops")
        .expect("no panic");
}

#[tokio::test]
async fn keep_alive_and_smsc_initiated_unbind() {
    let mut smsc = Smsc::start().await;
    let (tx, _rx) = mpsc::channel(4);
    let mut c = config(smsc.port);
    c.enquire_link_interval = Duration::from_millis(100);
    let (sms_adapter, task) = SmsAdapter::spawn(c, tx);
    smsc.next("bind_transceiver").await;
    // Two keep-alives answered: the session stays up.
    smsc.next("enquire_link").await;
    smsc.next("enquire_link").await;
    assert!(sms_adapter.is_bound());
    // The SMSC unbinds: we answer unbind_resp, then bind again.
    smsc.cmd("unbind").await;
    let resp = smsc.next("unbind_resp").await;
    assert_eq!(resp["status"], 0);
    smsc.next("bind_transceiver").await;
    assert!(sms_adapter.wait_bound(WAIT).await);
    sms_adapter.shutdown();
    smsc.next("unbind").await;
    tokio::time::timeout(WAIT, task)
        .await
        .expect("driver stops")
        .expect("no panic");
}
