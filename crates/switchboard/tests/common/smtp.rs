//! A mail relay stand-in for tests: accepts every message (any sender,
//! any recipient) and hands over the raw text of each DATA.

use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::sync::mpsc;

/// A mail relay stand-in: accepts every message and hands over its raw text.
pub async fn smtp_sink() -> (u16, mpsc::UnboundedReceiver<String>) {
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = l.local_addr().unwrap().port();
    let (tx, rx) = mpsc::unbounded_channel();
    tokio::spawn(async move {
        while let Ok((sock, _)) = l.accept().await {
            let tx = tx.clone();
            tokio::spawn(async move {
                let (r, mut w) = sock.into_split();
                let mut lines = BufReader::new(r).lines();
                w.write_all(b"220 sink\r\n").await.unwrap();
                let mut data: Option<String> = None;
                while let Ok(Some(l)) = lines.next_line().await {
                    if let Some(d) = &mut data {
                        if l == "." {
                            let _ = tx.send(data.take().unwrap_or_default());
                            w.write_all(b"250 queued\r\n").await.unwrap();
                        } else {
                            d.push_str(l.strip_prefix('.').unwrap_or(&l));
                            d.push('\n');
                        }
                        continue;
                    }
                    let verb = l.get(..4).unwrap_or("").to_ascii_uppercase();
                    let reply: &[u8] = match verb.as_str() {
                        "EHLO" => b"250-sink\r\n250 8BITMIME\r\n",
                        "DATA" => {
                            data = Some(String::new());
                            b"354 go\r\n"
                        }
                        "QUIT" => b"221 bye\r\n",
                        _ => b"250 OK\r\n",
                    };
                    w.write_all(reply).await.unwrap();
                }
            });
        }
    });
    (port, rx)
}
