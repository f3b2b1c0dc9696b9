//! Bounded event channels fed by synchronous code (the SIP stack's state
//! changes, a media task's packet handling), which must not wait.
//!
//! An event goes straight into the channel when it has room and nothing
//! waits before it; otherwise it waits in a backlog, in order. The owner
//! moves the backlog on: the SIP stack waits for room before it takes its
//! next input (backpressure: UDP peers retransmit, TCP peers are not read),
//! a media task moves what fits without waiting. Past the backlog's cap the
//! oldest event is dropped and logged. While the SIP stack waits, it still
//! serves the engine's commands, its timers and its media events: the engine
//! may be awaiting a command's answer, and only the engine drains the channel.

use std::collections::VecDeque;
use std::sync::Mutex;
use tokio::sync::mpsc;
use tokio::sync::mpsc::error::TrySendError;

/// The sending side of a bounded event channel, with its backlog.
#[derive(Debug)]
pub(crate) struct EventSender<T> {
    tx: mpsc::Sender<T>,
    backlog: Mutex<VecDeque<T>>,
    cap: usize,
    what: &'static str,
}

impl<T> EventSender<T> {
    /// Send into `tx`, keeping at most `cap` events waiting for room;
    /// `what` names the channel in logs.
    pub(crate) fn new(tx: mpsc::Sender<T>, cap: usize, what: &'static str) -> EventSender<T> {
        EventSender {
            tx,
            backlog: Mutex::new(VecDeque::new()),
            cap: cap.max(1),
            what,
        }
    }

    /// Queue `ev` without waiting. Nothing happens once the receiver is gone.
    pub(crate) fn send(&self, ev: T) {
        let Ok(mut backlog) = self.backlog.lock() else {
            return;
        };
        let ev = if backlog.is_empty() {
            match self.tx.try_send(ev) {
                Ok(()) | Err(TrySendError::Closed(_)) => return,
                Err(TrySendError::Full(ev)) => ev,
            }
        } else {
            ev
        };
        if backlog.len() == self.cap {
            backlog.pop_front();
            tracing::warn!(
                channel = self.what,
                cap = self.cap,
                "event channel full and backlog at its cap: oldest event dropped"
            );
        }
        backlog.push_back(ev);
    }

    /// Move what fits from the backlog into the channel, without waiting.
    pub(crate) fn try_flush(&self) {
        let Ok(mut backlog) = self.backlog.lock() else {
            return;
        };
        while let Some(ev) = backlog.pop_front() {
            match self.tx.try_send(ev) {
                Ok(()) => {}
                Err(TrySendError::Full(ev)) => {
                    backlog.push_front(ev);
                    return;
                }
                Err(TrySendError::Closed(_)) => {
                    backlog.clear();
                    return;
                }
            }
        }
    }

    /// Whether events wait in the backlog (the receiver is behind).
    pub(crate) fn is_backlogged(&self) -> bool {
        self.backlog.lock().map(|b| !b.is_empty()).unwrap_or(false)
    }

    /// Send the oldest backlogged event with `permit` (room reserved in the
    /// channel by an owner that waited for it); nothing when the backlog is
    /// empty.
    pub(crate) fn send_oldest(&self, permit: mpsc::Permit<'_, T>) {
        if let Some(ev) = self.backlog.lock().ok().and_then(|mut b| b.pop_front()) {
            permit.send(ev);
        }
    }

    /// Drop the backlog (the receiver is gone).
    pub(crate) fn clear_backlog(&self) {
        if let Ok(mut b) = self.backlog.lock() {
            b.clear();
        }
    }

    /// A clone of the channel's sender (for a task that may wait).
    pub(crate) fn sender(&self) -> mpsc::Sender<T> {
        self.tx.clone()
    }

    /// Events waiting in the backlog.
    #[cfg(test)]
    pub(crate) fn pending(&self) -> usize {
        self.backlog.lock().map(|b| b.len()).unwrap_or(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn events_keep_their_order_through_the_backlog_and_the_oldest_go_past_the_cap() {
        let (tx, mut rx) = mpsc::channel(2);
        let s = EventSender::new(tx, 3, "test");
        for i in 0..7 {
            s.send(i);
        }
        // 2 in the channel, 3 in the backlog, the 2 oldest waiting dropped.
        assert_eq!(s.pending(), 3);
        assert_eq!(rx.recv().await, Some(0));
        s.try_flush();
        assert_eq!(s.pending(), 2);
        let mut got = vec![rx.recv().await.unwrap(), rx.recv().await.unwrap()];
        // The owner waits for room and sends the oldest, one at a time.
        let sender = s.sender();
        while s.is_backlogged() {
            s.send_oldest(sender.reserve().await.unwrap());
        }
        got.push(rx.recv().await.unwrap());
        got.push(rx.recv().await.unwrap());
        assert_eq!(got, vec![1, 4, 5, 6]);
        // a closed receiver: events are dropped quietly
        drop(rx);
        s.send(9);
        assert_eq!(s.pending(), 0);
    }
}
