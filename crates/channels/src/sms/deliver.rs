//! Reading what the SMSC delivers (pure): delivery receipts (SMPP 3.4 Appendix B
//! text format) and mobile-originated messages, including reassembly of
//! concatenated inbound SMS (3GPP TS 23.040 §9.2.3.24.1).

use std::collections::HashMap;

use domain::{Channel, Timestamp};

use crate::adapter::{
    ChannelEvent, DeliveryState, Identity, InboundMessage, StatusUpdate, ThreadKeys,
};
use crate::gsm;

/// `esm_class` message-type bits (SMPP 3.4 §5.2.12, bits 5-2).
const ESM_TYPE_MASK: u8 = 0x3C;
/// SMSC delivery receipt.
const ESM_TYPE_DELIVERY_RECEIPT: u8 = 0x04;
/// Intermediate delivery notification.
const ESM_TYPE_INTERMEDIATE: u8 = 0x20;
/// UDH indicator (GSM features, bit 6).
const ESM_UDHI: u8 = 0x40;

/// A parsed delivery receipt: `id:… sub:… dlvrd:… submit date:… done date:…
/// stat:DELIVRD err:… text:…` (SMPP 3.4 Appendix B; fields may be missing).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Receipt {
    /// The message id the SMSC gave in `submit_sm_resp`.
    pub id: String,
    /// The 7-letter state (`DELIVRD`, `EXPIRED`, `DELETED`, `UNDELIV`,
    /// `ACCEPTD`, `UNKNOWN`, `REJECTD`, `ENROUTE`).
    pub stat: String,
    /// The network error code, when given.
    pub err: Option<String>,
}

impl Receipt {
    /// Our [`DeliveryState`] for the SMSC's `stat`.
    pub fn state(&self) -> DeliveryState {
        match self.stat.as_str() {
            "DELIVRD" => DeliveryState::Delivered,
            "ACCEPTD" | "ENROUTE" => DeliveryState::Sent,
            _ => DeliveryState::Failed,
        }
    }
}

/// Parse receipt text. `None` when there is no `id:` or no `stat:`.
pub fn parse_receipt(text: &str) -> Option<Receipt> {
    fn field<'a>(text: &'a str, key: &str) -> Option<&'a str> {
        let lower = text.to_ascii_lowercase();
        let mut from = 0;
        while let Some(pos) = lower[from..].find(key) {
            let at = from + pos;
            // The key must start a word ("id:" but not "...xid:").
            if at == 0 || text.as_bytes()[at - 1] == b' ' {
                let rest = &text[at + key.len()..];
                let end = rest.find(' ').unwrap_or(rest.len());
                return Some(&rest[..end]);
            }
            from = at + key.len();
        }
        None
    }
    let id = field(text, "id:")?.to_string();
    let stat = field(text, "stat:")?.to_ascii_uppercase();
    if id.is_empty() || stat.is_empty() {
        return None;
    }
    let err = field(text, "err:").map(str::to_string);
    Some(Receipt { id, stat, err })
}

/// Decode a `short_message` (UDH already removed) by `data_coding`
/// (SMPP 3.4 §5.2.19): 0 GSM 7-bit unpacked, 1 IA5/ASCII, 3 Latin-1, 8 UCS-2,
/// anything else as lossy UTF-8.
pub fn decode_text(data_coding: u8, payload: &[u8]) -> String {
    match data_coding {
        0x00 => gsm::decode_gsm7(payload),
        0x03 => payload.iter().map(|&b| char::from(b)).collect(),
        0x08 => gsm::decode_ucs2(payload),
        _ => String::from_utf8_lossy(payload).into_owned(),
    }
}

/// The fields of a `deliver_sm` this module needs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DeliverSmFields<'a> {
    /// `source_addr`: the customer (MO) or the original recipient (receipt).
    pub source_addr: &'a str,
    /// `destination_addr`: our short code / number.
    pub destination_addr: &'a str,
    /// `esm_class` octet.
    pub esm_class: u8,
    /// `data_coding` octet.
    pub data_coding: u8,
    /// `short_message` octets (with the UDH when UDHI is set).
    pub short_message: &'a [u8],
}

/// A concatenated message: (source address, reference, total parts).
type PartKey = (String, u16, u8);

/// Turns `deliver_sm` PDUs into [`ChannelEvent`]s, holding parts of
/// concatenated messages until all have arrived (pure; `now` passed in).
#[derive(Debug, Default)]
pub struct DeliverAssembler {
    /// (source, reference, total) → parts by sequence number, first seen at.
    pending: HashMap<PartKey, (Vec<Option<String>>, Timestamp)>,
}

/// How long parts of a concatenated message wait for the rest, ms.
pub const REASSEMBLY_TIMEOUT_MS: i64 = 300_000;

impl DeliverAssembler {
    /// An empty assembler.
    pub fn new() -> Self {
        Self::default()
    }

    /// Handle one `deliver_sm`. Returns the event it completes, if any: a
    /// [`ChannelEvent::Status`] for a receipt, a [`ChannelEvent::Inbound`] for a
    /// whole MO message, `None` for a part still waiting or an unreadable
    /// receipt. Incomplete messages older than [`REASSEMBLY_TIMEOUT_MS`] are
    /// delivered with what arrived (missing parts shown as `…`).
    pub fn handle_deliver_sm(
        &mut self,
        now: Timestamp,
        pdu: &DeliverSmFields<'_>,
    ) -> Vec<ChannelEvent> {
        let mut out = self.expire(now, pdu.destination_addr);
        let kind = pdu.esm_class & ESM_TYPE_MASK;
        if kind == ESM_TYPE_DELIVERY_RECEIPT || kind == ESM_TYPE_INTERMEDIATE {
            let text = decode_text(pdu.data_coding, pdu.short_message);
            match parse_receipt(&text) {
                Some(r) => out.push(ChannelEvent::Status(StatusUpdate {
                    channel: Channel::Sms,
                    provider_message_id: r.id.clone(),
                    state: r.state(),
                    detail: r.stat.clone(),
                    at: now,
                })),
                None => tracing::warn!(%text, "unreadable SMPP delivery receipt"),
            }
            return out;
        }
        let (concat, payload) = if pdu.esm_class & ESM_UDHI != 0 {
            gsm::strip_udh(pdu.short_message)
        } else {
            (None, pdu.short_message)
        };
        let text = decode_text(pdu.data_coding, payload);
        let whole = match concat {
            Some((reference, total, seq)) if total > 1 && seq >= 1 && seq <= total => {
                let key = (pdu.source_addr.to_string(), reference, total);
                let entry = self
                    .pending
                    .entry(key.clone())
                    .or_insert_with(|| (vec![None; usize::from(total)], now));
                if let Some(slot) = entry.0.get_mut(usize::from(seq) - 1) {
                    *slot = Some(text);
                }
                if entry.0.iter().all(Option::is_some) {
                    self.pending
                        .remove(&key)
                        .map(|(parts, _)| parts.into_iter().flatten().collect::<String>())
                } else {
                    None
                }
            }
            _ => Some(text),
        };
        if let Some(text) = whole {
            out.push(inbound(now, pdu.source_addr, pdu.destination_addr, text));
        }
        out
    }

    fn expire(&mut self, now: Timestamp, to: &str) -> Vec<ChannelEvent> {
        let old: Vec<_> = self
            .pending
            .iter()
            .filter(|(_, (_, at))| now.millis_since(*at) > REASSEMBLY_TIMEOUT_MS)
            .map(|(k, _)| k.clone())
            .collect();
        old.into_iter()
            .filter_map(|k| {
                let (parts, _) = self.pending.remove(&k)?;
                let text: String = parts
                    .into_iter()
                    .map(|p| p.unwrap_or_else(|| "…".to_string()))
                    .collect();
                Some(inbound(now, &k.0, to, text))
            })
            .collect()
    }

    /// Parts waiting for the rest of their message.
    pub fn pending_messages(&self) -> usize {
        self.pending.len()
    }
}

fn inbound(now: Timestamp, from: &str, to: &str, text: String) -> ChannelEvent {
    ChannelEvent::Inbound(InboundMessage {
        channel: Channel::Sms,
        from: Identity::from_msisdn(from),
        to: Identity::from_msisdn(to),
        text,
        provider_message_id: None,
        thread: ThreadKeys::default(),
        attachments: Vec::new(),
        received_at: now,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(ms: i64) -> Timestamp {
        Timestamp::from_millis(ms)
    }

    #[test]
    fn receipt_fields_and_states() {
        let r = parse_receipt(
            "id:sim42 sub:001 dlvrd:001 submit date:2611292100 done date:2611292101 stat:DELIVRD err:000 text:hello",
        )
        .unwrap();
        assert_eq!(r.id, "sim42");
        assert_eq!(r.stat, "DELIVRD");
        assert_eq!(r.err.as_deref(), Some("000"));
        assert_eq!(r.state(), DeliveryState::Delivered);
        let r = parse_receipt("id:7 stat:UNDELIV err:001").unwrap();
        assert_eq!(r.state(), DeliveryState::Failed);
        assert_eq!(
            parse_receipt("id:7 stat:ENROUTE").unwrap().state(),
            DeliveryState::Sent
        );
        assert_eq!(parse_receipt("hello there"), None);
        assert_eq!(parse_receipt("id: stat:DELIVRD"), None);
        assert_eq!(parse_receipt(""), None);
    }

    #[test]
    fn receipt_pdu_becomes_a_status_update() {
        let mut a = DeliverAssembler::new();
        let ev = a.handle_deliver_sm(
            t(5),
            &DeliverSmFields {
                source_addr: "22997000000",
                destination_addr: "1234",
                esm_class: 0x04,
                data_coding: 0,
                short_message: b"id:abc stat:DELIVRD err:000",
            },
        );
        assert_eq!(
            ev,
            vec![ChannelEvent::Status(StatusUpdate {
                channel: Channel::Sms,
                provider_message_id: "abc".into(),
                state: DeliveryState::Delivered,
                detail: "DELIVRD".into(),
                at: t(5),
            })]
        );
    }

    #[test]
    fn concatenated_mo_is_reassembled_in_any_order() {
        let mut a = DeliverAssembler::new();
        let p2 = [5, 0, 3, 9, 2, 2, b'd', b'e'];
        let p1 = [5, 0, 3, 9, 2, 1, b'a', b'b', b'c'];
        fn f(sm: &[u8]) -> DeliverSmFields<'_> {
            DeliverSmFields {
                source_addr: "22997000000",
                destination_addr: "1234",
                esm_class: 0x40,
                data_coding: 0,
                short_message: sm,
            }
        }
        assert!(a.handle_deliver_sm(t(0), &f(&p2)).is_empty());
        assert_eq!(a.pending_messages(), 1);
        let ev = a.handle_deliver_sm(t(1), &f(&p1));
        match ev.as_slice() {
            [ChannelEvent::Inbound(m)] => {
                assert_eq!(m.text, "abcde");
                assert_eq!(m.to, Identity::Address("1234".into()));
            }
            other => panic!("unexpected {other:?}"),
        }
        assert_eq!(a.pending_messages(), 0);
    }

    #[test]
    fn a_lost_part_is_delivered_after_the_timeout() {
        let mut a = DeliverAssembler::new();
        let p1 = [5u8, 0, 3, 1, 2, 1, b'h', b'i'];
        let fields = DeliverSmFields {
            source_addr: "22997000000",
            destination_addr: "1234",
            esm_class: 0x40,
            data_coding: 0,
            short_message: &p1,
        };
        assert!(a.handle_deliver_sm(t(0), &fields).is_empty());
        let other = DeliverSmFields {
            short_message: b"ok",
            esm_class: 0,
            ..fields.clone()
        };
        let ev = a.handle_deliver_sm(t(REASSEMBLY_TIMEOUT_MS + 1), &other);
        let texts: Vec<String> = ev
            .iter()
            .filter_map(|e| match e {
                ChannelEvent::Inbound(m) => Some(m.text.clone()),
                ChannelEvent::Status(_) => None,
            })
            .collect();
        assert_eq!(texts, vec!["hi…".to_string(), "ok".to_string()]);
    }

    #[test]
    fn decode_by_data_coding() {
        assert_eq!(decode_text(0, &[0x48, 0x7F, 0x1B, 0x65]), "Hà€");
        assert_eq!(decode_text(3, &[0xE7, 0x61]), "ça");
        assert_eq!(decode_text(8, &[0x06, 0x45]), "م");
        assert_eq!(decode_text(4, &[0xFF]), "\u{FFFD}");
    }
}
