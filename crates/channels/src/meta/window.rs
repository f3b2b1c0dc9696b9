//! The customer-service windows of Meta channels (pure).
//!
//! - WhatsApp Business: free-form messages only within 24 h of the customer's
//!   last message; after that only an approved template may be sent.
//! - Messenger / Instagram: standard messaging within 24 h; after that, a human
//!   agent may still answer for 7 days with the `HUMAN_AGENT` message tag.

use domain::{Channel, Timestamp};

/// 24 hours, ms.
pub const CUSTOMER_SERVICE_WINDOW_MS: i64 = 24 * 3_600_000;
/// 7 days, ms: the Messenger/Instagram `HUMAN_AGENT` tag window.
pub const HUMAN_AGENT_WINDOW_MS: i64 = 7 * 24 * 3_600_000;

/// What may be sent to the customer now.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WindowDecision {
    /// Free text, standard messaging.
    FreeText,
    /// Free text with the `HUMAN_AGENT` tag (Messenger/Instagram, 24 h to 7 days).
    HumanAgentTag,
    /// Only an approved template (WhatsApp), or nothing (Messenger after 7 days).
    TemplateOnly,
}

/// True if free text is allowed on WhatsApp: the customer wrote less than 24 h
/// before `now`. No inbound message at all means no window.
pub fn free_text_allowed(last_inbound: Option<Timestamp>, now: Timestamp) -> bool {
    last_inbound.is_some_and(|t| now.millis_since(t) < CUSTOMER_SERVICE_WINDOW_MS)
}

/// What may be sent on `channel` at `now` given the customer's last inbound
/// message. Channels without windows (SMS, e-mail...) always allow free text.
pub fn decide(channel: Channel, last_inbound: Option<Timestamp>, now: Timestamp) -> WindowDecision {
    match channel {
        Channel::Whatsapp => {
            if free_text_allowed(last_inbound, now) {
                WindowDecision::FreeText
            } else {
                WindowDecision::TemplateOnly
            }
        }
        Channel::Messenger | Channel::Instagram => match last_inbound {
            Some(t) if now.millis_since(t) < CUSTOMER_SERVICE_WINDOW_MS => WindowDecision::FreeText,
            Some(t) if now.millis_since(t) < HUMAN_AGENT_WINDOW_MS => WindowDecision::HumanAgentTag,
            _ => WindowDecision::TemplateOnly,
        },
        _ => WindowDecision::FreeText,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const H: i64 = 3_600_000;

    #[test]
    fn whatsapp_window_edges() {
        let last = Timestamp::from_millis(1_000 * H);
        assert!(free_text_allowed(Some(last), last));
        assert!(free_text_allowed(Some(last), last.add_millis(24 * H - 1)));
        assert!(!free_text_allowed(Some(last), last.add_millis(24 * H)));
        assert!(!free_text_allowed(None, last));
        assert_eq!(
            decide(Channel::Whatsapp, Some(last), last.add_millis(25 * H)),
            WindowDecision::TemplateOnly
        );
    }

    #[test]
    fn messenger_human_agent_tag_then_closed() {
        let last = Timestamp::from_millis(0);
        assert_eq!(
            decide(Channel::Messenger, Some(last), last.add_millis(H)),
            WindowDecision::FreeText
        );
        assert_eq!(
            decide(Channel::Instagram, Some(last), last.add_millis(48 * H)),
            WindowDecision::HumanAgentTag
        );
        assert_eq!(
            decide(Channel::Messenger, Some(last), last.add_millis(8 * 24 * H)),
            WindowDecision::TemplateOnly
        );
        assert_eq!(decide(Channel::Sms, None, last), WindowDecision::FreeText);
    }
}
