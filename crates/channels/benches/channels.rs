//! Figures, not tests: SMS splitting, inbound e-mail parsing, webhook
//! verification+parsing and CSAT parsing per core.
//! Run: `cargo bench -p channels`.

use std::hint::black_box;
use std::time::Instant;

use channels::email::{InboundLimits, parse_inbound_email};
use channels::meta::{handle_webhook_post, webhook::sign};
use channels::{gsm, survey};
use domain::Timestamp;

fn rate(label: &str, n: u32, f: impl Fn(u32)) {
    let t = Instant::now();
    for i in 0..n {
        f(i);
    }
    let el = t.elapsed();
    println!(
        "{label}: {:?} each, {:.0}/s",
        el / n,
        f64::from(n) / el.as_secs_f64()
    );
}

fn main() {
    let now = Timestamp::from_millis(1_764_450_000_000);
    let long: String = "Suivi de votre demande 42. "
        .repeat(12)
        .chars()
        .take(300)
        .collect();
    rate("split_sms 300 GSM chars (2 parts)", 100_000, |i| {
        black_box(gsm::split_sms(black_box(&long), i as u8).ok());
    });
    let arabic = "مرحبا، شكرا لتواصلكم معنا 😀".repeat(4);
    rate("split_sms Arabic+emoji UCS-2 (2 parts)", 100_000, |i| {
        black_box(gsm::split_sms(black_box(&arabic), i as u8).ok());
    });

    let mut mail = String::from(
        "From: a@example.net\r\nTo: support@switchboard.test\r\nSubject: x\r\nMessage-ID: <1@example.net>\r\n\
Content-Type: text/plain; charset=utf-8\r\n\r\n",
    );
    mail.push_str(&"Bonjour, ma facture est fausse. ".repeat(60));
    let limits = InboundLimits::default();
    rate("parse_inbound_email ~2 KB text", 20_000, |_| {
        black_box(parse_inbound_email(mail.as_bytes(), now, &limits).ok());
    });

    let body = br#"{"object":"whatsapp_business_account","entry":[{"id":"1","changes":[{"value":{"messaging_product":"whatsapp","metadata":{"phone_number_id":"106540352242922"},"messages":[{"from":"22997000000","id":"wamid.X","timestamp":"1764450000","type":"text","text":{"body":"Bonjour"}}]},"field":"messages"}]}]}"#;
    let sig = sign(b"secret", body);
    rate("WhatsApp webhook verify+parse", 100_000, |_| {
        black_box(handle_webhook_post(b"secret", Some(&sig), body, now).ok());
    });

    rate("parse_csat", 1_000_000, |_| {
        black_box(survey::parse_csat(black_box("quatre étoiles")));
    });
}
